"""Online backup and restore while another real process writes to the database."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from station.backup import (
    backup_database,
    check_integrity,
    list_backups,
    restore_database,
    rotate_backups,
)
from station.core.errors import InputError, NotFoundError
from tests.pi.livedb import PREFILL_ROWS, Writer, max_id, rows


def test_backup_while_writing_keeps_everything_committed_before_it(data_dir, writer):
    db = data_dir / "station.sqlite3"
    writer.wait_for_rows(PREFILL_ROWS + 200)
    committed_before = rows(db)
    steps: list[tuple[int, int]] = []
    result = backup_database(db, data_dir / "backups", keep=5, progress=lambda d, t: steps.append((d, t)))
    committed_after = max_id(db)

    check_integrity(result.path)
    copy = rows(result.path)
    ids = sorted(copy)
    # A consistent snapshot: ids 1..M without gaps, every row committed before the
    # backup started is there unchanged, nothing from after the backup ended.
    assert ids == list(range(1, len(ids) + 1))
    assert all(copy[i] == h for i, h in committed_before.items())
    assert max(committed_before) <= len(ids) <= committed_after
    # The writer was not blocked: it kept committing while the copy ran.
    assert committed_after > max(committed_before)
    # Several steps with visible progress, ending at 100 %.
    assert len(steps) >= 3
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert steps[-1][0] == steps[-1][1] == result.pages
    # One self-contained file in rollback-journal mode, no -wal beside it.
    con = sqlite3.connect(result.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    assert not Path(str(result.path) + "-wal").exists()
    assert not list((data_dir / "backups").glob("*.partial"))


def test_restore_round_trip(data_dir, writer):
    db = data_dir / "station.sqlite3"
    writer.wait_for_rows(PREFILL_ROWS + 100)
    backup = backup_database(db, data_dir / "backups", keep=5).path
    in_backup = rows(backup)
    writer.wait_for_rows(len(in_backup) + 100)  # rows written after the backup
    writer.stop()  # the service is stopped before a restore
    live_before_restore = rows(db)
    assert len(live_before_restore) > len(in_backup)

    result = restore_database(backup, db)
    assert rows(db) == in_backup
    check_integrity(db)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as the service left it
    con.close()
    # The database from before the restore is kept, so the restore can be undone.
    assert result.previous_copy is not None
    assert rows(result.previous_copy) == live_before_restore
    # ... and the service can write again after the restore.
    w2 = Writer(data_dir)
    w2.wait_for_rows(len(in_backup) + 50)
    w2.stop()
    check_integrity(db)


def test_restore_into_an_empty_data_dir(tmp_path, data_dir):
    backup = backup_database(data_dir / "station.sqlite3", tmp_path / "b", keep=None).path
    fresh = tmp_path / "new-pi" / "station.sqlite3"
    result = restore_database(backup, fresh)
    assert result.previous_copy is None
    assert rows(fresh) == rows(backup)


def _small_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    return path


def test_rotation_keeps_the_newest_backup_of_each_of_the_last_days(tmp_path):
    db = _small_db(tmp_path / "station.sqlite3")
    out = tmp_path / "backups"
    out.mkdir()
    (out / "notes.txt").write_text("not a backup")
    (out / "pre-restore-20260101T000000Z.sqlite3").write_bytes(db.read_bytes())
    day0 = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    made = []
    for d in range(5):
        made.append(backup_database(db, out, keep=None, now=day0 + timedelta(days=d)).path)
    late = backup_database(db, out, keep=None, now=day0 + timedelta(days=4, hours=12)).path
    same_second = backup_database(db, out, keep=None, now=day0 + timedelta(days=4, hours=12)).path
    assert same_second != late

    removed = rotate_backups(out, keep=3)
    left = list_backups(out)
    assert left == [made[2], made[3], same_second]
    assert set(removed) == {made[0], made[1], made[4], late}
    assert (out / "notes.txt").exists()
    assert (out / "pre-restore-20260101T000000Z.sqlite3").exists()
    with pytest.raises(InputError):
        rotate_backups(out, keep=0)


def test_damaged_and_foreign_files_are_refused(tmp_path, data_dir):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(InputError, match="not an SQLite database"):
        check_integrity(text)
    with pytest.raises(InputError, match="does not exist"):
        check_integrity(tmp_path / "nope.sqlite3")

    good = backup_database(data_dir / "station.sqlite3", tmp_path / "b", keep=None).path
    damaged = tmp_path / "damaged.sqlite3"
    raw = bytearray(good.read_bytes())
    page = 4096
    raw[5 * page : 7 * page] = b"\xff" * (2 * page)  # scribble over two b-tree pages
    damaged.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="damaged|integrity"):
        check_integrity(damaged)
    db = data_dir / "station.sqlite3"
    before = rows(db)
    with pytest.raises(InputError):
        restore_database(damaged, db)
    assert rows(db) == before  # a refused restore leaves the database alone

    with pytest.raises(NotFoundError, match="no database"):
        backup_database(tmp_path / "missing" / "station.sqlite3", tmp_path / "b")


def test_one_backup_at_a_time_per_folder(tmp_path):
    import fcntl

    from station.core.errors import ConflictError

    db = _small_db(tmp_path / "station.sqlite3")
    out = tmp_path / "backups"
    out.mkdir()
    with open(out / ".backup.lock", "a") as other:  # a backup already running
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConflictError, match="another backup"):
            backup_database(db, out)
    assert list_backups(out) == []
    assert len(list_backups(backup_database(db, out).path.parent)) == 1


def test_a_backup_made_with_the_clock_set_back_is_kept(tmp_path):
    """Issue 19 (5): the clock set back a month made the new backup look oldest; rotation
    deleted it at once and backup_database raised FileNotFoundError on it."""
    db = _small_db(tmp_path / "station.sqlite3")
    out = tmp_path / "backups"
    day0 = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    for d in range(4):
        backup_database(db, out, keep=3, now=day0 + timedelta(days=d))
    set_back = backup_database(db, out, keep=3, now=day0 - timedelta(days=30))
    assert set_back.path.is_file() and set_back.path not in set_back.removed
    assert list_backups(out)[-1] == set_back.path  # the newest, whatever its date says
    check_integrity(set_back.path)
    # the next backups (clock still wrong, or right again) keep it among the newest days
    again = backup_database(db, out, keep=3, now=day0 - timedelta(days=29))
    assert set_back.path.is_file() and again.path.is_file()


def test_correctly_dated_backups_survive_a_corrected_year_ahead_clock(tmp_path):
    """Issue 19 (5): after a clock that ran a year ahead was corrected, every correctly
    dated backup was deleted because the wrong ones looked newer."""
    db = _small_db(tmp_path / "station.sqlite3")
    out = tmp_path / "backups"
    day0 = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    ahead = [backup_database(db, out, keep=3, now=day0 + timedelta(days=365 + d)).path for d in range(3)]
    right = [backup_database(db, out, keep=3, now=day0 + timedelta(days=d)).path for d in range(3)]
    assert list_backups(out) == right  # the three newest days by order made, all correctly dated
    assert not any(p.exists() for p in ahead)


def test_rotation_orders_legacy_names_before_numbered_ones(tmp_path):
    """Backups named before the sequence numbers (time only) count as older than any
    numbered backup, whatever their dates."""
    db = _small_db(tmp_path / "station.sqlite3")
    out = tmp_path / "backups"
    out.mkdir()
    legacy = out / "station-20301231T000000Z.sqlite3"  # a far-future date from a wrong clock
    legacy.write_bytes(db.read_bytes())
    new = backup_database(db, out, keep=1, now=datetime(2026, 11, 1, tzinfo=UTC))
    assert new.path.name.startswith("station-000001-20261101T")
    assert new.removed == [legacy] and list_backups(out) == [new.path]
