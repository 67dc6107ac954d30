"""Erase soft-deleted athletes and trials for good: ``python -m station.storage.purge``.

Deleting in the app only hides data (soft delete) so a mistake can be undone by an
admin; this removes what was deleted more than ``--older-than-days`` ago (default
30), with its raw samples, events and video files, then compacts the file so the
erased bytes do not linger on disk.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.core.errors import StationError
from station.storage.opening import open_store


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m station.storage.purge", description=__doc__)
    p.add_argument("--data-dir", type=Path, help="the station's data folder (default: from the configuration)")
    p.add_argument("--older-than-days", type=float, default=30.0, help="grace period in days (default 30)")
    p.add_argument("--no-vacuum", action="store_true", help="skip compacting the database file")
    args = p.parse_args(argv)
    try:
        store = open_store(args.data_dir)
        try:
            result = store.purge_deleted(older_than_days=args.older_than_days, actor="cli:purge")
            print(f"Erased {result['athletes']} athlete(s), {result['trials']} trial(s) and "
                  f"{result['video_files']} video file(s) deleted before {result['cutoff']}.")
            if not args.no_vacuum and (result["athletes"] or result["trials"]):
                print("Compacting the database (VACUUM) ...", file=sys.stderr, flush=True)
                store.vacuum()
        finally:
            store.close()
    except StationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
