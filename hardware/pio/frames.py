"""The eight HX711 values from the state machine's bit-sliced FIFO words, and back.

Each clock pulse the program samples the eight DOUT lines at once (``in pins, 8``) into a
left-shifting ISR that autopushes at 32 bits, so a word holds four data bits of all eight
chips, oldest in the top byte: byte j of the six words (big-endian) is data bit j (MSB
first), and bit k of that byte is chip k's (DOUT on ``in_base + k``). Every backend that
runs the program (the Pico's host reader, the Pi 5's RP1) decodes with
:func:`unpack_words`: one home for the bit order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

N_CHIPS = 8
N_BITS = 24
WORDS_PER_FRAME = N_BITS * N_CHIPS // 32  # 6

_WEIGHTS = (1 << np.arange(N_BITS - 1, -1, -1, dtype=np.int64))  # bit j weighs 2**(23 - j)


def unpack_words(words: ArrayLike) -> NDArray[np.int32]:
    """Signed 24-bit values, shape (..., 8), from FIFO words of shape (..., 6).

    Two's complement: 0x800000 is -8388608, 0x7FFFFF 8388607, all ones -1.
    """
    w = np.asarray(words, dtype=np.uint32)
    if w.shape[-1:] != (WORDS_PER_FRAME,):
        raise ValueError(f"expected {WORDS_PER_FRAME} words per frame, got shape {w.shape}")
    samples = w.astype(">u4").view(np.uint8).reshape(*w.shape[:-1], N_BITS)  # (..., 24 bits)
    bits = np.unpackbits(samples[..., None], axis=-1, bitorder="little")     # (..., 24, 8 chips)
    raw = np.einsum("...jk,j->...k", bits.astype(np.int64), _WEIGHTS)
    return (raw - ((raw & 0x800000) << 1)).astype(np.int32)


def pack_words(values: ArrayLike) -> NDArray[np.uint32]:
    """The FIFO words, shape (..., 6), that the program pushes for ``values`` (..., 8):
    the inverse of :func:`unpack_words` (values are taken modulo 2**24)."""
    v = np.asarray(values, dtype=np.int64)
    if v.shape[-1:] != (N_CHIPS,):
        raise ValueError(f"expected {N_CHIPS} values per frame, got shape {v.shape}")
    raw = v & 0xFFFFFF
    bits = ((raw[..., None, :] >> (N_BITS - 1 - np.arange(N_BITS))[:, None]) & 1).astype(np.uint8)
    samples = np.packbits(bits, axis=-1, bitorder="little")[..., 0]           # (..., 24)
    return np.ascontiguousarray(samples).view(">u4").astype(np.uint32).reshape(*v.shape[:-1], WORDS_PER_FRAME)

