"""The whole analysis on hand-made trials whose answers are known."""

import json

import numpy as np
import pytest

from station.analysis import analyze_corner_loads, analyze_plates
from station.core.errors import InputError
from station.core.geometry import Geometry
from tests.analysis.helpers import loads_from_plates

ISSUE_KEYS = {
    "protocol", "sample_rate_hz", "duration_s", "body_weight_n", "contacts", "stance_time_s", "phases_s",
    "stance_symmetry_index_pct", "weight_left_pct", "sway", "ml_shift_mm", "single_leg", "squat",
    "time_to_stabilization_s", "warnings",
}
FS = 80.0


def bilateral(dur=20.0, share_left=0.6, bw=700.0, a_ml=4.0, f=0.4):
    t = np.arange(int(dur * FS)) / FS
    fz = np.column_stack([np.full(len(t), bw * share_left), np.full(len(t), bw * (1 - share_left))])
    cop = np.zeros((len(t), 2, 2))
    cop[:, 0, 0] = -150.0 + a_ml * np.sin(2 * np.pi * f * t)
    cop[:, 1, 0] = 150.0 + a_ml * np.sin(2 * np.pi * f * t)
    cop[:, :, 1] = 20.0
    return t, fz, cop


def test_bilateral_stance_known_answers_and_json_shape():
    t, fz, cop = bilateral()
    r = analyze_corner_loads(t, loads_from_plates(fz, cop), geometry=Geometry(), protocol="bilateral_stance")
    assert set(r) >= ISSUE_KEYS
    json.dumps(r, allow_nan=False)  # plain JSON, no NaN
    assert r["sample_rate_hz"] == pytest.approx(80.0)
    assert r["body_weight_n"] == pytest.approx(700.0)
    assert r["weight_left_pct"] == pytest.approx(60.0)
    # both plates loaded all along: one open contact each, all double support
    assert [(c["on_s"], c["off_s"]) for c in r["contacts"]] == [(None, None), (None, None)]
    assert r["phases_s"]["double_support"] == pytest.approx(t[-1])
    # combined ML CoP = 0.6 * (-150 + s) + 0.4 * (150 + s) = -30 + s; sine of 4 mm at 0.4 Hz (far below 10 Hz)
    assert r["sway"]["ml_rms_mm"] == pytest.approx(4 / np.sqrt(2), rel=0.01)
    assert r["sway"]["ap_rms_mm"] == pytest.approx(0.0, abs=1e-6)
    assert r["sway"]["mean_velocity_mm_s"] == pytest.approx(4 * 4 * 0.4, rel=0.02)
    assert r["analysis_window_s"] == [pytest.approx(1.0), pytest.approx(t[-1])]
    assert r["filter"] == {"type": r["filter"]["type"], "cutoff_hz": 10.0, "order": 4}
    assert r["single_leg"] is None and r["squat"] is None and r["ml_shift_mm"] is None
    assert r["warnings"] == []


def test_weight_shift_reports_the_ml_shift():
    t = np.arange(int(10 * FS)) / FS
    share_right = np.clip((t - 3) / 2, 0, 1) * 0.35 + 0.5  # 50 % -> 85 % on the right
    fz = np.column_stack([700 * (1 - share_right), 700 * share_right])
    cop = np.zeros((len(t), 2, 2))
    cop[:, 0, 0], cop[:, 1, 0] = -150.0, 150.0
    r = analyze_plates(t, fz, cop, protocol="weight_shift", leg="right")
    # combined ML = 300 * share_right - 150: 0 mm -> +105 mm
    assert r["ml_shift_mm"] == pytest.approx(105.0, abs=0.5)
    assert r["sway"] is None


def single_leg(leg="left", lift_off=2.0, touchdown=14.0, dur=16.0, bw=700.0):
    t = np.arange(int(dur * FS)) / FS
    s = 0 if leg == "left" else 1
    o = 1 - s
    other = np.where((t < lift_off) | (t >= touchdown), bw / 2, 0.0)
    # linear unloading / loading over 0.2 s, so the 20 N crossings are known exactly
    other = np.interp(t, [0, lift_off - 0.2, lift_off, touchdown, touchdown + 0.2, dur],
                      [bw / 2, bw / 2, 0, 0, bw / 2, bw / 2])
    fz = np.zeros((len(t), 2))
    fz[:, o] = other
    fz[:, s] = bw - other
    cop = np.zeros((len(t), 2, 2))
    cop[:, 0, 0], cop[:, 1, 0] = -150.0, 150.0
    cop[:, s, 0] += 5 * np.sin(2 * np.pi * 0.7 * t)
    cop[:, s, 1] += 8 * np.sin(2 * np.pi * 0.3 * t + 1)
    return t, fz, cop


