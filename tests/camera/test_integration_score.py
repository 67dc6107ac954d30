"""The squat stability score with the camera's angles: known answers, monotonicity, and the
force-only score untouched when there is no video."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.analysis.squat import (
    FPPA_HEALTHY_MAX_DEG,
    PELVIC_DROP_HEALTHY_MAX_DEG,
    SCORE_HALF_FPPA_DEG,
    SCORE_HALF_PELVIC_DROP_DEG,
    stability_score,
    stability_score_from_reps,
)

FORCE = {"ml_rms_mm": 5.0, "mean_velocity_mm_s": 80.0, "touchdowns": 0}


def test_known_answers() -> None:
    # 2 ** -(5/10 + 80/200) = 2 ** -0.9
    force_only = 100 * 2 ** -0.9
    assert stability_score(**FORCE) == pytest.approx(force_only)
    # Within the healthy range the camera angles cost nothing.
    assert stability_score(**FORCE, peak_pelvic_drop_deg=3.0, peak_fppa_deg=8.0) == pytest.approx(force_only)
    # 8 degrees of drop = 4 beyond the healthy 4: half the score.
    assert stability_score(**FORCE, peak_pelvic_drop_deg=8.0) == pytest.approx(force_only / 2)
    # FPPA 22 degrees = 9 beyond the healthy 13: half the score; both together: a quarter.
    assert stability_score(**FORCE, peak_fppa_deg=22.0) == pytest.approx(force_only / 2)
    assert stability_score(**FORCE, peak_pelvic_drop_deg=8.0, peak_fppa_deg=22.0) == pytest.approx(force_only / 4)
    # The group mean of patellofemoral pain (17 degrees): 2 ** -(4/9).
    assert stability_score(**FORCE, peak_fppa_deg=17.0) == pytest.approx(force_only * 2 ** (-4 / 9))
    # Perfect squat, level pelvis, knee straight: 100.
    assert stability_score(ml_rms_mm=0, mean_velocity_mm_s=0, touchdowns=0,
                           peak_pelvic_drop_deg=-2.0, peak_fppa_deg=0.0) == 100.0


def test_thresholds_follow_the_domain_notes() -> None:
    # healthy FPPA 8 +- 5 degrees: no penalty up to mean + 1 SD; PFP 17 vs healthy 8: 9 degrees halve it
    assert FPPA_HEALTHY_MAX_DEG == 8.0 + 5.0 and SCORE_HALF_FPPA_DEG == 17.0 - 8.0
    assert PELVIC_DROP_HEALTHY_MAX_DEG > 0 and SCORE_HALF_PELVIC_DROP_DEG > 0


def test_missing_angles_leave_the_force_score() -> None:
    base = stability_score(**FORCE)
    assert stability_score(**FORCE, peak_pelvic_drop_deg=None, peak_fppa_deg=None) == base
    assert stability_score(**FORCE, peak_pelvic_drop_deg=math.nan, peak_fppa_deg=math.nan) == base


def test_score_from_reps() -> None:
    force_reps = [
        {"ml_rms_mm": 4.0, "mean_velocity_mm_s": 60.0},
        {"ml_rms_mm": 6.0, "mean_velocity_mm_s": 100.0},
        {"ml_rms_mm": None, "mean_velocity_mm_s": None},  # CoP missing: left out of the means
    ]
    assert stability_score_from_reps(force_reps, touchdowns=1) == pytest.approx(stability_score(**{**FORCE, "touchdowns": 1}))
    assert stability_score_from_reps([{"ml_rms_mm": None, "mean_velocity_mm_s": 1.0}], touchdowns=0) is None
    # With the video: the means of the per-rep peaks (a rep the camera missed is left out).
    video_reps = [
        {**force_reps[0], "peak_pelvic_drop_deg": 6.0, "peak_fppa_deg": 20.0},
        {**force_reps[1], "peak_pelvic_drop_deg": 10.0, "peak_fppa_deg": None},
    ]
    expected = stability_score(**FORCE, peak_pelvic_drop_deg=8.0, peak_fppa_deg=20.0)
    assert stability_score_from_reps(video_reps, touchdowns=0) == pytest.approx(expected)
    assert expected == pytest.approx(stability_score(**FORCE) / 2 * 2 ** (-7 / 9))


angles = st.floats(min_value=-20.0, max_value=60.0, allow_nan=False)
force = st.fixed_dictionaries({
    "ml_rms_mm": st.floats(0.0, 60.0), "mean_velocity_mm_s": st.floats(0.0, 800.0), "touchdowns": st.integers(0, 5),
})


@settings(max_examples=300, deadline=None)
@given(force, angles, angles, st.floats(0.0, 30.0), st.floats(0.0, 30.0))
def test_score_never_rises_with_more_drop_or_valgus(
    f: dict[str, float], drop: float, fppa: float, more_drop: float, more_fppa: float
) -> None:
    s = stability_score(**f, peak_pelvic_drop_deg=drop, peak_fppa_deg=fppa)  # type: ignore[arg-type]
    assert 0.0 <= s <= 100.0
    assert stability_score(**f, peak_pelvic_drop_deg=drop + more_drop, peak_fppa_deg=fppa) <= s  # type: ignore[arg-type]
    assert stability_score(**f, peak_pelvic_drop_deg=drop, peak_fppa_deg=fppa + more_fppa) <= s  # type: ignore[arg-type]
    # never above the force-only score, and strictly below it beyond the healthy values
    force_only = stability_score(**f)  # type: ignore[arg-type]
    assert s <= force_only
    if force_only > 1e-6 and (drop > PELVIC_DROP_HEALTHY_MAX_DEG + 0.5 or fppa > FPPA_HEALTHY_MAX_DEG + 0.5):
        assert s < force_only
