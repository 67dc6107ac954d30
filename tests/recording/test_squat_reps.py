"""A squat trial ended live after N repetitions is analysed as N repetitions.

The live end condition (station.protocol_runner) and the analysis of the saved trial
(station.analysis.report -> segment_reps) must agree: a real Recorder on the seeded
simulator records, the stored raw counts are analysed afterwards, and the count is
compared with the request and with the simulator's true repetitions.
"""

from __future__ import annotations

import numpy as np
import pytest

CASES = [(0, "left", 2), (1, "right", 2), (2, "left", 2), (4, "right", 2), (6, "left", 3), (8, "right", 1)]


@pytest.mark.parametrize(("seed", "leg", "reps"), CASES)
def test_saved_squat_trial_has_the_requested_reps(make_rig, seed: int, leg: str, reps: int) -> None:
    rig = make_rig(seed=seed)
    trial = rig.record("single_leg_squat", leg=leg, reps=reps)
    assert trial["status"] == "saved", trial
    assert f"{reps} repetitions done" in trial["message"]
    analysed = trial["metrics"]["squat"]["reps"]
    assert len(analysed) == reps
    # the simulated athlete did the repetitions asked for; the saved record holds them
    # whole (rise finished) and ends soon after the last (not at the 40 s cap)
    t_ns = rig.store.load_samples(trial["id"])[0]
    duration_s = float(t_ns[-1] - t_ns[0]) / 1e9
    truth = rig.source.scenario_truth
    assert truth is not None and len(truth.reps) == reps
    start_s = (rig.source.scenario_start_ns - int(t_ns[0])) / 1e9
    assert truth.reps[reps - 1]["end_s"] - start_s <= duration_s + 0.1
    assert duration_s < truth.reps[reps - 1]["end_s"] - start_s + 6.0
    # each analysed repetition overlaps its true counterpart
    for got, true in zip(analysed, truth.reps, strict=False):
        mid = (got["start_s"] + got["end_s"]) / 2
        assert true["start_s"] - start_s - 0.5 <= mid <= true["end_s"] - start_s + 0.5
    assert np.isfinite([r["end_s"] for r in analysed]).all()


@pytest.mark.parametrize("seed", [5, 9])
def test_a_record_stopped_mid_rise_counts_only_whole_reps(seed: int) -> None:
    """The operator may stop (or the duration end) a squat set during a rise: the
    analysis must not fail on it, and the unfinished repetition is not counted."""
    from hardware.sim import simulate_trial
    from station.analysis.report import analyze_corner_loads
    from station.core.geometry import Geometry

    trial = simulate_trial("single_leg_squat", seed=seed, leg="left", reps=3)
    second = trial.truth.reps[1]
    for frac in (0.6, 0.7):  # in the second rep's rise (near its end the speed is already low)
        cut = second["start_s"] + frac * (second["end_s"] - second["start_s"])
        k = int(np.searchsorted(trial.t_s, cut))
        metrics = analyze_corner_loads(trial.t_s[:k], trial.loads_n[:k], geometry=Geometry(),
                                       protocol="single_leg_squat", leg="left")
        reps = metrics["squat"]["reps"]
        assert len(reps) == 1, (frac, reps)
        assert reps[0]["end_s"] <= trial.t_s[k - 1]
        assert reps[0]["start_s"] < trial.truth.reps[0]["end_s"]
