"""Backup and restore on a live database: speed, and what the backup costs the writer.

A separate process plays the service: it commits a batch of rows every 12.5 ms (80 Hz
acquisition) to a WAL-mode database of about 64 MB, and records how long each commit
takes. While it runs, ``backup_database`` copies the database. Figures: backup time and
throughput, the writer's worst commit latency during the backup (the acquisition must not
stall), and the restore time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.report import Report
from station.backup import backup_database, restore_database

DB_MB = 64
WRITER = textwrap.dedent(
    """
    import json, os, sqlite3, sys, time
    db, stop, out = sys.argv[1:4]
    con = sqlite3.connect(db, isolation_level=None, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    lat = []
    print("ready", flush=True)
    next_t = time.monotonic()
    while not os.path.exists(stop):
        t0 = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO samples (trial, t_ns, payload) VALUES (?, ?, ?)",
                        [(2, time.monotonic_ns(), os.urandom(64)) for _ in range(8)])
        con.execute("COMMIT")
        lat.append((time.monotonic(), time.perf_counter() - t0))
        next_t += 0.0125
        time.sleep(max(0.0, next_t - time.monotonic()))
    json.dump(lat, open(out, "w"))
    """
)


def _make_db(path: Path) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY, trial INTEGER, t_ns INTEGER, payload BLOB)")
    rows = DB_MB * 1024 // 4
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO samples (trial, t_ns, payload) VALUES (?, ?, ?)",
        ((1, i, os.urandom(4000)) for i in range(rows)),
    )
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pi-") as tmp:
        d = Path(tmp)
        db = d / "station.sqlite3"
        print(f"  building a {DB_MB} MB database ...", flush=True)
        _make_db(db)
        size_mb = db.stat().st_size / 1e6
        stop, out = d / "stop", d / "latencies.json"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(stop), str(out)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            time.sleep(1.0)  # a baseline second of commits
            t_start = time.monotonic()
            result = backup_database(db, d / "backups", keep=3)
            t_end = time.monotonic()
            time.sleep(0.5)
        finally:
            stop.touch()
            proc.wait(30)
        lat = json.loads(out.read_text())
        during = [dt for t, dt in lat if t_start <= t <= t_end]
        before = [dt for t, dt in lat if t < t_start]
        report.add("pi/backup", "database size", size_mb, "MB")
        report.add("pi/backup", "online backup time", result.seconds, "s", target="<= 10 s", ok=result.seconds <= 10)
        report.add("pi/backup", "backup throughput", size_mb / result.seconds, "MB/s")
        worst_ms = 1000 * max(during) if during else float("nan")
        # The station writes samples in batches from a queue, so a stall shorter than
        # about one batch (100 ms = 8 samples at 80 Hz) delays a write without losing data.
        report.add(
            "pi/backup", "writer's worst commit during backup", worst_ms, "ms",
            target="<= 100 ms (about one batch at 80 Hz)", ok=bool(during) and worst_ms <= 100,
        )  # fmt: skip
        report.add("pi/backup", "writer's worst commit before backup", 1000 * max(before), "ms")
        report.add("pi/backup", "writer commits during backup", len(during), "", note="80 per second expected")

        t0 = time.perf_counter()
        restore_database(result.path, db)
        restore_s = time.perf_counter() - t0
        report.add("pi/backup", "restore time (incl. safety copy)", restore_s, "s", target="<= 20 s", ok=restore_s <= 20)
