"""Lossless, compact encoding of raw load-cell chunks, with a checksum.

Why this layout: HX711 counts change little from one frame to the next, so the
per-channel first differences are small integers, but their lowest bits are
noise. Zig-zag coding maps them to small unsigned numbers (no run of sign bits)
and a *bit* shuffle stores bit plane by bit plane, so the high planes are long
runs of zeros that zlib squeezes to almost nothing while the noisy low planes
stay as they are. On simulated 80 Hz data this gives about 80 kB per minute for
the eight channels with their nanosecond timestamps, against ~150 kB for the bare
int32 counts (``bench/bench_storage.py`` measures it).

Blob layout (all little-endian)::

    magic  b"SSC2"
    u32    number of frames N
    u8     width in bytes of the count differences (4 or 8)
    i64    first timestamp (ns);  8 x i64 first counts
    ...    zlib( bitshuffle(zigzag(diff(t_ns)))                 N-1 values, u64
                 + per channel bitshuffle(zigzag(diff(counts)))  N-1 values, width
                 + invalid as u8                                  N values )

The SHA-256 of the whole blob is stored beside it and checked on every load.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np

from hardware.base import N_CHANNELS
from station.core.errors import InputError, StorageError

MAGIC = b"SSC2"
_HEADER = struct.Struct("<4sIBq8q")
ZLIB_LEVEL = 6


def _zigzag(x: np.ndarray) -> np.ndarray:
    """Signed -> unsigned with small magnitudes first: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ..."""
    x = x.astype(np.int64)
    return ((x << 1) ^ (x >> 63)).view(np.uint64)


def _unzigzag(u: np.ndarray) -> np.ndarray:
    u = u.astype(np.uint64)
    return (u >> np.uint64(1)).view(np.int64) ^ -(u & np.uint64(1)).view(np.int64)


def _bitshuffle(u: np.ndarray, width: int) -> bytes:
    """Bit planes of the columns of ``u`` (n,) or (n, k) as ``width``-byte unsigned
    integers: for each column, plane 0 (the lowest bit of every value) first."""
    u2 = u.reshape(len(u), 1) if u.ndim == 1 else u
    b = np.ascontiguousarray(u2.T.astype(f"<u{width}")).view(np.uint8).reshape(u2.shape[1], len(u), width)
    bits = np.unpackbits(b, axis=2, bitorder="little")  # (k, n, 8w)
    return np.packbits(np.ascontiguousarray(bits.transpose(0, 2, 1)), axis=2, bitorder="little").tobytes()


def _bitunshuffle(buf: bytes, width: int, n: int, k: int = 1) -> np.ndarray:
    """Inverse of :func:`_bitshuffle`: (n, k) uint64."""
    planes = np.frombuffer(buf, dtype=np.uint8).reshape(k, 8 * width, -1)
    bits = np.unpackbits(planes, axis=2, count=n, bitorder="little")  # (k, 8w, n)
    b = np.packbits(np.ascontiguousarray(bits.transpose(0, 2, 1)), axis=2, bitorder="little")  # (k, n, w)
    return np.ascontiguousarray(b).view(f"<u{width}").reshape(k, n).T.astype(np.uint64)


def _plane_bytes(width: int, n: int) -> int:
    return 8 * width * ((n + 7) // 8)


def check_arrays(
    t_ns: np.ndarray, counts: np.ndarray, invalid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate shapes and integer types; return int64/int64/int32 arrays."""
    t = np.asarray(t_ns)
    c = np.asarray(counts)
    inv = np.asarray(invalid)
    if t.ndim != 1:
        raise InputError(f"t_ns must be a 1-D array, got shape {t.shape}")
    n = len(t)
    if c.shape != (n, N_CHANNELS):
        raise InputError(f"counts must have shape ({n}, {N_CHANNELS}), got {c.shape}")
    if inv.shape != (n,):
        raise InputError(f"invalid must have shape ({n},), got {inv.shape}")
    for name, arr in (("t_ns", t), ("counts", c), ("invalid", inv)):
        if n and not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"{name} must hold integers (raw counts), got {arr.dtype}")
    inv64 = inv.astype(np.int64)
    if n and (inv64.min() < 0 or inv64.max() >= 2**N_CHANNELS):
        raise InputError(f"invalid must be a bitmask of {N_CHANNELS} channels (0..{2**N_CHANNELS - 1})")
    return t.astype(np.int64), c.astype(np.int64), inv64.astype(np.int32)


