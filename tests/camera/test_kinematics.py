"""Pelvic obliquity and FPPA from hand-made marker positions with known angles."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.kinematics import (
    frontal_kinematics,
    knee_fppa_deg,
    peak_per_rep,
    pelvic_obliquity_deg,
    rep_kinematics,
)


def _rot(p: np.ndarray, deg: float, about: np.ndarray) -> np.ndarray:
    a = np.deg2rad(deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (p - about) @ r.T + about


def test_drop_on_the_unsupported_side_is_positive() -> None:
    # Camera in front: athlete's left ASIS on the image right. Stance left, right side drops 5 deg.
    stance = np.array([400.0, 100.0])
    swing = stance + 100 * np.array([-np.cos(np.deg2rad(5)), np.sin(np.deg2rad(5))])  # lower = larger v
    assert pelvic_obliquity_deg(stance, swing) == pytest.approx(5.0)
    assert pelvic_obliquity_deg(swing, stance) == pytest.approx(-5.0)  # the stance side is the lower


def test_view_from_behind_gives_the_same_sign() -> None:
    stance = np.array([200.0, 100.0])  # from behind, the left ASIS is on the image left
    swing = stance + 100 * np.array([np.cos(np.deg2rad(4)), np.sin(np.deg2rad(4))])
    assert pelvic_obliquity_deg(stance, swing) == pytest.approx(4.0)


def test_roll_correction() -> None:
    stance = np.array([400.0, 100.0])
    swing = stance + 100 * np.array([-np.cos(np.deg2rad(5)), np.sin(np.deg2rad(5))])
    centre = np.array([320.0, 240.0])
    s2, w2 = _rot(stance, 3.0, centre), _rot(swing, 3.0, centre)  # camera rolled 3 deg
    assert abs(pelvic_obliquity_deg(s2, w2) - 5.0) > 2.5
    assert pelvic_obliquity_deg(s2, w2, roll_deg=3.0) == pytest.approx(5.0)


@pytest.mark.parametrize("medial_sign", [1.0, -1.0])  # other pelvis marker on either side
@pytest.mark.parametrize("fppa", [12.0, -7.0, 0.0])
def test_fppa_sign_follows_the_medial_side(fppa: float, medial_sign: float) -> None:
    hip = np.array([300.0, 100.0])
    # thigh straight down, shank turned so the knee angle deviates by |fppa|
    knee = hip + np.array([0.0, 180.0])
    # valgus: knee medial of the hip-ankle line -> the ankle lies lateral of the thigh line
    turn = -medial_sign * np.sign(fppa) * np.deg2rad(abs(fppa))
    ankle = knee + 170 * np.array([np.sin(turn), np.cos(turn)])
    medial_ref = hip + np.array([medial_sign * 100.0, 0.0])
    assert knee_fppa_deg(hip, knee, ankle, medial_ref_px=medial_ref) == pytest.approx(fppa, abs=1e-9)


def test_fppa_is_roll_invariant() -> None:
    hip, knee, ankle, other = (np.array(p, float) for p in ([300, 100], [320, 280], [295, 450], [400, 105]))
    base = knee_fppa_deg(hip, knee, ankle, medial_ref_px=other)
    c = np.array([320.0, 240.0])
    rolled = knee_fppa_deg(*(_rot(p, 6.0, c) for p in (hip, knee, ankle)), medial_ref_px=_rot(other, 6.0, c))
    assert rolled == pytest.approx(base)
    assert base > 10  # knee at u=320 lies towards the other hip (u=400): valgus


def test_missing_marker_gives_nan() -> None:
    pos = np.array([[[400, 100], [300, 110], [np.nan, np.nan], [330, 450]]], float)
    k = frontal_kinematics(pos, stance_leg="left")
    assert np.isfinite(k["pelvic_obliquity_deg"]).all()
    assert np.isnan(k["knee_fppa_deg"]).all()


def test_stance_leg_selects_the_markers() -> None:
    # pelvis_left (image right) higher than pelvis_right: a right drop
    pos = np.array([[[400, 100], [300, 110], [390, 280], [395, 450]]], float)
    left = frontal_kinematics(pos, stance_leg="left")["pelvic_obliquity_deg"][0]
    right = frontal_kinematics(pos, stance_leg="right")["pelvic_obliquity_deg"][0]
    assert left == pytest.approx(np.rad2deg(np.arctan2(10, 100)))
    assert right == pytest.approx(-left)
    with pytest.raises(ValueError, match="stance_leg"):
        frontal_kinematics(pos, stance_leg="both")  # type: ignore[arg-type]


def test_peak_per_rep_windows_and_coverage() -> None:
    t = np.arange(0, 10, 1 / 30)
    angle = 3 + 5 * np.sin(np.pi * np.clip((t - 2) / 2, 0, 1)) + 9 * np.sin(np.pi * np.clip((t - 6) / 2, 0, 1))
    angle[(t > 6.2) & (t < 7.9)] = np.nan  # the second rep mostly hidden
    reps = [{"start_s": 2.0, "end_s": 4.0}, {"start_s": 6.0, "end_s": 8.0}]
    out = peak_per_rep(angle, t, reps=reps)
    assert out[0]["peak_deg"] == pytest.approx(8.0, abs=0.01)
    assert out[0]["t_peak_s"] == pytest.approx(3.0, abs=1 / 30)
    assert out[1]["peak_deg"] is None and out[1]["coverage"] < 0.2  # no peak from a hidden rep
    both = rep_kinematics(t, angle, angle, reps=reps[:1])
    assert both[0]["peak_pelvic_drop_deg"] == both[0]["peak_fppa_deg"] == out[0]["peak_deg"]
    with pytest.raises(ValueError, match="shape"):
        peak_per_rep(angle[:-1], t, reps=reps)
