"""The end of a squat set does not depend on how the frames arrived: a recorder that was
starved and reads a long stretch at once ends the trial where one reading every 0.1 s does
(before, counting on the whole long record could find a repetition more and end seconds
late: 8.6 s after the last rep in a loaded CI run)."""

from __future__ import annotations

import numpy as np
import pytest

from hardware.sim import simulate_trial
from station.analysis import analyze_corner_loads
from station.protocol_runner import EndCondition, EndDecision


def _fz(trial):  # type: ignore[no-untyped-def]
    loads = trial.loads_n
    return np.column_stack([loads[:, :4].sum(axis=1), loads[:, 4:].sum(axis=1)])


def _run(t_s: np.ndarray, fz: np.ndarray, reps: int, leg: str, step_s: float | None) -> EndDecision | None:
    end = EndCondition("single_leg_squat", leg, {"reps": reps, "duration_s": 40.0}, rate_hz=80.0)
    if step_s is None:  # everything at once, as a starved recorder reads it
        return end.check(t_s, fz)
    stop = step_s
    while stop <= t_s[-1] + step_s:
        n = int(np.searchsorted(t_s, stop, side="right"))
        decision = end.check(t_s[:n], fz[:n])
        if decision is not None:
            return decision
        stop += step_s
    return None


@pytest.mark.parametrize(("seed", "leg", "reps"), [(6, "left", 3), (0, "left", 2), (8, "right", 1), (3, "right", 4)])
def test_the_end_of_a_squat_set_does_not_depend_on_batching(seed: int, leg: str, reps: int) -> None:
    trial = simulate_trial("single_leg_squat", seed=seed, leg=leg, reps=reps, duration_s=40.0)
    t_s, fz = trial.t_s - trial.t_s[0], _fz(trial)
    live = _run(t_s, fz, reps, leg, 0.1)
    assert live is not None and live.reason == f"{reps} repetitions done"
    for step_s in (None, 7.3, 1.0):
        other = _run(t_s, fz, reps, leg, step_s)
        assert other is not None and other.t_s == pytest.approx(live.t_s, abs=1e-9), step_s
    # the cut record is read as the wanted reps, and the end follows the last true rep
    n = int(np.searchsorted(t_s, live.t_s, side="right"))
    result = analyze_corner_loads(t_s[:n], trial.loads_n[:n], geometry=trial.geometry,
                                  protocol="single_leg_squat", leg=leg, invalid=trial.invalid[:n])
    assert len(result["squat"]["reps"]) == reps
    last_true_end_s = trial.truth.reps[reps - 1]["end_s"] - trial.t_s[0]
    assert last_true_end_s <= live.t_s + 0.1 < last_true_end_s + 6.0