def encode(t_ns: np.ndarray, counts: np.ndarray, invalid: np.ndarray) -> tuple[bytes, str]:
    """Encode one chunk; return ``(blob, sha256 hex)``."""
    t, c, inv = check_arrays(t_ns, counts, invalid)
    n = len(t)
    dt = np.diff(t)
    dc = np.diff(c, axis=0)
    zc = _zigzag(dc) if n > 1 else np.zeros((0, N_CHANNELS), dtype=np.uint64)
    dt = dt if n > 1 else np.zeros(0, dtype=np.int64)
    # 24-bit counts give differences within 32 bits; wider inputs stay exact with 8 bytes.
    width = 4 if zc.size == 0 or int(zc.max()) < 2**32 else 8
    payload = (
        _bitshuffle(_zigzag(dt), 8)
        + _bitshuffle(zc, width)
        + inv.astype(np.uint8).tobytes()
    )
    first = c[0] if n else np.zeros(N_CHANNELS, dtype=np.int64)
    header = _HEADER.pack(MAGIC, n, width, int(t[0]) if n else 0, *(int(v) for v in first))
    blob = header + zlib.compress(payload, ZLIB_LEVEL)
    return blob, hashlib.sha256(blob).hexdigest()


def decode(blob: bytes, sha256: str | None = None, *, where: str = "sample chunk") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one chunk, verifying its checksum first; raise :class:`StorageError` if corrupt."""
    hint = "The stored raw data is damaged; restore the database from a backup (see docs/storage.md)."
    if sha256 is not None and hashlib.sha256(blob).hexdigest() != sha256:
        raise StorageError(f"{where} is corrupt (checksum mismatch)", hint=hint)
    if len(blob) < _HEADER.size:
        raise StorageError(f"{where} is corrupt (too short)", hint=hint)
    magic, n, width, t0, *first = _HEADER.unpack_from(blob)
    if magic != MAGIC or width not in (4, 8):
        raise StorageError(f"{where} has an unknown format", hint=hint)
    try:
        payload = zlib.decompress(blob[_HEADER.size :])
    except zlib.error as exc:
        raise StorageError(f"{where} is corrupt ({exc})", hint=hint) from None
    m = max(n - 1, 0)
    sizes = [_plane_bytes(8, m)] + [_plane_bytes(width, m)] * N_CHANNELS + [n]
    if len(payload) != sum(sizes):
        raise StorageError(f"{where} is corrupt (length {len(payload)} != {sum(sizes)})", hint=hint)
    pos = 0

    def take(size: int) -> bytes:
        nonlocal pos
        part = payload[pos : pos + size]
        pos += size
        return part

    t = np.empty(n, dtype=np.int64)
    counts = np.empty((n, N_CHANNELS), dtype=np.int64)
    dt = _unzigzag(_bitunshuffle(take(sizes[0]), 8, m)[:, 0])
    dc = _unzigzag(_bitunshuffle(take(sum(sizes[1:-1])), width, m, N_CHANNELS))
    if n:
        t[0] = t0
        t[1:] = t0 + np.cumsum(dt)
        counts[0] = first
        counts[1:] = np.asarray(first, dtype=np.int64) + np.cumsum(dc, axis=0)
    inv = np.frombuffer(take(n), dtype=np.uint8).astype(np.int32)
    return t, counts, inv
