"""Sessions in the store: migration 4 on a database of the previous schema, create,
list, attach (same athlete, one session per trial), soft delete and privacy export."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from station.core.errors import ConflictError, InputError, NotFoundError
from station.storage import Store
from station.storage.migrations import MIGRATIONS, run_migrations


def test_migration_4_on_a_database_of_schema_3_keeps_trials_outside_any_session(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    assert run_migrations(db, [m for m in MIGRATIONS if m.version <= 3]) == [1, 2, 3]
    db.execute("INSERT INTO athletes (name, created_at, updated_at) VALUES ('Before Sessions', 'x', 'x')")
    db.execute(
        "INSERT INTO trials (athlete_id, protocol, leg, status, started_at, software_version)"
        " VALUES (1, 'single_leg_stance', 'left', 'saved', '2026-01-01T10:00:00.000+00:00', 'old')"
    )
    conn.commit()
    conn.close()

    store = Store(path)
    try:
        assert store.migrations_applied == [4]
        old = store.get_trial(1)
        assert old["session_id"] is None and old["protocol"] == "single_leg_stance"
        assert store.list_sessions(athlete_id=1) == ([], 0)
        # the old trial can join a session of its athlete afterwards
        s = store.create_session(athlete_id=1, kind="hip_screen", actor="coach")
        assert store.attach_trial(s["id"], 1, actor="coach")["session_id"] == s["id"]
        assert [t["id"] for t in store.get_session(s["id"])["trials"]] == [1]
    finally:
        store.close()


def test_create_list_attach_and_refusals(fresh_db: Store) -> None:
    store = fresh_db
    ada = store.create_athlete(name="Ada")
    bo = store.create_athlete(name="Bo")
    s1 = store.create_session(athlete_id=ada["id"], kind="hip_screen", notes="left knee\nafter rest", actor="c")
    s2 = store.create_session(athlete_id=ada["id"], kind="retest")
    assert s1["trials"] == [] and s1["athlete_name"] == "Ada" and s1["notes"] == "left knee\nafter rest"
    t1 = store.create_trial(athlete_id=ada["id"], protocol="single_leg_stance", leg="left", sample_rate_hz=80)
    t2 = store.create_trial(athlete_id=ada["id"], protocol="single_leg_stance", leg="right", sample_rate_hz=80)
    tb = store.create_trial(athlete_id=bo["id"], protocol="stepping", sample_rate_hz=80)
    # a trial can be opened inside a session of its own athlete only
    t0 = store.create_trial(athlete_id=ada["id"], protocol="stepping", sample_rate_hz=80, session_id=s2["id"])
    assert t0["session_id"] == s2["id"]
    with pytest.raises(ConflictError, match="athlete"):
        store.create_trial(athlete_id=bo["id"], protocol="stepping", sample_rate_hz=80, session_id=s2["id"])
    with pytest.raises(NotFoundError):
        store.create_trial(athlete_id=ada["id"], protocol="stepping", sample_rate_hz=80, session_id=999)
    store.attach_trial(s1["id"], t1["id"])
    store.attach_trial(s1["id"], t2["id"])
    store.attach_trial(s1["id"], t2["id"])  # again: no change, no error
    assert [t["id"] for t in store.get_session(s1["id"])["trials"]] == [t1["id"], t2["id"]]
    items, total = store.list_sessions(athlete_id=ada["id"])
    assert total == 2 and [s["id"] for s in items] == [s2["id"], s1["id"]]  # newest first
    assert {s["id"]: s["n_trials"] for s in items} == {s1["id"]: 2, s2["id"]: 1}
    with pytest.raises(ConflictError, match="already part of session"):
        store.attach_trial(s2["id"], t1["id"])
    with pytest.raises(ConflictError, match="athlete"):
        store.attach_trial(s1["id"], tb["id"])
    with pytest.raises(NotFoundError):
        store.attach_trial(999, t1["id"])
    with pytest.raises(NotFoundError):
        store.get_session(999)
    for kind in ("", "Hip Screen", "a" * 51, "x;drop"):
        with pytest.raises(InputError):
            store.create_session(athlete_id=ada["id"], kind=kind)
    with pytest.raises(InputError):
        store.create_session(athlete_id=ada["id"], kind="hip_screen", notes="bad\x00")
    with pytest.raises(NotFoundError):
        store.create_session(athlete_id=999, kind="hip_screen")
    # a deleted trial leaves the session's list; a deleted athlete takes the session along
    store.finish_trial(t2["id"], status="aborted")
    store.delete_trial(t2["id"], actor="admin")
    assert [t["id"] for t in store.get_session(s1["id"])["trials"]] == [t1["id"]]
    assert store.list_sessions(athlete_id=ada["id"])[0][1]["n_trials"] == 1
    export = store.export_athlete(ada["id"])
    assert [s["id"] for s in export["sessions"]] == [s1["id"], s2["id"]]
    assert export["sessions"][0]["notes"] == "left knee\nafter rest"
    store.delete_athlete(ada["id"], actor="admin")
    with pytest.raises(NotFoundError):
        store.get_session(s1["id"])


def test_purging_an_athlete_erases_their_sessions(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Gone")
    s = fresh_db.create_session(athlete_id=a["id"], kind="hip_screen")
    fresh_db.delete_athlete(a["id"], actor="admin")
    fresh_db.purge_deleted(older_than_days=0)
    assert fresh_db._one("SELECT count(*) AS n FROM sessions WHERE id = ?", (s["id"],)) == {"n": 0}
