"""``station analyze``: analyse a raw CSV or a C3D file and print the result.

Examples::

    station analyze trial.csv --protocol single_leg_stance --leg left --json
    station analyze walk.c3d --plates 2,4 --protocol stepping --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from station.core.errors import InputError
from station.core.geometry import Geometry
from station.core.protocols import PROTOCOL_NAMES


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse a recorded trial (raw CSV or C3D)",
        description="Analyse a trial: contacts, phases, sway, squat, time to stabilisation.",
    )
    p.add_argument("file", type=Path, help="raw CSV (as exported by the station) or .c3d file")
    p.add_argument("--protocol", required=True, help=f"one of: {', '.join(PROTOCOL_NAMES)}")
    p.add_argument("--leg", help="stance leg of single-leg protocols: left or right")
    p.add_argument("--geometry", type=Path, help="plate geometry JSON (default: the standard station plates)")
    p.add_argument("--body-mass", type=float, dest="body_mass", help="body mass in kg (default: measured weight)")
    p.add_argument("--plates", help="C3D only: platform numbers for left,right, e.g. 2,4")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=run)


def _plates(text: str | None) -> tuple[int, int]:
    if text is None:
        raise InputError("a C3D file needs --plates L,R (the platform numbers under the left and right foot)",
                         hint="Example: --plates 2,4")
    parts = text.split(",")
    try:
        left, right = (int(v) for v in parts)
    except ValueError:
        raise InputError(f"--plates {text!r} must be two platform numbers like 2,4") from None
    return left, right


def run(args: argparse.Namespace) -> int:
    from station.analysis import analyze_corner_loads, analyze_plates
    from station.analysis.filters import TimestampGapError

    if args.protocol not in PROTOCOL_NAMES:
        raise InputError(f"unknown protocol {args.protocol!r}", hint=f"Use one of: {', '.join(PROTOCOL_NAMES)}.")
    if args.leg is not None and args.leg not in ("left", "right"):
        raise InputError(f"unknown leg {args.leg!r}", hint="Use --leg left or --leg right.")
    if not args.file.is_file():
        raise InputError(f"file {args.file} does not exist")
    t0 = time.perf_counter()
    print(f"reading {args.file} ...", file=sys.stderr, flush=True)
    if args.file.suffix.lower() == ".c3d":
        from station.c3d_input import read_c3d_plates

        t, fz, cop = read_c3d_plates(args.file, plates=_plates(args.plates))
        result = analyze_plates(t, fz, cop, protocol=args.protocol, leg=args.leg, body_mass_kg=args.body_mass)
        n = len(t)
    else:
        from station.rawcsv import read_raw_csv

        geometry = Geometry()
        if args.geometry is not None:
            try:
                geometry = Geometry.from_json_file(args.geometry)
            except ValueError as exc:
                raise InputError(str(exc), hint="See docs/analysis.md for the geometry JSON format.") from None
        rec = read_raw_csv(args.file)
        n = len(rec.t_s)
        if rec.t_s[-1] - rec.t_s[0] < 1.0:
            first, last = rec.data_lines or (None, None)
            raise InputError(
                f"only {rec.t_s[-1] - rec.t_s[0]:.3f} s of data (rows {first}-{last}); the analysis needs at least 1 s",
                line=last, column=1, hint="Record a longer trial.",
            )
        try:
            result = analyze_corner_loads(
                rec.t_s, rec.loads_n, geometry=geometry, protocol=args.protocol,
                leg=args.leg, body_mass_kg=args.body_mass,
            )
        except TimestampGapError as exc:  # name the file's line of the sample after the gap
            first = rec.data_lines[0] if rec.data_lines else None
            line = None if first is None else first + exc.index
            raise InputError(exc.message, line=line, column=1 if line else None, hint=exc.hint) from None
    print(f"analysed {n} frames in {time.perf_counter() - t0:.2f} s", file=sys.stderr, flush=True)
    try:
        print(json.dumps(result, indent=2) if args.json else summary(result), flush=True)
    except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _fmt(v: Any, unit: str = "", nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}{(' ' + unit) if unit else ''}"


def summary(r: dict[str, Any]) -> str:
    """A short human-readable summary of an analysis result."""
    lines = [
        f"protocol {r['protocol']}, {r['duration_s']:.1f} s at {r['sample_rate_hz']:.1f} Hz, "
        f"body weight {_fmt(r['body_weight_n'], 'N', 0)}",
        f"contacts: {len(r['contacts'])}; stance symmetry index {_fmt(r['stance_symmetry_index_pct'], '%')}; "
        f"left share of weight {_fmt(r['weight_left_pct'], '%')}",
    ]
    if r["sway"]:
        s = r["sway"]
        lines.append(
            f"sway: ML RMS {_fmt(s['ml_rms_mm'], 'mm')}, AP RMS {_fmt(s['ap_rms_mm'], 'mm')}, "
            f"mean velocity {_fmt(s['mean_velocity_mm_s'], 'mm/s')}, ellipse {_fmt(s['ellipse95_area_mm2'], 'mm2', 0)}"
        )
    if r["ml_shift_mm"] is not None:
        lines.append(f"ML shift: {r['ml_shift_mm']:+.1f} mm")
    if r["single_leg"]:
        sl = r["single_leg"]
        lines.append(f"single leg ({sl['leg']}): touch-downs {sl['touchdowns']}, time to touch-down {_fmt(sl['time_to_touchdown_s'], 's', 2)}")
    if r["squat"]:
        sq = r["squat"]
        lines.append(f"squat: {len(sq['reps'])} reps, touch-downs {sq['touchdowns']}, stability score {_fmt(sq['stability_score'], '', 0)}")
    if r["time_to_stabilization_s"] is not None:
        lines.append(f"time to stabilisation: {r['time_to_stabilization_s']:.2f} s")
    lines += [f"warning: {w}" for w in r["warnings"]]
    return "\n".join(lines)
