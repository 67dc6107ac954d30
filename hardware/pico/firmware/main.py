"""Pico firmware (MicroPython): eight HX711 read by the PIO program, frames out over USB.

Copied to the board with ``policy.py``, ``protocol.py`` and ``hx711_program.py`` (see
docs/hx711.md, "The Pico path"); MicroPython runs ``main.py`` at power-up. The PIO program
does all the timing (SCK widths fixed in state-machine cycles); this loop only moves its
FIFO words to the USB serial port, stamped with the board's microsecond clock, and applies
the wait policy (hardware/pio/policy.py). It never unpacks the bits: the host does.
"""

import os
import select
import struct
import sys
from time import ticks_us  # type: ignore[attr-defined]  # MicroPython's

import hx711_program as prog
import policy
import protocol
import rp2
from machine import Pin

SCK_PIN = 2      # GP2, pin 4 of the Pico
DOUT_BASE = 3    # GP3-GP10: DOUT of chips 0-7 (channel order left_fl ... right_br)
N_CHIPS = 8


@rp2.asm_pio(sideset_init=rp2.PIO.OUT_LOW, in_shiftdir=rp2.PIO.SHIFT_LEFT, autopush=True,
             push_thresh=32, fifo_join=rp2.PIO.JOIN_RX)
def hx711(words=prog.WORDS, first=prog.WRAP_TARGET, last=prog.WRAP):
    # The assembled words of hardware/pio/hx711.pio, as they are: one source for both
    # boards. word(), wrap_target() and wrap() are the decorator's own names.
    for i in range(len(words)):
        if i == first:
            wrap_target()  # type: ignore[name-defined]  # noqa: F821
        word(words[i])  # type: ignore[name-defined]  # noqa: F821
        if i == last:
            wrap()  # type: ignore[name-defined]  # noqa: F821


def run(sm, out, input_waiting, read_char, ticks, boot_id, frames=-1):
    """Move frames from the state machine to ``out`` (``frames`` of them, -1: forever).

    Everything the board provides comes in as an argument, so the tests run this loop on
    CPython against the emulated state machine (hardware/pio/emulated.py).
    """
    hello = protocol.pack_hello(boot_id, prog.SM_HZ, N_CHIPS, SCK_PIN, DOUT_BASE, prog.EXTRA_PULSES)
    pattern = 0  # the program starts waiting for all eight
    line = ""
    seq = 0
    words = [0] * prog.DATA_WORDS
    while seq != frames:
        while not sm.rx_fifo():
            if input_waiting():
                ch = read_char()
                if ch == "\n":
                    if line == "hello":
                        out.write(hello)
                    line = ""
                elif len(line) < 16:
                    line += ch
        t_us = ticks()  # the status word has just arrived: the frame's moment
        status = sm.get()
        for i in range(prog.DATA_WORDS):
            words[i] = sm.get()
        new, reset = policy.next_pattern(status, policy.ones_mask(words))
        if new != pattern:
            sm.put(new)
            pattern = new
        if reset:
            sm.restart()  # back to the entry: SCK high over 60 us resets every chip
        out.write(protocol.pack_frame(seq, t_us, status, new, protocol.FLAG_RESET if reset else 0, words))
        seq += 1


def main():
    for k in range(N_CHIPS):
        # pull-ups: an unplugged DOUT reads "not ready", not random bits
        Pin(DOUT_BASE + k, Pin.IN, Pin.PULL_UP)
    sm = rp2.StateMachine(0, hx711, freq=prog.SM_HZ, sideset_base=Pin(SCK_PIN),
                          in_base=Pin(DOUT_BASE))
    sm.active(1)  # the program starts with the reset pulse, then waits for the first pattern
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    boot_id = struct.unpack("<I", os.urandom(4))[0]
    run(sm, sys.stdout.buffer, lambda: poller.poll(0), lambda: sys.stdin.read(1), ticks_us, boot_id)


if __name__ == "__main__":  # MicroPython runs main.py as __main__ at power-up
    main()
