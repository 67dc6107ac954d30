"""Storage benchmark: database bytes per minute of recording, append/load throughput,
store-level query latency on 10,000 trials, and whether the recorder keeps up.

Run alone with ``python -m bench storage``.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import Report
from hardware.sim import simulate_trial
from station.storage import Store

SECTION = "storage"
RATE_HZ = 80.0
CHUNK_S = 0.5  # what the recorder writes at a time


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def bytes_per_minute(report: Report, tmp: Path) -> None:
    for protocol in ("bilateral_stance", "stepping", "single_leg_squat"):
        sim = simulate_trial(protocol, seed=11, leg="left", duration_s=60.0)
        path = tmp / f"bytes-{protocol}.sqlite3"
        store = Store(path)
        a = store.create_athlete(name="Bench")
        tr = store.create_trial(athlete_id=a["id"], protocol=protocol, leg=None if protocol in ("bilateral_stance", "stepping") else "left", sample_rate_hz=RATE_HZ)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _file_bytes(path)
        step = int(CHUNK_S * RATE_HZ)
        for i in range(0, len(sim.t_ns), step):
            store.append_samples(tr["id"], sim.t_ns[i:i + step], sim.counts[i:i + step], sim.invalid[i:i + step])
        minutes = (sim.t_ns[-1] - sim.t_ns[0]) / 60e9
        encoded = store.sample_bytes(tr["id"]) / minutes
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        on_disk = (_file_bytes(path) - before) / minutes
        t, c, inv = store.load_samples(tr["id"])
        lossless = np.array_equal(t, sim.t_ns) and np.array_equal(c, sim.counts) and np.array_equal(inv, sim.invalid)
        store.close()
        report.add(SECTION, f"raw data per minute, {protocol} (encoded chunks)", encoded / 1000, "kB/min",
                   target="<= 110 kB/min (uncompressed: 192)", ok=encoded <= 110_000 and lossless,
                   note="lossless round trip" if lossless else "ROUND TRIP NOT EXACT")
        report.add(SECTION, f"database growth per minute, {protocol}", on_disk / 1000, "kB/min",
                   target="<= 150 kB/min", ok=on_disk <= 150_000)


def append_and_load(report: Report, tmp: Path) -> None:
    sim = simulate_trial("stepping", seed=3, duration_s=120.0)
    store = Store(tmp / "append.sqlite3")
    a = store.create_athlete(name="Bench")
    tr = store.create_trial(athlete_id=a["id"], protocol="stepping", sample_rate_hz=RATE_HZ)
    step = int(CHUNK_S * RATE_HZ)
    times = []
    for i in range(0, len(sim.t_ns), step):
        t0 = time.perf_counter()
        store.append_samples(tr["id"], sim.t_ns[i:i + step], sim.counts[i:i + step], sim.invalid[i:i + step])
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    report.add(SECTION, "append of one 0.5 s chunk (encode + fsync'd commit), p50", float(np.median(ms)), "ms",
               target="<= 50 ms", ok=float(np.median(ms)) <= 50)
    report.add(SECTION, "append of one 0.5 s chunk, p99", float(np.percentile(ms, 99)), "ms",
               target="<= 250 ms", ok=float(np.percentile(ms, 99)) <= 250)
    report.add(SECTION, "append throughput", len(sim.t_ns) / sum(times), "frames/s",
               target=">= 800 frames/s (10x real time)", ok=len(sim.t_ns) / sum(times) >= 800)
    t0 = time.perf_counter()
    store.load_samples(tr["id"])
    load_ms = (time.perf_counter() - t0) * 1e3
    report.add(SECTION, "load + verify 2 min of raw samples", load_ms, "ms", target="<= 100 ms", ok=load_ms <= 100)
    store.close()


def query_latency(report: Report, tmp: Path) -> None:
    """Store-level list and history on 10,000 trials of 500 athletes (the API adds HTTP on top)."""
    store = Store(tmp / "queries.sqlite3")
    rng = random.Random(1)
    now = time.time()
    store.db["athletes"].insert_all(
        [{"id": i, "name": f"Athlete {i:03d}", "created_at": "2025-01-01T00:00:00.000+00:00",
          "updated_at": "2025-01-01T00:00:00.000+00:00"} for i in range(1, 501)],
        batch_size=1000,
    )
    protocols = ["bilateral_stance", "single_leg_stance", "single_leg_squat", "stepping"]
    rows = []
    for i in range(1, 10_001):
        p = rng.choice(protocols)
        started = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(now - rng.uniform(0, 3.15e7)))
        rows.append({
            "id": i, "athlete_id": rng.randint(1, 500), "protocol": p,
            "leg": rng.choice(["left", "right"]) if p.startswith("single") else None, "options": "{}",
            "status": "saved", "started_at": started, "sample_rate_hz": 80.0, "software_version": "bench",
            "metrics": f'{{"sway": {{"ml_rms_mm": {rng.uniform(2, 12):.2f}}}}}',
        })
    store.db["trials"].insert_all(rows, batch_size=1000)
    for name, fn in (
        ("list_trials (page of 50, newest first)", lambda: store.list_trials(limit=50, offset=rng.randint(0, 5000))),
        ("list_trials filtered by athlete + protocol", lambda: store.list_trials(athlete_id=rng.randint(1, 500), protocol="single_leg_stance")),
        ("metric_history sway.ml_rms_mm", lambda: store.metric_history(rng.randint(1, 500), "sway.ml_rms_mm")),
    ):
        lat = []
        for _ in range(300):
            t0 = time.perf_counter()
            fn()
            lat.append((time.perf_counter() - t0) * 1e3)
        p99 = float(np.percentile(lat, 99))
        report.add(SECTION, f"{name}, 10k trials, p50", float(np.median(lat)), "ms")
        report.add(SECTION, f"{name}, 10k trials, p99", p99, "ms", target="<= 20 ms (API budget 50 ms)", ok=p99 <= 20)
    store.close()


def recorder_keeps_up(report: Report, tmp: Path) -> None:
    """60 s of an unpaced simulator (hundreds of times real time) through Acquisition and
    Recorder into SQLite: frames lost must be 0."""
    from hardware.sim import SimLoadCellSource
    from station.acquisition import Acquisition
    from station.recording import Recorder

    source = SimLoadCellSource(seed=2, rate_hz=RATE_HZ, paced=False)
    acq = Acquisition(source, calibration=source.cells.true_calibration(source.geometry), buffer_s=120)
    store = Store(tmp / "recorder.sqlite3")
    athlete = store.create_athlete(name="Bench", body_mass_kg=70)
    acq.start()
    rec = Recorder(acquisition=acq, store=store)
    t0 = time.perf_counter()
    rec.start(athlete_id=athlete["id"], protocol="bilateral_stance", options={"duration_s": 60})
    status = rec.wait(120)
    wall = time.perf_counter() - t0
    acq.stop()
    trial = store.get_trial(status["trial_id"])
    lost = trial["metrics"]["recording"]["frames_lost"] if trial["metrics"] else None
    report.add(SECTION, "recorder, 60 s protocol from an unpaced simulator: frames lost", lost, "frames",
               target="0", ok=lost == 0, note=f"{trial['n_samples']} frames saved in {wall:.1f} s wall")
    store.close()


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("  bytes per minute ...", flush=True)
        bytes_per_minute(report, tmp)
        print("  append and load ...", flush=True)
        append_and_load(report, tmp)
        print("  query latency on 10,000 trials ...", flush=True)
        query_latency(report, tmp)
        print("  recorder with an unpaced simulator ...", flush=True)
        recorder_keeps_up(report, tmp)
