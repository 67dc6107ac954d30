"""``station simulate``: write a simulated trial as the raw CSV plus its ground truth JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from station.core.errors import InputError
from station.core.protocols import PROTOCOL_NAMES

#: The station's protocols plus the simulator's extra ``hopping`` (kept here so that
#: ``station --help`` does not import numpy/scipy).
SIM_PROTOCOLS = (*PROTOCOL_NAMES, "hopping")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="write a simulated trial (raw CSV) and its ground truth (JSON)",
        description=(
            "Simulate an athlete doing PROTOCOL on the two plates and write the frames as the "
            "station's raw CSV (newtons per cell) and the noise-free ground truth as JSON. "
            "The same --seed always gives the same trial. See docs/simulator.md."
        ),
    )
    p.add_argument("protocol", metavar="PROTOCOL", help=f"one of: {', '.join(SIM_PROTOCOLS)}")
    p.add_argument("--leg", default=None, help="stance leg of single-leg protocols (default left); the first foot to lift when stepping")
    p.add_argument("--seed", default="1", help="random seed (integer, default 1)")
    p.add_argument("--duration", default=None, help="seconds (default: the protocol's natural length)")
    p.add_argument("--rate", default="80", help="frame rate in Hz, 10-1000 (default 80)")
    p.add_argument("--body-mass", default="70", help="athlete's mass in kg (default 70)")
    p.add_argument("--out", default=None, help="CSV file to write (default: PROTOCOL-seedN.csv)")
    p.add_argument("--truth", default=None, help="ground-truth JSON file (default: the CSV name with .truth.json)")
    p.add_argument(
        "--option", "-o", action="append", default=[], metavar="KEY=VALUE",
        help="protocol option, e.g. -o reps=8 -o touchdown_prob=0.3 (repeatable)",
    )
    p.set_defaults(func=run)


def _number(text: str, flag: str, kind: type = float) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise InputError(f"{flag} must be a {'whole ' if kind is int else ''}number, got {text!r}") from None


def _option(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise InputError(f"--option must look like KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a plain string such as start=off_plate
    return key.strip(), value


def run(args: argparse.Namespace) -> int:
    from hardware.sim import simulate_trial

    if args.protocol not in SIM_PROTOCOLS:
        raise InputError(f"unknown protocol {args.protocol!r}", hint=f"Use one of: {', '.join(SIM_PROTOCOLS)}.")
    if args.leg not in (None, "left", "right"):
        raise InputError(f"--leg must be left or right, got {args.leg!r}")
    seed = _number(args.seed, "--seed", int)
    duration = None if args.duration is None else _number(args.duration, "--duration")
    rate = _number(args.rate, "--rate")
    mass = _number(args.body_mass, "--body-mass")
    options = dict(_option(o) for o in args.option)
    out = Path(args.out) if args.out else Path(f"{args.protocol}-seed{seed}.csv")
    truth_path = Path(args.truth) if args.truth else out.with_suffix(".truth.json")
    for path in (out, truth_path):
        if not path.parent.is_dir():
            raise InputError(f"directory {path.parent} does not exist", hint="Create it or choose another path.")
    print(f"simulating {args.protocol} (seed {seed}) ...", file=sys.stderr, flush=True)
    try:
        trial = simulate_trial(
            args.protocol, seed=seed, leg=args.leg, duration_s=duration, rate_hz=rate,
            body_mass_kg=mass, **options,
        )
    except TypeError as exc:  # an option of the wrong type
        raise InputError(f"bad protocol option: {exc}") from None
    trial.to_csv(out)
    truth_path.write_text(json.dumps(trial.truth_dict(series=True), indent=1, allow_nan=False) + "\n")
    t = trial.truth
    print(
        f"wrote {out} ({len(trial.t_s)} frames, {t.duration_s:.1f} s at {rate:g} Hz) and {truth_path} "
        f"({len(t.contacts)} contacts, {len(t.reps)} reps, {len(t.touchdowns)} touch-downs)",
        file=sys.stderr,
    )
    return 0
