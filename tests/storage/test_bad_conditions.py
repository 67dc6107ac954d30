"""The database under bad conditions: locked by another process, disk full, many threads."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from station.core.errors import StorageError
from station.storage import Store

HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO audit_log (at, actor, action, target) VALUES ('x', 'other', 'lock', 'db')")
print("locked", flush=True)
sys.stdin.readline()  # hold the write lock until told to go
conn.execute("ROLLBACK")
"""


def test_locked_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "station.sqlite3"
    store = Store(path, busy_timeout_s=0.3)
    athlete = store.create_athlete(name="Ann")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(StorageError, match="locked by another process") as info:
            store.update_athlete(athlete["id"], notes="blocked")
        assert "retry" in str(info.value).lower()
        # reads still work in WAL mode while another process writes
        assert store.get_athlete(athlete["id"])["notes"] is None
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(10)
    # once the other process lets go, writing works again
    assert store.update_athlete(athlete["id"], notes="ok")["notes"] == "ok"
    store.close()


def _fill_disk(store: Store) -> None:
    """Make SQLite's own allocator report SQLITE_FULL ("database or disk is full") on the next growth."""
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")


def test_disk_full_is_a_storage_error_and_keeps_earlier_samples(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    tr = fresh_db.create_trial(athlete_id=a["id"], protocol="bilateral_stance", sample_rate_hz=80)
    rng = np.random.default_rng(1)
    first = (np.arange(80), rng.integers(-(2**23), 2**23, (80, 8)), np.zeros(80, int))
    fresh_db.append_samples(tr["id"], *first)
    _fill_disk(fresh_db)
    n = 4000
    with pytest.raises(StorageError, match="disk .* is full") as info:
        fresh_db.append_samples(tr["id"], np.arange(n), rng.integers(-(2**23), 2**23, (n, 8)), np.zeros(n, int))
    assert "Free disk space" in str(info.value)
    # the failed chunk left nothing behind; the earlier one is intact
    t, c, _ = fresh_db.load_samples(tr["id"])
    assert np.array_equal(c, first[1]) and fresh_db.get_trial(tr["id"])["n_samples"] == 80
    # small status updates still fit in the existing pages, so the trial can be marked failed
    assert fresh_db.finish_trial(tr["id"], status="failed", message="disk full")["status"] == "failed"


def test_many_threads_share_one_store(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    trials = [fresh_db.create_trial(athlete_id=a["id"], protocol="stepping", sample_rate_hz=80)["id"] for _ in range(4)]
    errors: list[BaseException] = []

    def writer(trial_id: int) -> None:
        try:
            for k in range(20):
                fresh_db.append_samples(trial_id, np.arange(k * 10, k * 10 + 10), np.full((10, 8), trial_id), np.zeros(10, int))
                fresh_db.list_trials(limit=10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in trials]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for t in trials:
        times, counts, _ = fresh_db.load_samples(t)
        assert np.array_equal(times, np.arange(200)) and (counts == t).all()
