"""Correctness of the read-path performance work (no timings here; bench/bench_api.py
measures speed): migration 3's partial indexes on an existing database, the query
plans that use them, list order and counts, and the pool of read-only connections."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlite_utils

from station.storage import Store
from station.storage.migrations import MIGRATIONS, run_migrations

LIVE_INDEXES = {"trials_live_started", "trials_live_athlete", "trials_live_protocol", "trials_live_leg", "trials_live_status"}


def _old_database(path: Path, n_trials: int) -> None:
    """A database as a station before migration 3 left it, with trials in it."""
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    run_migrations(db, [m for m in MIGRATIONS if m.version < 3])
    for i in (1, 2, 3):
        db.execute("INSERT INTO athletes (name, created_at, updated_at) VALUES (?, 'x', 'x')", [f"A{i}"])
    for i in range(n_trials):
        db.execute(
            "INSERT INTO trials (athlete_id, protocol, leg, status, started_at, software_version, metrics, deleted_at)"
            " VALUES (?, ?, ?, 'saved', ?, 't', ?, ?)",
            [
                1 + i % 3,
                "single_leg_stance" if i % 2 else "bilateral_stance",
                ("left" if i % 4 == 1 else "right") if i % 2 else None,
                f"2026-01-{1 + i % 28:02d}T10:00:00.000+00:00",  # ties on purpose: order falls back to id
                f'{{"sway": {{"ml_rms_mm": {i}}}}}',
                "2026-02-01T00:00:00.000+00:00" if i % 10 == 0 else None,
            ],
        )
    conn.commit()
    conn.close()


def _plan(store: Store, sql: str, params: list[object]) -> str:
    return " | ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())


def test_migration_3_upgrades_an_existing_database_and_lists_stay_right(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_database(path, 120)
    store = Store(path)
    try:
        assert 3 in store.migrations_applied
        names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert names >= LIVE_INDEXES
        # Expected answers computed independently, straight from the table.
        for filters, where in (
            ({}, "deleted_at IS NULL"),
            ({"protocol": "single_leg_stance"}, "deleted_at IS NULL AND protocol = 'single_leg_stance'"),
            ({"athlete_id": 2}, "deleted_at IS NULL AND athlete_id = 2"),
            ({"leg": "left"}, "deleted_at IS NULL AND leg = 'left'"),
            ({"status": "saved", "protocol": "bilateral_stance"}, "deleted_at IS NULL AND status = 'saved' AND protocol = 'bilateral_stance'"),
        ):
            want = [r[0] for r in store.conn.execute(
                f"SELECT id FROM trials WHERE {where} ORDER BY started_at DESC, id DESC").fetchall()]
            assert want, filters
            got_ids: list[int] = []
            for offset in range(0, len(want) + 7, 7):  # walk every page
                page, total = store.list_trials(**filters, limit=7, offset=offset)  # type: ignore[arg-type]
                assert total == len(want), filters
                got_ids += [t["id"] for t in page]
                assert all("metrics" not in t and t["athlete_name"].startswith("A") for t in page)
            assert got_ids == want, filters
        hist = store.metric_history(1, "sway.ml_rms_mm")
        want_hist = store.conn.execute(
            "SELECT id, json_extract(metrics, '$.sway.ml_rms_mm') FROM trials"
            " WHERE athlete_id = 1 AND deleted_at IS NULL ORDER BY id").fetchall()  # by id: core/clock.py
        assert [(p["trial_id"], p["value"]) for p in hist] == [tuple(r) for r in want_hist]
    finally:
        store.close()


def test_list_and_count_queries_use_the_partial_indexes(fresh_db: Store) -> None:
    count = "SELECT count(*) FROM trials t WHERE t.deleted_at IS NULL"
    page = "SELECT t.id FROM trials t WHERE t.deleted_at IS NULL{} ORDER BY t.started_at DESC, t.id DESC LIMIT 50 OFFSET 100"
    assert "trials_live_" in _plan(fresh_db, count, [])
    assert "trials_live_protocol" in _plan(fresh_db, count + " AND t.protocol = ?", ["single_leg_stance"])
    assert "trials_live_athlete" in _plan(fresh_db, count + " AND t.athlete_id = ?", [1])
    # The page of ids is read from the index in order: no table scan, no sort step.
    for extra, params, index in (
        ("", [], "trials_live_started"),
        (" AND t.protocol = ?", ["single_leg_stance"], "trials_live_protocol"),
        (" AND t.athlete_id = ?", [1], "trials_live_athlete"),
    ):
        plan = _plan(fresh_db, page.format(extra), params)
        assert index in plan and "TEMP B-TREE" not in plan, plan
    history = _plan(
        fresh_db,
        "SELECT id FROM trials WHERE athlete_id = ? AND deleted_at IS NULL AND metrics IS NOT NULL ORDER BY started_at, id",
        [1],
    )
    assert "trials_live_athlete" in history and "TEMP B-TREE" not in history, history


def test_reads_do_not_wait_for_another_threads_write_and_see_only_committed_rows(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    inside = threading.Event()
    release = threading.Event()
    seen_inside: list[str] = []

    def writer() -> None:
        with fresh_db._tx() as conn:
            conn.execute("UPDATE athletes SET notes = 'uncommitted' WHERE id = ?", (a["id"],))
            seen_inside.append(fresh_db.get_athlete(a["id"])["notes"])  # its own write: visible
            inside.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert inside.wait(10)
        # The writer holds the lock with its transaction open; this read must not block.
        done = threading.Event()
        result: list[object] = []

        def reader() -> None:
            result.append(fresh_db.get_athlete(a["id"])["notes"])
            done.set()

        threading.Thread(target=reader).start()
        assert done.wait(5), "a read waited for another thread's write transaction"
        assert result == [None]  # the committed state, not the pending write
    finally:
        release.set()
        t.join(10)
    assert seen_inside == ["uncommitted"]
    assert fresh_db.get_athlete(a["id"])["notes"] == "uncommitted"  # committed now


def test_pooled_readers_refuse_writes_and_close_with_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.create_athlete(name="Ann")
    with store._read() as conn:
        assert conn is not store.conn
        with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
            conn.execute("DELETE FROM athletes")
    pooled = store._idle_readers.get_nowait()
    store._idle_readers.put(pooled)
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        pooled.execute("SELECT 1")
