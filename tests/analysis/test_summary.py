"""The left/right summary on hand-made trials with known answers: values, differences,
the weaker side per metric (direction from station.core.reference), badges."""

from __future__ import annotations

from typing import Any

import pytest

from station.analysis.summary import badges, compare, hold_time_s, session_summary
from station.core.reference import BANDS, SUMMARY_METRICS, bands_for


def stance(tid: int, leg: str, *, area: float, vel: float, ml: float, ttd: float | None, touchdowns: int,
           status: str = "saved", duration_s: float = 20.0, asked_s: float = 20.0) -> dict[str, Any]:
    return {
        "id": tid, "protocol": "single_leg_stance", "leg": leg, "status": status,
        "options": {"duration_s": asked_s},
        "metrics": {
            "duration_s": duration_s,
            "single_leg": {"leg": leg, "lift_off_s": 2.0, "time_to_touchdown_s": ttd, "touchdowns": touchdowns},
            "sway": {"ellipse95_area_mm2": area, "mean_velocity_mm_s": vel, "ml_range_mm": ml},
        },
    }


def squat(tid: int, leg: str, *, n_reps: int, drop: float | None, fppa: float | None, score: float,
          force_score: float | None, asked: int = 3) -> dict[str, Any]:
    sq: dict[str, Any] = {"reps": [{"start_s": float(k)} for k in range(n_reps)], "touchdowns": 0,
                          "stability_score": score}
    if force_score is not None:
        sq["stability_score_force_only"] = force_score
        sq["video"] = {"max_pelvic_drop_deg": drop, "max_fppa_deg": fppa}
    return {
        "id": tid, "protocol": "single_leg_squat", "leg": leg, "status": "saved", "options": {"reps": asked},
        "metrics": {"duration_s": 15.0, "single_leg": {"leg": leg, "lift_off_s": 2.0, "time_to_touchdown_s": None,
                                                        "touchdowns": 0},
                    "sway": {"ellipse95_area_mm2": 500.0, "mean_velocity_mm_s": 40.0, "ml_range_mm": 30.0},
                    "squat": sq},
    }


def rows_of(summary: dict[str, Any], protocol: str) -> dict[str, dict[str, Any]]:
    test = next(t for t in summary["tests"] if t["protocol"] == protocol)
    return {r["metric"]: r for r in test["rows"]}


def test_compare_direction_and_symmetry() -> None:
    assert compare(30.0, 9.7, worse="lower") == pytest.approx(
        {"difference": 20.3, "higher": "left", "weaker": "right", "limb_symmetry_pct": 100 * 9.7 / 30.0})
    assert compare(400.0, 200.0, worse="higher")["weaker"] == "left"
    assert compare(5.0, 5.0, worse="higher") == {"difference": 0.0, "higher": None, "weaker": None,
                                                   "limb_symmetry_pct": 100.0}
    assert compare(None, 3.0, worse="higher")["weaker"] is None
    assert compare(0.0, 2.0, worse="higher")["limb_symmetry_pct"] is None  # undefined at zero


def test_hold_time_is_time_to_touchdown_or_the_rest_of_the_recording() -> None:
    assert hold_time_s(stance(1, "left", area=1, vel=1, ml=1, ttd=7.7, touchdowns=1)["metrics"]) == 7.7
    assert hold_time_s(stance(1, "left", area=1, vel=1, ml=1, ttd=None, touchdowns=0)["metrics"]) == 18.0
    assert hold_time_s({"single_leg": None}) is None


def test_issue_example_left_held_30_s_right_touched_down_at_9_7_s() -> None:
    # The walk in issue 17: left held, right touched down at 9.7 s; the old screen showed
    # only "sway area LSI 3 %". The summary says right is weaker on hold time and touch-downs.
    trials = [
        stance(1, "left", area=400.0, vel=30.0, ml=25.0, ttd=None, touchdowns=0, duration_s=32.0, asked_s=32.0),
        stance(2, "right", area=412.0, vel=45.0, ml=40.0, ttd=9.7, touchdowns=1, duration_s=12.0, asked_s=32.0),
    ]
    rows = rows_of(session_summary(trials), "single_leg_stance")
    assert list(rows) == ["hold_time_s", "touchdowns", "sway_area_mm2", "mean_velocity_mm_s", "ml_range_mm"]
    assert rows["hold_time_s"]["left"] == 30.0 and rows["hold_time_s"]["right"] == 9.7
    assert rows["hold_time_s"]["difference"] == pytest.approx(20.3)
    assert rows["hold_time_s"]["weaker"] == "right" and rows["hold_time_s"]["below_symmetry_target"] is True
    assert rows["touchdowns"]["weaker"] == "right" and rows["touchdowns"]["difference"] == -1
    assert rows["sway_area_mm2"]["weaker"] == "right"
    assert rows["sway_area_mm2"]["limb_symmetry_pct"] == pytest.approx(100 * 400 / 412)
    assert rows["sway_area_mm2"]["below_symmetry_target"] is False  # 97 %: within the usual 90 %
    assert rows["mean_velocity_mm_s"]["weaker"] == "right" and rows["ml_range_mm"]["weaker"] == "right"


