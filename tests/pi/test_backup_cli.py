"""``station backup`` / ``station restore`` as a user runs them, in real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from station.backup import list_backups
from tests.pi.livedb import Writer, rows


def station(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}
    return subprocess.run(
        [sys.executable, "-m", "station", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_backup_and_restore_commands(tmp_path, data_dir):
    w = Writer(data_dir, lock=True)  # holds the service lock, as `station serve` does
    try:
        done = station("backup", "--data-dir", str(data_dir), "--keep", "2", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "Backup written:" in done.stdout and "integrity ok" in done.stdout
        assert "backup: 100 %" in done.stderr  # progress, one line per 10 % in a pipe
        [backup] = list_backups(data_dir / "backups")

        refused = station("restore", str(backup), "--data-dir", str(data_dir), cwd=tmp_path)
        assert refused.returncode == 1
        assert "is running" in refused.stderr and "test writer" in refused.stderr
        assert "systemctl stop station" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        w.stop()

    db = data_dir / "station.sqlite3"
    assert len(rows(db)) > len(rows(backup))
    ok = station("restore", str(backup), "--data-dir", str(data_dir), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "restore: 100 %" in ok.stderr
    assert "pre-restore-" in ok.stdout
    assert rows(db) == rows(backup)


def test_force_restores_while_a_writer_holds_the_lock(tmp_path, data_dir):
    done = station("backup", "--data-dir", str(data_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [backup] = list_backups(data_dir / "backups")
    w = Writer(data_dir, lock=True)
    try:
        forced = station("restore", str(backup), "--data-dir", str(data_dir), "--force", cwd=tmp_path)
        assert forced.returncode == 0, forced.stderr
    finally:
        w.stop()
    # Everything in the backup is back; rows the writer added after the restore may follow.
    restored, expected = rows(data_dir / "station.sqlite3"), rows(backup)
    assert all(restored[i] == h for i, h in expected.items())


def test_bad_input_exits_2_with_a_reason(tmp_path, data_dir, capsys, monkeypatch):
    """In-process through the real entry point (``station.cli.main``), to keep it quick."""
    from station.cli import main

    for key in [k for k in os.environ if k.startswith("STATION_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    cases = [
        (["backup", "--data-dir", str(data_dir), "--keep", "0"], "must be at least 1"),
        (["backup", "--data-dir", str(data_dir), "--keep", "many"], "not a whole number"),
        (["restore", str(tmp_path / "missing.sqlite3"), "--data-dir", str(data_dir)], "does not exist"),
        (["restore", str(notes), "--data-dir", str(data_dir)], "not an SQLite database"),
        (["restore", "--data-dir", str(data_dir)], "BACKUP_FILE"),
    ]
    for args, reason in cases:
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert reason in err, (args, err)
        assert "Traceback" not in err
    assert main(["backup", "--data-dir", str(tmp_path / "nothing-here")]) == 1
    err = capsys.readouterr().err
    assert "there is no database" in err and "--data-dir" in err


def test_backup_command_keeps_its_backup_after_a_clock_jump(tmp_path, data_dir):
    """Issue 19 (5): with backups dated a year ahead in the folder (a clock that was wrong),
    ``station backup --keep 1`` rotated its own new backup away and died with a
    FileNotFoundError traceback."""
    dest = data_dir / "backups"
    dest.mkdir()
    db = data_dir / "station.sqlite3"
    for name in ("station-20991231T020000Z.sqlite3", "station-000007-20991230T020000Z.sqlite3"):
        (dest / name).write_bytes(db.read_bytes())
    done = station("backup", "--data-dir", str(data_dir), "--keep", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    [backup] = list_backups(dest)
    assert backup.name.startswith("station-000008-") and "Backup written:" in done.stdout
    assert "Removed 2 older backup(s)" in done.stdout
