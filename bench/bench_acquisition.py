"""Acquisition pipeline throughput (counts -> newtons -> CoP -> buffer -> one subscriber)
unpaced, and its CPU share when paced at 80 Hz."""

from __future__ import annotations

import resource
import threading
import time

from bench.report import Report
from hardware.sim import SimLoadCellSource
from station.acquisition import Acquisition

UNPACED_FRAMES = 200_000
PACED_SECONDS = 15.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _unpaced(report: Report) -> None:
    source = SimLoadCellSource(seed=3, rate_hz=80.0, paced=False)
    source.set_scenario("single_leg_squat", leg="left")
    acq = Acquisition(source)
    sub = acq.subscribe(maxlen=1 << 16)
    done = threading.Event()
    seen = 0

    def consume() -> None:
        # Like the live WebSocket route: wake on new samples, take what has queued.
        nonlocal seen
        while seen < UNPACED_FRAMES:
            first = sub.get(timeout=10)
            if first is None:
                break
            seen += 1 + len(sub.drain())
            time.sleep(0.005)
        done.set()

    source.start()
    t = threading.Thread(target=consume, daemon=True)
    t.start()
    t0 = time.perf_counter()
    for _ in range(UNPACED_FRAMES):
        acq.process(source.read_frame())
    done.wait(30)
    wall = time.perf_counter() - t0
    source.stop()
    fps = UNPACED_FRAMES / wall
    report.add("acquisition", "pipeline throughput, unpaced", round(fps), "frames/s")
    report.add(
        "acquisition", "pipeline speed vs real time at 80 Hz", fps / 80.0, "x",
        target=">= 200x", ok=fps / 80.0 >= 200, note=f"{UNPACED_FRAMES} frames incl. simulator, subscriber got {seen}",
    )


def _paced(report: Report) -> None:
    source = SimLoadCellSource(seed=4, rate_hz=80.0, paced=True)
    source.set_scenario("quiet_stance")
    acq = Acquisition(source)
    sub = acq.subscribe(maxlen=4096)
    acq.start()
    time.sleep(1.0)  # settle
    sub.drain()
    f0, c0, t0 = acq.frames_read, _cpu_s(), time.perf_counter()
    time.sleep(PACED_SECONDS)
    f1, c1, t1 = acq.frames_read, _cpu_s(), time.perf_counter()
    acq.stop()
    cpu_pct = 100.0 * (c1 - c0) / (t1 - t0)
    report.add("acquisition", "frame rate achieved, paced", (f1 - f0) / (t1 - t0), "Hz", target="80 Hz",
               ok=abs((f1 - f0) / (t1 - t0) - 80.0) < 2.0)
    report.add("acquisition", "CPU share at 80 Hz (simulator included)", cpu_pct, "% of one core",
               target="< 2 %", ok=cpu_pct < 2.0)
    wake_pct = _bare_wakeups_pct(PACED_SECONDS / 3)
    report.add("acquisition", "for reference: an empty loop waking 80 times/s", wake_pct, "% of one core",
               note="this machine's cost of 80 thread wake-ups per second, which the paced figure includes")


def _bare_wakeups_pct(seconds: float) -> float:
    """CPU share of a thread that does nothing but sleep until the next 12.5 ms tick."""
    result: list[float] = []

    def loop() -> None:
        c0, t0 = time.thread_time(), time.monotonic()
        tick = t0
        while (now := time.monotonic()) - t0 < seconds:
            tick += 1 / 80
            time.sleep(max(0.0, tick - now))
        result.append(100.0 * (time.thread_time() - c0) / (time.monotonic() - t0))

    t = threading.Thread(target=loop)
    t.start()
    t.join()
    return result[0]


def run(report: Report) -> None:
    _unpaced(report)
    _paced(report)
