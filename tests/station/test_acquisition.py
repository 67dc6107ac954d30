"""Acquisition: conversion, CoP, ring buffer, fan-out with a stalled subscriber."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.base import LoadCellFrame, LoadCellSource
from station.acquisition import Acquisition, RingBuffer, Subscription
from station.core.calibration import NOMINAL_COUNTS_PER_N, Calibration
from station.core.errors import HardwareError
from station.core.geometry import Geometry


class ScriptedSource(LoadCellSource):
    """Frames from a list of per-cell loads (newtons), at nominal gain and zero offset."""

    def __init__(self, loads_n: np.ndarray, rate_hz: float = 80.0, fail_at: set[int] | None = None) -> None:
        self.rate_hz = rate_hz
        self.paced = False
        self._loads = loads_n
        self._i = 0
        self._fail_at = fail_at or set()
        self.exhausted = threading.Event()

    def read_frame(self) -> LoadCellFrame:
        if self._i in self._fail_at:
            self._fail_at.discard(self._i)
            raise HardwareError("array gone")
        if self._i >= len(self._loads):
            self.exhausted.set()
            time.sleep(0.01)
            raise HardwareError("script ended")
        counts = tuple(int(round(v * NOMINAL_COUNTS_PER_N)) for v in self._loads[self._i])
        t_ns = int(self._i * 1e9 / self.rate_hz)
        self._i += 1
        return LoadCellFrame(t_ns, counts)


def loads_for(fz_left: float, cop_left: tuple[float, float], fz_right: float, cop_right: tuple[float, float]) -> np.ndarray:
    """Corner loads that give the requested plate forces and CoPs (default geometry)."""
    g = Geometry()
    out = []
    for plate, fz, cop in (("left", fz_left, cop_left), ("right", fz_right, cop_right)):
        pg = g.plates[plate]
        u = (cop[0] - pg.center_mm[0]) / 120.0  # bilinear weights on a 240 x 360 mm rectangle
        v = (cop[1] - pg.center_mm[1]) / 180.0
        w = {"fl": (1 - u) * (1 + v), "fr": (1 + u) * (1 + v), "bl": (1 - u) * (1 - v), "br": (1 + u) * (1 - v)}
        out += [fz * w[c] / 4 for c in ("fl", "fr", "bl", "br")]
    return np.array(out)


def test_process_computes_plate_forces_and_cops() -> None:
    loads = loads_for(300.0, (-160.0, 20.0), 400.0, (140.0, -30.0))
    acq = Acquisition(ScriptedSource(loads[None, :]))
    counts = tuple(int(round(v * NOMINAL_COUNTS_PER_N)) for v in loads)
    s = acq.process(LoadCellFrame(123, counts))
    assert s.fz_left_n == pytest.approx(300.0, abs=0.01)
    assert s.fz_right_n == pytest.approx(400.0, abs=0.01)
    assert s.cop_left_mm == pytest.approx((-160.0, 20.0), abs=0.05)
    assert s.cop_right_mm == pytest.approx((140.0, -30.0), abs=0.05)
    # combined CoP = force-weighted mean of the plate CoPs
    assert s.cop_mm == pytest.approx(((300 * -160 + 400 * 140) / 700, (300 * 20 + 400 * -30) / 700), abs=0.05)


def test_cop_is_none_below_20_newtons() -> None:
    loads = loads_for(10.0, (-150.0, 0.0), 500.0, (150.0, 0.0))
    acq = Acquisition(ScriptedSource(loads[None, :]))
    s = acq.process(LoadCellFrame(0, tuple(int(v * NOMINAL_COUNTS_PER_N) for v in loads)))
    assert s.cop_left_mm is None
    assert s.cop_right_mm is not None and s.cop_mm is not None


def test_calibration_offsets_and_gains_are_applied() -> None:
    offsets = tuple(float(1000 * (i + 1)) for i in range(8))
    gains = tuple(1.0 / (NOMINAL_COUNTS_PER_N * (1 + 0.01 * i)) for i in range(8))
    cal = Calibration(offsets_counts=offsets, gains_n_per_count=gains)
    acq = Acquisition(ScriptedSource(np.zeros((1, 8))), calibration=cal)
    counts = tuple(int(offsets[i] + 100.0 * NOMINAL_COUNTS_PER_N * (1 + 0.01 * i)) for i in range(8))
    s = acq.process(LoadCellFrame(0, counts))
    assert s.loads_n == pytest.approx((100.0,) * 8, abs=1e-3)


def test_ring_buffer_reports_overrun() -> None:
    rb = RingBuffer(10)
    for i in range(25):
        rb.append(i, (i,) * 8, 0, np.full(8, float(i)))
    arrays, first, nxt = rb.read_since(3)
    assert nxt == 25 and first == 15  # frames 3..14 were overwritten before being read
    assert arrays["t_ns"].tolist() == list(range(15, 25))
    arrays, first, nxt = rb.read_since(22)
    assert first == 22 and arrays["counts"][:, 0].tolist() == [22, 23, 24]


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(8, 40), n=st.integers(0, 200), reads=st.lists(st.integers(0, 200), max_size=6))
def test_ring_buffer_returns_exactly_the_frames_it_still_holds(capacity: int, n: int, reads: list[int]) -> None:
    """Frames are staged and written in groups, across the wrap-around: whenever it is read,
    and from wherever, the ring gives back every frame it still holds, unchanged."""
    rb = RingBuffer(capacity)
    read_at = sorted(set(reads))
    for i in range(n + 1):
        while read_at and read_at[0] == i:
            since = read_at.pop(0) // 2
            arrays, first, nxt = rb.read_since(since)
            assert nxt == i and first == max(since, i - capacity, 0)
            expected = list(range(first, i))
            assert arrays["t_ns"].tolist() == [10 * k for k in expected]
            assert arrays["counts"].tolist() == [[k + c for c in range(8)] for k in expected]
            assert arrays["invalid"].tolist() == [k % 256 for k in expected]
            assert arrays["loads_n"].tolist() == [[k / 2 + c for c in range(8)] for k in expected]
        if i < n:
            assert rb.append(10 * i, tuple(i + c for c in range(8)), i % 256, tuple(i / 2 + c for c in range(8))) == i


def test_stalled_subscriber_never_blocks_acquisition_or_others() -> None:
    n = 2000
    loads = np.tile(loads_for(350.0, (-150.0, 0.0), 350.0, (150.0, 0.0)), (n, 1))
    source = ScriptedSource(loads)
    acq = Acquisition(source, buffer_s=100)
    stalled = acq.subscribe(maxlen=16)  # never read
    received: list[int] = []
    live = acq.subscribe(maxlen=4096)

    def consume() -> None:
        while len(received) < n:
            s = live.get(timeout=5)
            if s is None:
                return
            received.append(s.seq)

    t = threading.Thread(target=consume)
    t.start()
    acq.start()
    assert source.exhausted.wait(10), "acquisition stalled"
    t.join(10)
    acq.stop()
    assert received == list(range(n))  # the live consumer saw every frame in order
    assert len(stalled) == 16 and stalled.dropped == n - 16  # the stalled one kept only the newest
    assert stalled.drain()[-1].seq == n - 1


def test_reader_survives_hardware_errors() -> None:
    loads = np.tile(loads_for(350.0, (-150.0, 0.0), 350.0, (150.0, 0.0)), (50, 1))
    source = ScriptedSource(loads, fail_at={10, 20})
    acq = Acquisition(source, retry_s=0.001)
    acq.start()
    assert source.exhausted.wait(10)
    acq.stop()
    assert acq.frames_read == 50
    assert acq.errors >= 2


def test_async_subscription_wakes_event_loop() -> None:
    import asyncio

    loads = np.tile(loads_for(350.0, (-150.0, 0.0), 350.0, (150.0, 0.0)), (5, 1))

    async def main() -> int:
        acq = Acquisition(ScriptedSource(loads))
        sub = acq.subscribe(maxlen=8, loop=asyncio.get_running_loop())
        threading.Thread(target=lambda: [acq.process(LoadCellFrame(i, (0,) * 8)) for i in range(3)]).start()
        got: list[int] = []
        while len(got) < 3:
            assert await sub.wait_async(timeout=5)
            got += [s.seq for s in sub.drain()]
        return len(got)

    assert asyncio.run(main()) == 3


def test_subscription_racing_its_consumer_loses_nothing_and_counts_every_drop() -> None:
    """The reader appends without the lock while the queue has room: with a consumer
    draining and blocking at random moments, every sample is either received (in order,
    once) or counted as dropped, and a blocked consumer is always woken."""
    n = 20_000
    acq = Acquisition(ScriptedSource(np.zeros((1, 8))))
    small = acq.subscribe(maxlen=8)  # fills up: drops decided under the lock
    large = acq.subscribe(maxlen=n)  # never full: the lock-free path only
    received: dict[str, list[int]] = {"small": [], "large": []}
    rng = np.random.default_rng(5)
    pauses = rng.integers(0, 3, size=n)

    def consume(name: str, sub: Subscription) -> None:
        got = received[name]
        for k in range(n):
            if got and got[-1] == n - 1:
                return
            if pauses[k] == 0:
                s = sub.get()  # no timeout: a missed wake-up blocks for good and fails the test
                assert s is not None
                got.append(s.seq)
            else:
                got.extend(s.seq for s in sub.drain())
                time.sleep(0.0001 * float(pauses[k]))

    consumers = [threading.Thread(target=consume, args=(name, sub), daemon=True) for name, sub in
                 (("small", small), ("large", large))]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads between almost any two bytecodes
    try:
        for t in consumers:
            t.start()
        for i in range(n):
            acq.process(LoadCellFrame(i, (0,) * 8))
            if i % 500 == 0:
                time.sleep(0.001)  # let the consumers catch up and block again
        for t in consumers:
            t.join(30)
    finally:
        sys.setswitchinterval(switch)
    assert not any(t.is_alive() for t in consumers), "a consumer was never woken"
    assert received["large"] == list(range(n))
    small_got = received["small"] + [s.seq for s in small.drain()]
    assert small_got == sorted(set(small_got)) and small_got[-1] == n - 1
    assert len(small_got) + small.dropped == n


def test_async_consumer_is_woken_for_every_burst() -> None:
    import asyncio

    n = 3000

    async def main() -> list[int]:
        acq = Acquisition(ScriptedSource(np.zeros((1, 8))))
        sub = acq.subscribe(maxlen=n, loop=asyncio.get_running_loop())

        def produce() -> None:
            for i in range(n):
                acq.process(LoadCellFrame(i, (0,) * 8))
                if i % 7 == 0:
                    time.sleep(0.0002)

        threading.Thread(target=produce).start()
        got: list[int] = []
        while len(got) < n:
            assert await sub.wait_async(timeout=5), f"not woken after {len(got)} samples"
            got += [s.seq for s in sub.drain()]
        return got

    assert asyncio.run(main()) == list(range(n))


def test_achieved_rate_comes_from_the_frames_timestamps() -> None:
    loads = np.tile(loads_for(350.0, (-150.0, 0.0), 350.0, (150.0, 0.0)), (300, 1))
    acq = Acquisition(ScriptedSource(loads, rate_hz=50.0))
    assert acq.achieved_rate_hz() is None
    source = acq.source
    for _ in range(300):
        acq.process(source.read_frame())
    assert acq.frames_read == 300
    assert acq.achieved_rate_hz() == pytest.approx(50.0, rel=1e-9)
