"""Raw samples: lossless round trip, compactness, checksums, chunking."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from station.core.errors import InputError, StorageError
from station.storage import Store
from station.storage import samples as codec

I24 = (-(2**23), 2**23 - 1)


def _realistic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """80 Hz frames: a person's slow sway on top of ~25 counts of ADC noise, jittered clock."""
    rng = np.random.default_rng(seed)
    t = 10**12 + np.arange(n) * 12_500_000 + rng.integers(-200_000, 200_000, n)
    sway = np.cumsum(rng.normal(0, 40, (n, 8)), axis=0)
    counts = (800_000 + sway + rng.normal(0, 25, (n, 8))).astype(np.int64)
    invalid = (rng.random(n) < 0.01).astype(np.int32) << rng.integers(0, 8, n)
    return t.astype(np.int64), counts, invalid.astype(np.int32)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.int64, st.tuples(st.integers(0, 50), st.just(8)), elements=st.integers(*I24)),
    st.integers(0, 2**62),
    st.data(),
)
def test_codec_roundtrip_is_exact(counts: np.ndarray, t0: int, data: st.DataObject) -> None:
    n = len(counts)
    steps = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 10**9)))
    t = t0 + np.cumsum(steps)
    inv = data.draw(hnp.arrays(np.int32, n, elements=st.integers(0, 255)))
    blob, sha = codec.encode(t, counts, inv)
    t2, c2, i2 = codec.decode(blob, sha)
    assert np.array_equal(t2, t) and np.array_equal(c2, counts) and np.array_equal(i2, inv)
    assert c2.dtype == np.int64 and t2.dtype == np.int64


def test_wide_values_still_exact() -> None:
    """Values beyond 24 bits (not from an HX711, but must not be silently truncated)."""
    counts = np.array([[2**40, -(2**40)] * 4, [-(2**40), 2**40] * 4], dtype=np.int64)
    t2, c2, _ = codec.decode(*codec.encode(np.array([0, 1]), counts, np.zeros(2, int)))
    assert np.array_equal(c2, counts)


def test_store_roundtrip_many_chunks_and_compactness(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    tr = fresh_db.create_trial(athlete_id=a["id"], protocol="bilateral_stance", sample_rate_hz=80)
    t, c, inv = _realistic(4800)  # one minute at 80 Hz
    for i in range(0, 4800, 80):  # one chunk per second, as the recorder writes
        assert fresh_db.append_samples(tr["id"], t[i : i + 80], c[i : i + 80], inv[i : i + 80]) == 80
    t2, c2, i2 = fresh_db.load_samples(tr["id"])
    assert np.array_equal(t2, t) and np.array_equal(c2, c) and np.array_equal(i2, inv)
    assert fresh_db.get_trial(tr["id"])["n_samples"] == 4800
    raw_bytes = 4800 * 8 * 4  # int32 counts alone, ~150 kB
    assert fresh_db.sample_bytes(tr["id"]) < 0.6 * raw_bytes


def test_bad_arrays_rejected_without_a_chunk(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    tr = fresh_db.create_trial(athlete_id=a["id"], protocol="bilateral_stance", sample_rate_hz=80)
    bad = [
        (np.arange(3), np.zeros((3, 7), int), np.zeros(3, int), "counts"),
        (np.arange(3), np.zeros((3, 8), int), np.zeros(2, int), "invalid"),
        (np.arange(3.0) + 0.5, np.zeros((3, 8), int), np.zeros(3, int), "integers"),
        (np.arange(3), np.zeros((3, 8)) + 0.25, np.zeros(3, int), "integers"),
        (np.arange(3), np.zeros((3, 8), int), np.full(3, 256), "bitmask"),
    ]
    for t, c, i, word in bad:
        with pytest.raises(InputError, match=word):
            fresh_db.append_samples(tr["id"], t, c, i)
    assert fresh_db.conn.execute("SELECT count(*) FROM sample_chunks").fetchone()[0] == 0
    assert fresh_db.append_samples(tr["id"], np.zeros(0, int), np.zeros((0, 8), int), np.zeros(0, int)) == 0


def test_corruption_is_detected_on_load(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    tr = fresh_db.create_trial(athlete_id=a["id"], protocol="bilateral_stance", sample_rate_hz=80)
    t, c, inv = _realistic(160)
    fresh_db.append_samples(tr["id"], t[:80], c[:80], inv[:80])
    fresh_db.append_samples(tr["id"], t[80:], c[80:], inv[80:])
    # Flip one bit of the second chunk from a separate connection, as disk damage would.
    other = sqlite3.connect(fresh_db.path)
    blob = bytearray(other.execute("SELECT data FROM sample_chunks WHERE chunk = 1").fetchone()[0])
    blob[len(blob) // 2] ^= 0x10
    other.execute("UPDATE sample_chunks SET data = ? WHERE chunk = 1", (bytes(blob),))
    other.commit()
    other.close()
    with pytest.raises(StorageError, match=r"trial \d+: sample chunk 1 is corrupt") as info:
        fresh_db.load_samples(tr["id"])
    assert "backup" in str(info.value)


def test_decode_rejects_garbage_even_without_checksum() -> None:
    blob, _ = codec.encode(np.arange(4), np.ones((4, 8), int), np.zeros(4, int))
    for broken in (blob[:5], b"XXXX" + blob[4:], blob[:-3]):
        with pytest.raises(StorageError):
            codec.decode(broken, None)
