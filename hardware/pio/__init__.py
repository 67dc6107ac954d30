"""One PIO program that reads eight HX711 on a shared clock (RP2040 board or Pi 5 RP1).

:mod:`hardware.pio.program` renders and assembles ``hx711.pio`` and derives its timing from
the state machine's clock; :mod:`hardware.pio.frames` turns the state machine's bit-sliced
FIFO words into the eight 24-bit values (one function for every backend);
:mod:`hardware.pio.emulated` runs the program cycle by cycle in ``pioemu`` against the fake
HX711 chips (tests and benchmarks).
"""