def test_squat_rows_scores_and_video() -> None:
    trials = [
        squat(1, "left", n_reps=3, drop=9.0, fppa=18.0, score=30.0, force_score=45.0),
        squat(2, "right", n_reps=3, drop=4.0, fppa=9.0, score=52.0, force_score=50.0),
    ]
    rows = rows_of(session_summary(trials), "single_leg_squat")
    assert rows["peak_pelvic_drop_deg"]["left"] == 9.0 and rows["peak_pelvic_drop_deg"]["weaker"] == "left"
    assert rows["peak_pelvic_drop_deg"]["difference"] == 5.0
    # beyond the 2-D measure's smallest detectable difference (2.8 degrees, Dingenen 2018)
    assert rows["peak_pelvic_drop_deg"]["measurement_error"] == 2.8
    assert rows["peak_pelvic_drop_deg"]["within_measurement_error"] is False
    assert rows["peak_fppa_deg"]["within_measurement_error"] is None  # no published SDD held here
    assert rows["peak_fppa_deg"]["weaker"] == "left"
    assert (rows["stability_score_force_only"]["left"], rows["stability_score_force_only"]["right"]) == (45.0, 50.0)
    assert (rows["stability_score_with_video"]["left"], rows["stability_score_with_video"]["right"]) == (30.0, 52.0)
    assert rows["stability_score_with_video"]["weaker"] == "left"  # lower score is worse
    # without video: the only score is force-only; no video rows
    no_video = [squat(3, "left", n_reps=3, drop=None, fppa=None, score=40.0, force_score=None),
                squat(4, "right", n_reps=3, drop=None, fppa=None, score=60.0, force_score=None)]
    rows = rows_of(session_summary(no_video), "single_leg_squat")
    assert rows["stability_score_force_only"]["left"] == 40.0
    assert rows["stability_score_with_video"]["left"] is None and rows["peak_fppa_deg"]["weaker"] is None


def test_incomplete_trials_are_badged_and_left_out() -> None:
    good_left = squat(1, "left", n_reps=3, drop=6.0, fppa=10.0, score=40.0, force_score=42.0)
    short_right = squat(2, "right", n_reps=1, drop=2.0, fppa=5.0, score=70.0, force_score=71.0)  # 1 of 3
    assert badges(short_right) == ["fewer_reps"]
    interrupted = stance(3, "left", area=1.0, vel=1.0, ml=1.0, ttd=None, touchdowns=0, status="interrupted")
    assert badges(interrupted) == ["status_interrupted"]
    stopped = stance(4, "right", area=1.0, vel=1.0, ml=1.0, ttd=None, touchdowns=0, duration_s=8.0, asked_s=20.0)
    assert badges(stopped) == ["stopped_early"]
    touched = stance(5, "right", area=1.0, vel=1.0, ml=1.0, ttd=3.0, touchdowns=1, duration_s=6.0, asked_s=20.0)
    assert badges(touched) == []  # a touch-down is a result, not an incomplete trial
    assert badges({"id": 6, "protocol": "single_leg_stance", "leg": "left", "status": "failed",
                   "metrics": None}) == ["status_failed", "no_metrics"]

    summary = session_summary([good_left, short_right, interrupted, stopped])
    squat_test = next(t for t in summary["tests"] if t["protocol"] == "single_leg_squat")
    assert squat_test["left_trial_id"] == 1 and squat_test["right_trial_id"] is None
    assert {t["id"]: (t["badges"], t["used"]) for t in squat_test["trials"]} == {
        1: ([], True), 2: (["fewer_reps"], False)}
    rows = {r["metric"]: r for r in squat_test["rows"]}
    assert rows["peak_pelvic_drop_deg"]["left"] == 6.0 and rows["peak_pelvic_drop_deg"]["right"] is None
    assert rows["peak_pelvic_drop_deg"]["weaker"] is None  # nothing to compare with
    close = session_summary([squat(7, "left", n_reps=3, drop=6.0, fppa=10.0, score=40.0, force_score=42.0),
                             squat(8, "right", n_reps=3, drop=4.0, fppa=10.0, score=40.0, force_score=42.0)])
    row = rows_of(close, "single_leg_squat")["peak_pelvic_drop_deg"]
    assert (row["weaker"], row["within_measurement_error"]) == ("left", True)  # 2 degrees: within the SDD
    stance_test = next(t for t in summary["tests"] if t["protocol"] == "single_leg_stance")
    assert stance_test["left_trial_id"] is None and stance_test["right_trial_id"] is None


def test_the_latest_complete_trial_of_each_leg_is_compared() -> None:
    trials = [stance(1, "left", area=900.0, vel=1, ml=1, ttd=None, touchdowns=0),
              stance(2, "left", area=300.0, vel=1, ml=1, ttd=None, touchdowns=0),
              stance(3, "right", area=600.0, vel=1, ml=1, ttd=None, touchdowns=0)]
    rows = rows_of(session_summary(trials), "single_leg_stance")
    assert (rows["sway_area_mm2"]["left"], rows["sway_area_mm2"]["weaker"]) == (300.0, "right")


def test_reference_table_is_consistent() -> None:
    keys = [m.key for m in SUMMARY_METRICS]
    assert len(keys) == len(set(keys))
    assert {m.key: m.worse for m in SUMMARY_METRICS}["hold_time_s"] == "lower"
    assert [b.key for b in bands_for("peak_fppa_deg")] == ["fppa_healthy", "fppa_patellofemoral_pain"]
    assert all(b.source and b.population for b in BANDS)
    # the squat score's camera thresholds come from the FPPA bands (rounded group means)
    from station.analysis import squat as sq
    assert (sq.FPPA_HEALTHY_MAX_DEG, sq.SCORE_HALF_FPPA_DEG) == (13.0, 9.0)


def test_every_band_and_row_has_a_label_in_both_languages() -> None:
    import json
    from pathlib import Path

    i18n = Path(__file__).resolve().parents[2] / "api" / "static" / "i18n"
    for lang in ("en", "nl"):
        labels = json.loads((i18n / f"{lang}.json").read_text(encoding="utf-8"))
        missing = [k for k in [*(b.label_key for b in BANDS), *(m.label_key for m in SUMMARY_METRICS)] if k not in labels]
        assert not missing, (lang, missing)