@pytest.mark.parametrize("leg", ["left", "right"])
def test_single_leg_stance_touchdown_and_window(leg):
    t, fz, cop = single_leg(leg)
    r = analyze_plates(t, fz, cop, protocol="single_leg_stance", leg=leg)
    off_true = 2.0 - 0.2 * 20 / 350  # other plate falls from 350 N to 0 over 0.2 s
    on_true = 14.0 + 0.2 * 20 / 350
    sl = r["single_leg"]
    assert sl["leg"] == leg and sl["touchdowns"] == 1
    assert sl["time_to_touchdown_s"] == pytest.approx(on_true - off_true, abs=1e-6)
    assert r["analysis_window_s"] == [pytest.approx(off_true + 1), pytest.approx(on_true)]
    assert r["sway"]["ml_rms_mm"] == pytest.approx(5 / np.sqrt(2), rel=0.03)
    assert r["sway"]["ap_rms_mm"] == pytest.approx(8 / np.sqrt(2), rel=0.05)
    assert r["weight_left_pct"] == pytest.approx(100.0 if leg == "left" else 0.0)


def test_single_leg_leg_inferred_with_warning():
    t, fz, cop = single_leg("right")
    r = analyze_plates(t, fz, cop, protocol="single_leg_stance")
    assert r["leg"] == "right"
    assert any("no stance leg given" in w for w in r["warnings"])


def test_stepping_stance_times_and_symmetry():
    t = np.arange(int(6 * FS)) / FS
    # left on 0.5-1.5 s (1.0 s), right on 1.3-2.1 s (0.8 s); linear 0.1 s edges
    def plate(on, off):
        return np.interp(t, [0, on - 0.05, on + 0.05, off - 0.05, off + 0.05, 6], [0, 0, 600, 600, 0, 0])
    fz = np.column_stack([plate(0.5, 1.5), plate(1.3, 2.1)])
    cop = np.full((len(t), 2, 2), np.nan)
    r = analyze_plates(t, fz, cop, protocol="stepping")
    st = r["stance_time_s"]
    half = 0.05 - 0.1 * 20 / 600  # 20 N is reached this long before the nominal on / after the off
    assert st["left"] == [pytest.approx(1.0 + 2 * half, abs=1e-9)]
    assert st["right"] == [pytest.approx(0.8 + 2 * half, abs=1e-9)]
    L, R = st["left"][0], st["right"][0]
    assert r["stance_symmetry_index_pct"] == pytest.approx(100 * abs(L - R) / ((L + R) / 2))
    assert r["phases_s"]["double_support"] == pytest.approx((1.5 + half) - (1.3 - half), abs=1e-9)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t, f: (t[:60], f[:60]), "less than the 1 s"),
        (lambda t, f: (t[::-1].copy(), f), "does not increase"),
        (lambda t, f: (t, np.where(np.arange(len(f))[:, None] == 7, np.nan, f)), "NaN"),
    ],
)
def test_bad_input_is_an_input_error(mutate, message):
    t, fz, cop = bilateral(dur=3.0)
    t2, fz2 = mutate(t, fz)
    with pytest.raises(InputError, match=message):
        analyze_plates(t2, fz2, cop[: len(t2)], protocol="bilateral_stance")


def test_unknown_protocol_and_leg():
    t, fz, cop = bilateral(dur=3.0)
    with pytest.raises(InputError, match="unknown protocol 'yoga'"):
        analyze_plates(t, fz, cop, protocol="yoga")
    with pytest.raises(InputError, match="unknown leg"):
        analyze_plates(t, fz, cop, protocol="single_leg_stance", leg="middle")


def test_irregular_timestamps_give_the_same_sway():
    t, fz, cop = bilateral(dur=20.0)
    rng = np.random.default_rng(5)
    t_irr = t + rng.uniform(-0.003, 0.003, len(t))
    cop_irr = cop.copy()
    cop_irr[:, :, 0] = cop[:, :, 0] + 4 * (np.sin(2 * np.pi * 0.4 * t_irr) - np.sin(2 * np.pi * 0.4 * t))[:, None]
    a = analyze_plates(t, fz, cop, protocol="bilateral_stance")
    b = analyze_plates(t_irr, fz, cop_irr, protocol="bilateral_stance")
    assert b["sample_rate_hz"] == pytest.approx(80.0, rel=0.01)
    assert b["sway"]["ml_rms_mm"] == pytest.approx(a["sway"]["ml_rms_mm"], rel=0.01)


def test_too_short_for_sway_warns():
    t, fz, cop = bilateral(dur=2.5)
    r = analyze_plates(t, fz, cop, protocol="bilateral_stance")
    assert r["sway"] is None
    assert any("too short" in w for w in r["warnings"])


def test_single_leg_started_on_one_leg_counts_from_the_first_sample():
    # the other foot is never on its plate at the start; it touches down at 9 s
    t = np.arange(int(12 * FS)) / FS
    other = np.interp(t, [0, 9.0, 9.2, 12], [0, 0, 350, 350])
    fz = np.column_stack([700 - other, other])
    cop = np.zeros((len(t), 2, 2))
    cop[:, 0, 0], cop[:, 1, 0] = -150.0 + 3 * np.sin(t), 150.0
    r = analyze_plates(t, fz, cop, protocol="single_leg_stance", leg="left")
    sl = r["single_leg"]
    assert sl["lift_off_s"] == 0.0 and sl["touchdowns"] == 1
    assert sl["time_to_touchdown_s"] == pytest.approx(9.0 + 0.2 * 20 / 350, abs=1e-6)
    assert r["analysis_window_s"][0] == pytest.approx(1.0)
