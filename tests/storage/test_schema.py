"""The database file: WAL, foreign keys, versioned migrations run at start-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from station.core.errors import StorageError
from station.storage import Store
from station.storage.migrations import MIGRATIONS, Migration, run_migrations


def test_wal_foreign_keys_and_busy_timeout(fresh_db: Store) -> None:
    assert fresh_db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert fresh_db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert fresh_db.conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    # WAL is a property of the file: a second, independent connection sees it too.
    other = sqlite3.connect(fresh_db.path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_foreign_keys_are_enforced(fresh_db: Store) -> None:
    with pytest.raises(StorageError), fresh_db._tx() as conn:
        conn.execute(
            "INSERT INTO trials (athlete_id, protocol, status, started_at, software_version)"
            " VALUES (999, 'stepping', 'recording', 'x', 'v')"
        )
    assert fresh_db.conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0


def test_migrations_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    s = Store(path)
    versions = [m.version for m in MIGRATIONS]
    assert s.migrations_applied == versions
    rows = s.conn.execute("SELECT version, name, applied_at FROM migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == versions and all(r[1] and r[2] for r in rows)
    s.close()
    s2 = Store(path)  # reopening applies nothing again
    assert s2.migrations_applied == []
    assert s2.schema_version() == versions[-1]
    s2.close()


def test_new_migration_applies_once_and_failed_one_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store(path).close()
    db = sqlite_utils.Database(sqlite3.connect(path))
    nxt = MIGRATIONS[-1].version + 1

    def add_column(d: sqlite_utils.Database) -> None:
        d.execute("ALTER TABLE athletes ADD COLUMN club TEXT")

    def broken(d: sqlite_utils.Database) -> None:
        d.execute("CREATE TABLE half_done (x)")
        d.execute("THIS IS NOT SQL")

    assert run_migrations(db, [*MIGRATIONS, Migration(nxt, "club", add_column)]) == [nxt]
    assert "club" in db["athletes"].columns_dict
    assert run_migrations(db, [*MIGRATIONS, Migration(nxt, "club", add_column)]) == []
    with pytest.raises(sqlite3.OperationalError):
        run_migrations(db, [*MIGRATIONS, Migration(nxt, "club", add_column), Migration(nxt + 1, "bad", broken)])
    assert not db["half_done"].exists()
    assert [r[0] for r in db.execute("SELECT version FROM migrations").fetchall()][-1] == nxt
    db.close()


def test_database_from_newer_station_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO migrations VALUES (999, 'future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        Store(path)


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="data directory"):
        Store(blocker / "sub" / "db.sqlite3")


def test_garbage_file_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError, match="damaged"):
        Store(path)


def test_old_database_is_upgraded_in_place(tmp_path: Path) -> None:
    """A file made by the first schema version gets the later migrations and keeps its rows."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    run_migrations(db, MIGRATIONS[:1])
    db.execute("INSERT INTO athletes (name, created_at, updated_at) VALUES ('Old Timer', 'x', 'x')")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.migrations_applied == [m.version for m in MIGRATIONS[1:]]
    assert store.get_athlete(1)["name"] == "Old Timer"
    a = store.create_trial(athlete_id=1, protocol="stepping", sample_rate_hz=80, zero_offsets=[0.0] * 8)
    assert a["zero_offsets"] == [0.0] * 8
    store.close()
