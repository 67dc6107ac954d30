"""``station purge``: erase soft-deleted athletes and trials after their grace period."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.cli.argtypes import non_negative_float
from station.storage.purge import DEFAULT_GRACE_DAYS, purge


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "purge",
        help="erase deleted athletes and trials for good (after a grace period)",
        description="Deleting in the app only hides data, so an admin can undo a mistake. This erases "
        "what was deleted more than --older-than-days ago, with its samples, events and video files, "
        "then compacts the database file so the erased bytes leave the disk. Run it from cron "
        "or a systemd timer, e.g. weekly.",
    )
    p.add_argument("--data-dir", type=Path, help="the station's data folder (default: from the configuration)")
    p.add_argument(
        "--older-than-days",
        type=non_negative_float,
        default=DEFAULT_GRACE_DAYS,
        metavar="DAYS",
        help=f"erase only what was deleted more than DAYS ago (default {DEFAULT_GRACE_DAYS:g}; 0: everything deleted)",
    )
    p.add_argument("--no-vacuum", action="store_true", help="skip compacting the database file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = purge(
        args.data_dir,
        older_than_days=args.older_than_days,
        vacuum=not args.no_vacuum,
        actor="cli:purge",
        on_vacuum=lambda: print("Compacting the database (VACUUM) ...", file=sys.stderr, flush=True),
    )
    print(
        f"Erased {result.athletes} athlete(s), {result.trials} trial(s) and {result.video_files} "
        f"video file(s) deleted before {result.cutoff}."
    )
    return 0
