"""Files copied to the Pico board (MicroPython): main.py, protocol.py, hx711_program.py and
hardware/pio/policy.py. The host imports protocol.py from here, so both ends share it."""
