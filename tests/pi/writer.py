"""A stand-in for the running service: a separate process that writes to a WAL-mode
SQLite database continuously, in batches of rows per commit as the station stores samples.

Usage: python writer.py DB_PATH STOP_FILE [--lock DATA_DIR]
Prints ``ready`` once it has committed its first batch. Schema: one table of our own;
the backup code must not care about it.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path


def main() -> int:
    db, stop = Path(sys.argv[1]), Path(sys.argv[2])
    lock = None
    if "--lock" in sys.argv:
        from station.service_lock import ServiceLock

        lock = ServiceLock(Path(sys.argv[sys.argv.index("--lock") + 1]), purpose="test writer")
    con = sqlite3.connect(db, isolation_level=None, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE IF NOT EXISTS samples (id INTEGER PRIMARY KEY, trial INTEGER, t_ns INTEGER, payload BLOB)"
    )
    first = True
    trial = 1000 + os.getpid() % 1000
    while not stop.exists():
        con.execute("BEGIN IMMEDIATE")
        now = time.monotonic_ns()
        con.executemany(
            "INSERT INTO samples (trial, t_ns, payload) VALUES (?, ?, ?)",
            [(trial, now + i, os.urandom(64)) for i in range(8)],
        )
        con.execute("COMMIT")
        if first:
            print("ready", flush=True)
            first = False
        time.sleep(0.005)
    con.close()
    if lock is not None:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
