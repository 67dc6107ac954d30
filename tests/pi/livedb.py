"""A live station database for the backup tests: a WAL-mode SQLite file and a separate
writer process (writer.py) that keeps committing to it, as the service does."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREFILL_ROWS = 3000
PREFILL_BYTES = 4096  # ~12 MB: the copy takes several steps of the backup API


def rows(db: Path) -> dict[int, str]:
    """id -> sha1 of the row, read with a fresh connection (committed data only)."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {
            r[0]: hashlib.sha1(repr(r).encode()).hexdigest()
            for r in con.execute("SELECT id, trial, t_ns, payload FROM samples ORDER BY id")
        }
    finally:
        con.close()


def max_id(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT coalesce(max(id), 0) FROM samples").fetchone()[0])
    finally:
        con.close()


def make_data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    con = sqlite3.connect(d / "station.sqlite3", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY, trial INTEGER, t_ns INTEGER, payload BLOB)")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO samples (trial, t_ns, payload) VALUES (?, ?, ?)",
        [(1, i, os.urandom(PREFILL_BYTES)) for i in range(PREFILL_ROWS)],
    )
    con.execute("COMMIT")
    con.close()
    return d


class Writer:
    def __init__(self, data_dir: Path, *, lock: bool = False) -> None:
        self.db = data_dir / "station.sqlite3"
        self.stop_file = data_dir.parent / "stop-writer"
        self.stop_file.unlink(missing_ok=True)
        cmd = [sys.executable, str(HERE / "writer.py"), str(self.db), str(self.stop_file)]
        if lock:
            cmd += ["--lock", str(data_dir)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def wait_for_rows(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while max_id(self.db) < n:
            assert time.monotonic() < deadline, "the writer stalled"
            time.sleep(0.01)

    def stop(self) -> None:
        self.stop_file.touch()
        try:
            assert self.proc.wait(20) == 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
