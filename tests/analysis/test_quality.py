import numpy as np

from station.analysis import analyze_corner_loads
from station.analysis.quality import channel_warnings, stepped_off_warning
from station.core.geometry import Geometry
from tests.analysis.helpers import loads_from_plates


def stance_loads(n=800):
    rng = np.random.default_rng(0)
    fz = np.tile([350.0, 350.0], (n, 1)) + rng.normal(0, 2, (n, 2))
    cop = np.zeros((n, 2, 2))
    cop[:, 0, 0], cop[:, 1, 0] = -150 + rng.normal(0, 3, n), 150 + rng.normal(0, 3, n)
    return loads_from_plates(fz, cop)


def test_clean_data_has_no_warning():
    assert channel_warnings(stance_loads()) == []


def test_clipped_channel():
    loads = stance_loads()
    loads[100:110, 2] = 120.0
    loads[:, 2] = np.minimum(loads[:, 2], 120.0)
    w = channel_warnings(loads)
    assert len(w) == 1 and "left_bl is clipped" in w[0]


def test_dead_channel_from_data_and_from_flags():
    loads = stance_loads()
    loads[:, 5] = 0.0
    w = channel_warnings(loads)
    assert len(w) == 1 and "right_fr looks dead" in w[0]
    invalid = np.full(800, 1 << 7)
    w = channel_warnings(stance_loads(), invalid=invalid)
    assert any("right_br looks dead" in x for x in w)
    some = np.where(np.arange(800) % 20 == 0, 1 << 1, 0)  # 5 % of frames
    w = channel_warnings(stance_loads(), invalid=some)
    assert any("left_fr gave no valid reading in 5.0 %" in x for x in w)


def test_stepped_off():
    t = np.arange(0, 10, 0.0125)
    total = np.where((t > 4) & (t < 6.5), 3.0, 700.0)
    assert "stepped off the plates at 4.0 s" in stepped_off_warning(t, total, body_weight_n=700)
    hop = np.where((t > 4) & (t < 4.4), 0.0, 700.0)
    assert stepped_off_warning(t, hop, body_weight_n=700) is None


def test_warnings_reach_the_result():
    loads = stance_loads(1600)
    loads[:, 0] = 0.0
    t = np.arange(1600) / 80.0
    r = analyze_corner_loads(t, loads, geometry=Geometry(), protocol="bilateral_stance")
    assert any("left_fl looks dead" in w for w in r["warnings"])


def test_empty_plates_say_so_and_stay_json():
    import json

    t = np.arange(0, 5, 0.0125)
    r = analyze_corner_loads(t, np.zeros((len(t), 8)), geometry=Geometry(), protocol="single_leg_stance", leg="left")
    json.dumps(r, allow_nan=False)
    assert r["contacts"] == [] and r["sway"] is None
    assert any("nobody stood on the plates" in w for w in r["warnings"])


def test_a_channel_that_dies_before_the_end_counts_as_dead() -> None:
    from station.analysis.quality import DEAD_AT_END_S, died_before_end
    from station.core.geometry import CHANNELS

    t = np.arange(0, 10.0, 1 / 80)
    bit = 1 << CHANNELS.index("right_bl")
    died = np.zeros(len(t), dtype=np.int64)
    died[t >= 10.0 - 1.5 * DEAD_AT_END_S] = bit  # the last 1.5 s: 15 % of the trial
    assert died_before_end(t, died) == ["right_bl"]
    burst = np.zeros(len(t), dtype=np.int64)
    burst[(t > 4.0) & (t < 6.0)] = bit  # out for 2 s, then back
    assert died_before_end(t, burst) == []
    short = np.zeros(len(t), dtype=np.int64)
    short[t >= 10.0 - 0.5 * DEAD_AT_END_S] = bit
    assert died_before_end(t, short) == []
    glitches = died.copy()
    glitches[-3:] = 0xFF  # whole-frame drops at the very end change nothing
    assert died_before_end(t, glitches) == ["right_bl"]


def test_sway_is_withheld_when_a_channel_died_during_the_trial() -> None:
    from station.core.geometry import CHANNELS

    fs = 80.0
    t = np.arange(0, 12.0, 1 / fs)
    rng = np.random.default_rng(3)
    cop_ml = -150 + 3 * np.sin(2 * np.pi * 0.3 * t) + rng.normal(0, 0.2, len(t))
    fz = np.full(len(t), 700.0)
    fz_n = np.column_stack([fz / 2, fz / 2])
    cop_mm = np.zeros((len(t), 2, 2))
    cop_mm[:, 0, 0], cop_mm[:, 1, 0] = cop_ml, cop_ml + 300
    loads = loads_from_plates(fz_n, cop_mm)
    invalid = np.zeros(len(t), dtype=np.int64)
    invalid[t >= 9.0] = 1 << CHANNELS.index("right_bl")
    r = analyze_corner_loads(t, loads, geometry=Geometry(), protocol="bilateral_stance", invalid=invalid)
    assert r["quality"]["dead_channels"] == ["right_bl"]
    assert r["sway"] is None and any("right_bl" in w for w in r["warnings"])
