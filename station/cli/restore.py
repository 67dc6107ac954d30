"""``station restore``: put a backup back in place of the database."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from station.backup import default_backup_dir, restore_database
from station.cli.progress import PageProgress
from station.core.config import load_settings
from station.core.errors import ConflictError
from station.service_lock import ServiceLock, holder

SYSTEMD_UNIT = "station.service"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "restore",
        help="replace the database with a backup (stop the service first)",
        description="Replace the station database with BACKUP_FILE. The current database is kept as "
        "backups/pre-restore-<time>.sqlite3. Stop the service first: sudo systemctl stop station.",
    )
    p.add_argument("backup_file", type=Path, metavar="BACKUP_FILE", help="a station-*.sqlite3 backup")
    p.add_argument("--data-dir", type=Path, help="the station's data folder (default: from the configuration)")
    p.add_argument(
        "--force",
        action="store_true",
        help="restore even though the service seems to be running (its open data may be lost)",
    )
    p.set_defaults(func=run)


def systemd_unit_active(unit: str = SYSTEMD_UNIT) -> bool:
    """True when systemd runs here and reports ``unit`` active."""
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return False
    done = subprocess.run(["systemctl", "is-active", "--quiet", unit], check=False)
    return done.returncode == 0


def run(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    data_dir = settings.data_dir
    if not args.force:
        who = holder(data_dir)
        if who is None and systemd_unit_active():
            who = f"the systemd service {SYSTEMD_UNIT}"
        if who is not None:
            raise ConflictError(
                f"the station is running ({who}); restoring now would overwrite data it is writing",
                hint="stop it with `sudo systemctl stop station` (or stop `station serve`), "
                "then run this again; --force restores anyway.",
            )
    print(f"Restoring {args.backup_file} into {settings.db_path} ...", file=sys.stderr, flush=True)
    lock = None if args.force else ServiceLock(data_dir, purpose="station restore")
    try:
        with PageProgress("restore") as progress:
            result = restore_database(
                args.backup_file,
                settings.db_path,
                safety_dir=default_backup_dir(data_dir),
                progress=progress,
            )
    finally:
        if lock is not None:
            lock.release()
    print(
        f"Restored {result.db_path} ({result.size_bytes / 1e6:.1f} MB, integrity ok) in {result.seconds:.1f} s.",
        flush=True,
    )
    if result.previous_copy is not None:
        print(f"The database from before is saved as {result.previous_copy}.", flush=True)
    print("Start the station again: sudo systemctl start station", flush=True)
    return 0
