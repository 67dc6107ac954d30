"""The analysis outputs the renovation (issue 14) must leave unchanged.

Each case runs the station's own entry points (``station analyze`` for the files in
``tests/data``, the simulator plus :func:`station.analysis.analyze_corner_loads` for seeded
simulated trials) and returns the analysis JSON. ``tests/data/golden/*.json`` holds the
outputs from before the renovation; ``python -m tests.golden.cases --write`` rewrites them
(only for a change of behaviour that is intended and named in its commit).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = DATA / "golden"


def _cli_json(*argv: str) -> dict[str, Any]:
    from station.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["analyze", *argv, "--json"])
    if code not in (0, None):
        raise RuntimeError(f"station analyze {' '.join(argv)} exited {code}")
    return json.loads(out.getvalue())


def _walk_c3d() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        with zipfile.ZipFile(DATA / "real" / "walk.c3d.zip") as z:
            z.extract("walk.c3d", d)
        return _cli_json(str(Path(d) / "walk.c3d"), "--plates", "2,4", "--protocol", "stepping")


def _sim(protocol: str, seed: int, leg: str | None, **options: Any) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from hardware.sim import simulate_trial
        from station.analysis import analyze_corner_loads

        trial = simulate_trial(protocol, seed=seed, leg=leg, **options)
        return analyze_corner_loads(
            trial.t_s, trial.loads_n, geometry=trial.geometry, protocol=protocol,
            leg=trial.leg if leg is not None else None, invalid=trial.invalid,
        )

    return run


def _sim_squat_video(seed: int, leg: str) -> Callable[[], dict[str, Any]]:
    """A simulated squat set filmed by the simulated camera: force analysis, then the
    per-rep pelvic drop and knee FPPA tracked in the rendered frames, then the score."""

    def run() -> dict[str, Any]:
        import numpy as np

        from hardware.sim import simulate_trial
        from hardware.sim.camera import SimCamera, TruthMotion
        from station.analysis import analyze_corner_loads
        from station.analysis.kinematics import frontal_kinematics, rep_kinematics
        from station.analysis.markers import track_markers
        from station.analysis.squat import stability_score_from_reps

        trial = simulate_trial("single_leg_squat", seed=seed, leg=leg, reps=2)
        result = analyze_corner_loads(trial.t_s, trial.loads_n, geometry=trial.geometry,
                                      protocol="single_leg_squat", leg=leg, invalid=trial.invalid)
        t0_ns = int(trial.t_ns[0] - round(trial.t_s[0] * 1e9))
        cam = SimCamera(TruthMotion(trial.truth), seed=seed, t0_ns=t0_ns, paced=False, occlusions_per_s=0.5)
        frames = [cam.read_frame() for _ in range(int(trial.truth.duration_s * cam.fps))]
        positions, _ = track_markers(f.image for f in frames)
        t_s = (np.array([f.t_ns for f in frames], dtype=np.int64) - int(trial.t_ns[0])) / 1e9
        angles = frontal_kinematics(positions, stance_leg=leg)  # type: ignore[arg-type]
        reps = result["squat"]["reps"]
        per_rep = rep_kinematics(t_s, angles["pelvic_obliquity_deg"], angles["knee_fppa_deg"], reps=reps)
        for rep, kin in zip(reps, per_rep, strict=False):
            rep.update({k: v for k, v in kin.items() if k not in ("start_s", "end_s")})
        result["squat"]["stability_score_with_video"] = stability_score_from_reps(
            reps, touchdowns=int(result["squat"].get("touchdowns") or 0))
        return result

    return run


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "hand_written_single_leg_stance": lambda: _cli_json(
        str(DATA / "hand_written_trial.csv"), "--protocol", "single_leg_stance", "--leg", "left"),
    "hand_written_body_mass": lambda: _cli_json(
        str(DATA / "hand_written_trial.csv"), "--protocol", "bilateral_stance", "--body-mass", "71.5"),
    "kistler_quiet_stance": lambda: _cli_json(
        str(DATA / "real" / "kistler_quiet_stance.csv"), "--protocol", "single_leg_stance", "--leg", "left",
        "--geometry", str(DATA / "real" / "kistler_geometry.json")),
    "walk_80hz_stepping": lambda: _cli_json(
        str(DATA / "real" / "walk_80hz.csv"), "--protocol", "stepping",
        "--geometry", str(DATA / "real" / "walk_geometry.json")),
    "walk_c3d_stepping": _walk_c3d,
    "sim_bilateral_stance_1": _sim("bilateral_stance", 1, None),
    "sim_bilateral_stance_2": _sim("bilateral_stance", 2, None),
    "sim_weight_shift_left_3": _sim("weight_shift", 3, "left"),
    "sim_weight_shift_right_4": _sim("weight_shift", 4, "right"),
    "sim_single_leg_stance_left_5": _sim("single_leg_stance", 5, "left"),
    "sim_single_leg_stance_right_6": _sim("single_leg_stance", 6, "right"),
    "sim_single_leg_squat_left_7": _sim("single_leg_squat", 7, "left"),
    "sim_single_leg_squat_right_8": _sim("single_leg_squat", 8, "right", reps=3),
    "sim_stepping_9": _sim("stepping", 9, None),
    "sim_hop_and_stick_left_10": _sim("hop_and_stick", 10, "left"),
    "sim_hop_and_stick_right_11": _sim("hop_and_stick", 11, "right"),
    "sim_single_leg_stance_faults_12": _sim(
        "single_leg_stance", 12, "left", faults=[{"channel": "left_fr", "kind": "dead", "start_s": 3.0}]),
    "sim_squat_video_left_13": _sim_squat_video(13, "left"),
    "sim_squat_video_right_14": _sim_squat_video(14, "right"),
}


def write() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, case in CASES.items():
        (GOLDEN / f"{name}.json").write_text(json.dumps(case(), indent=1, sort_keys=True) + "\n")
        print("wrote", name, file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.golden.cases --write")
    write()
