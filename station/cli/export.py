"""``station export``: one trial as CSV, JSON or C3D, or everything about one athlete."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from station.cli.argtypes import positive_int
from station.core.errors import InputError
from station.export import FORMATS, export_trial
from station.export.csv import write_trial_csv
from station.storage import Store
from station.storage.opening import open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="export a trial (csv, json, c3d) or all data of one athlete",
        description="Export one trial as the raw CSV (loads in newtons per cell), a JSON of its "
        "metrics and events, or a C3D file with two force platforms; or, with --athlete, "
        "everything stored about one athlete as a ZIP (privacy requests).",
    )
    p.add_argument("trial_id", nargs="?", type=positive_int, metavar="TRIAL_ID", help="the trial to export")
    p.add_argument("--format", choices=FORMATS, default="csv", help="trial export format (default csv)")
    p.add_argument("--athlete", type=positive_int, metavar="ID", help="export all data of this athlete instead")
    p.add_argument("--out", type=Path, help="output file (default: trial_<ID>.<format> or athlete_<ID>.zip)")
    p.add_argument("--data-dir", type=Path, help="the station's data folder (default: from the configuration)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.trial_id is None) == (args.athlete is None):
        raise InputError("give either a TRIAL_ID or --athlete ID", hint="See `station export --help`.")
    out: Path = args.out or Path(
        f"athlete_{args.athlete}.zip" if args.athlete is not None else f"trial_{args.trial_id}.{args.format}"
    )
    if not out.parent.is_dir():
        raise InputError(f"the folder {out.parent} does not exist", hint="Create it or choose another --out.")
    store = open_store(args.data_dir)
    try:
        if args.athlete is not None:
            n = export_athlete_zip(store, args.athlete, out)
            print(f"Wrote {out}: athlete {args.athlete}, {n} trial(s).")
        else:
            export_trial(store, args.trial_id, args.format, out)
            print(f"Wrote {out} (trial {args.trial_id}, {args.format}).")
    finally:
        store.close()
    return 0


def export_athlete_zip(store: Store, athlete_id: int, out: Path) -> int:
    """ZIP with ``athlete.json`` (:meth:`Store.export_athlete`), one raw CSV per trial
    that has samples, and the trial videos found on disk. Returns the number of trials."""
    doc = store.export_athlete(athlete_id)
    trials = doc["trials"]
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "export.zip"
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("athlete.json", json.dumps(doc, indent=2, allow_nan=False) + "\n")
            for i, t in enumerate(trials, 1):
                print(f"  trial {i}/{len(trials)} (id {t['id']}) ...", file=sys.stderr, flush=True)
                if t["n_samples"] > 0:
                    csv_path = Path(tmp) / f"trial_{t['id']}.csv"
                    write_trial_csv(store, t["id"], csv_path, include_deleted=True)
                    zf.write(csv_path, f"trials/trial_{t['id']}.csv")
                video = t.get("video")
                for key in ("path", "timestamps_path"):
                    if video and video.get(key) and Path(video[key]).is_file():
                        zf.write(video[key], f"videos/{Path(video[key]).name}")
        shutil.move(str(part), out)
    return len(trials)
