"""``station backup``: an online copy of the database, safe while the service runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.backup import backup_database, default_backup_dir
from station.cli.argtypes import positive_int
from station.cli.progress import PageProgress
from station.core.config import load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "backup",
        help="copy the database to the backups folder (safe while the service runs)",
        description="Copy the station database with SQLite's online backup API, check the copy, "
        "and keep the newest backup of each of the last N days. Restore with `station restore FILE`.",
    )
    p.add_argument("--data-dir", type=Path, help="the station's data folder (default: from the configuration)")
    p.add_argument("--dest", type=Path, help="folder for the backups (default: DATA_DIR/backups)")
    p.add_argument("--keep", type=positive_int, default=14, help="days of backups to keep (default 14)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    dest = args.dest or default_backup_dir(settings.data_dir)
    db = settings.db_path
    print(f"Backing up {db} to {dest} ...", file=sys.stderr, flush=True)
    with PageProgress("backup") as progress:
        result = backup_database(db, dest, keep=args.keep, progress=progress)
    print(
        f"Backup written: {result.path} ({result.size_bytes / 1e6:.1f} MB, {result.pages} pages, "
        f"integrity ok) in {result.seconds:.1f} s.",
        flush=True,
    )
    if result.removed:
        print(
            f"Removed {len(result.removed)} older backup(s), keeping the newest of each of the last "
            f"{args.keep} days: {', '.join(p.name for p in result.removed)}",
            flush=True,
        )
    return 0
