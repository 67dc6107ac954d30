"""Which chips the PIO program waits for: the board's decision after each frame.

Plain Python that MicroPython runs too (copied to the board beside the firmware) and the
emulator tests run on CPython: one home for the rule.

The program waits until the eight DOUT pins equal a pattern (Y): 0 waits for all eight; a 1
bit stops waiting for that chip (a dead chip's pulled-up DOUT reads 1). It also reads at
once when all eight are low, so a chip that comes back joins at a frame where everyone is
ready. A chip that was not ready in a frame (the wait timed out, or it was not waited for)
is not waited for next time; a chip that was ready is waited for again. If no chip at all
was ready, the pattern goes back to 0 rather than 0xFF, which would match eight dead chips at
once and stream empty frames as fast as the program runs.

A chip that was not in the word (its DOUT was high as the clock started) but shifted out a
0 got ready while the clock ran: it is out of step with the others from then on, and every
chip must be reset (the program's entry holds SCK high over 60 us).
"""

ALL = 0xFF


def next_pattern(not_ready, ones):
    """(pattern for the next frames, reset needed) after a frame.

    ``not_ready``: the frame's status word (bit k = chip k not in the word); ``ones``: bit
    k set when chip k's 24 bits were all 1 (:func:`ones_mask`).
    """
    not_ready &= ALL
    out_of_step = not_ready & ~ones & ALL
    new = not_ready
    if new == ALL:
        new = 0
    return new, bool(out_of_step)


def ones_mask(words):
    """Bit k set when chip k shifted out only 1s in a frame's six bit-sliced words."""
    acc = ALL
    for w in words:
        acc &= (w >> 24) & (w >> 16) & (w >> 8) & w
    return acc & ALL
