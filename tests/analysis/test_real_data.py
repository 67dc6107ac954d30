"""The analysis on public research recordings (tests/data/real, see its README.md)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from station.analysis import analyze_corner_loads, analyze_plates
from station.analysis.contacts import detect_contacts, phase_durations
from station.analysis.cop import plate_force_and_cop
from station.c3d_input import read_c3d_plates
from station.core.errors import InputError
from station.core.geometry import Geometry
from station.rawcsv import read_raw_csv
from tests.analysis.real_readers import REAL, read_amti, read_jump, read_kistler_original, read_mot


def test_kistler_quiet_stance_sway_is_healthy_quiet_standing():
    rec = read_raw_csv(REAL / "kistler_quiet_stance.csv")
    g = Geometry.from_json_file(REAL / "kistler_geometry.json")
    r = analyze_corner_loads(rec.t_s, rec.loads_n, geometry=g, protocol="bilateral_stance")
    json.dumps(r, allow_nan=False)
    assert r["sample_rate_hz"] == pytest.approx(100.0)
    assert r["body_weight_n"] == pytest.approx(437, abs=3)  # README: Fz = 437 +- 2 N
    s = r["sway"]
    # Prieto et al. 1996, healthy young adults, eyes open: mean velocity ~ 8-15 mm/s,
    # resultant RMS ~ 3-6 mm, 95 % ellipse ~ 50-400 mm2 (generous bounds)
    assert 5.0 < s["mean_velocity_mm_s"] < 25.0
    assert 1.0 < np.hypot(s["ml_rms_mm"], s["ap_rms_mm"]) < 10.0
    assert 20.0 < s["ellipse95_area_mm2"] < 600.0
    # README: CoP range about 17 x 14 mm (unfiltered, whole trial); the 10 Hz low-pass
    # and the first second left out make it slightly smaller
    assert 10.0 < s["ml_range_mm"] <= 18.0 and 8.0 < s["ap_range_mm"] <= 15.0
    assert r["warnings"] == []


def test_kistler_four_corner_cop_matches_the_plate_cop():
    """Our corner-load CoP vs the Kistler/BMC CoP from the original voltages."""
    rec = read_raw_csv(REAL / "kistler_quiet_stance.csv")
    g = Geometry.from_json_file(REAL / "kistler_geometry.json")
    fz, cop = plate_force_and_cop(rec.loads_n, geometry=g)
    ref = read_kistler_original()
    assert np.allclose(fz[:, 0], ref["fz_n"], rtol=1e-4)
    for axis, key in ((0, "cop_x_m"), (1, "cop_y_m")):
        d = cop[:, 0, axis] - 1000 * ref[key]
        assert abs(np.mean(d)) < 2.0  # README: near-constant offset of about 1 mm
        assert np.max(np.abs(d - np.mean(d))) < 0.7  # README: <= 0.6 mm after removing the mean


def amti_plates():
    a = read_amti()
    t = a["MocapTime"]
    fz = np.column_stack([a["Fz"], np.zeros_like(t)])
    cop = np.full((len(t), 2, 2), np.nan)
    ok = a["Fz"] >= 20
    cop[ok, 0, 0] = 1000 * a["Cx"][ok]
    cop[ok, 0, 1] = 1000 * a["Cy"][ok]
    return t, fz, cop


def test_amti_zero_rows_are_handled():
    t, fz, cop = amti_plates()
    r = analyze_plates(t, fz, cop, protocol="bilateral_stance")
    json.dumps(r, allow_nan=False)
    # README: zero rows at data rows 1, 2 and 15600-15604 -> a 20 ms gap at the start, end at 156.0 s
    assert [c["on_s"] is None for c in r["contacts"]] == [True, False]
    assert r["contacts"][0]["off_s"] == pytest.approx(0.01, abs=0.01)
    assert r["contacts"][1]["on_s"] == pytest.approx(0.02, abs=0.01)
    assert r["contacts"][1]["off_s"] == pytest.approx(156.0, abs=0.01)
    assert r["sway"] is not None and any("unloaded during part" in w for w in r["warnings"])
    assert r["body_weight_n"] == pytest.approx(582, abs=3)  # README: 582 +- 1 N


def test_amti_steady_stance_ranges_match_the_documentation():
    # README: after the first ~30 s, ranges of ~3-36 mm per 10 s window
    t, fz, cop = amti_plates()
    for start in range(30, 150, 10):
        m = (t >= start) & (t < start + 10)
        r = analyze_plates(t[m], fz[m], cop[m], protocol="bilateral_stance")
        s = r["sway"]
        assert 2.0 < max(s["ml_range_mm"], s["ap_range_mm"]) < 40.0
        assert 2.0 < s["mean_velocity_mm_s"] < 20.0


def test_amti_sway_against_an_independent_computation():
    # the source repository's window (rows 4000-6999), measures computed here with plain numpy
    t, fz, cop = amti_plates()
    sl = slice(4000, 7000)
    r = analyze_plates(t[sl], fz[sl], cop[sl], protocol="bilateral_stance")
    x = cop[sl, 0][t[sl] >= t[sl][0] + 1.0]
    d = x - x.mean(axis=0)
    assert r["sway"]["ml_rms_mm"] == pytest.approx(np.sqrt(np.mean(d[:, 0] ** 2)), rel=0.02)
    assert r["sway"]["ap_rms_mm"] == pytest.approx(np.sqrt(np.mean(d[:, 1] ** 2)), rel=0.02)
    # path length depends on the filter: the unfiltered 100 Hz path is longer
    raw_path = np.sum(np.hypot(*np.diff(x, axis=0).T))
    assert 0.3 * raw_path < r["sway"]["path_length_mm"] < raw_path


@pytest.fixture(scope="module")
def walk_c3d(tmp_path_factory):
    d = tmp_path_factory.mktemp("walk")
    with zipfile.ZipFile(REAL / "walk.c3d.zip") as z:
        z.extract("walk.c3d", d)
    return d / "walk.c3d"


# C3D EVENT parameters of walk.c3d (Vicon foot strike / foot off), seconds
EVENTS = {"left": (2.2235, 2.892), "right": (1.6605, 2.364)}


def test_walk_80hz_contacts_match_the_c3d_events():
    rec = read_raw_csv(REAL / "walk_80hz.csv")
    g = Geometry.from_json_file(REAL / "walk_geometry.json")
    r = analyze_corner_loads(rec.t_s, rec.loads_n, geometry=g, protocol="stepping")
    assert len(r["contacts"]) == 2
    for c in r["contacts"]:
        on, off = EVENTS[c["foot"]]
        # Vicon places events at its own threshold on the 2 kHz signal; at 80 Hz we must
        # stay well within one sample period (12.5 ms)
        assert c["on_s"] == pytest.approx(on, abs=0.006)
        assert c["off_s"] == pytest.approx(off, abs=0.006)
    assert r["phases_s"]["double_support"] == pytest.approx(2.364 - 2.2235, abs=0.01)


def test_walk_c3d_events_at_2khz(walk_c3d):
    t, fz, cop = read_c3d_plates(walk_c3d, plates=(2, 4))
    r = analyze_plates(t, fz, cop, protocol="stepping")
    for c in r["contacts"]:
        on, off = EVENTS[c["foot"]]
        assert c["on_s"] == pytest.approx(on, abs=0.002)
        assert c["off_s"] == pytest.approx(off, abs=0.002)


def test_c3d_plates_2_and_4_match_walk_80hz_csv(walk_c3d):
    t, fz, cop = read_c3d_plates(walk_c3d, plates=(2, 4))
    rec = read_raw_csv(REAL / "walk_80hz.csv")
    g = Geometry.from_json_file(REAL / "walk_geometry.json")
    fz80, cop80 = plate_force_and_cop(rec.loads_n, geometry=g)
    idx = np.arange(0, len(t), 25)[: len(rec.t_s)]  # README: every 25th analog sample from 0
    assert np.allclose(t[idx], rec.t_s, atol=1e-6)
    assert np.allclose(fz[idx], fz80, atol=0.01)
    both = np.isfinite(cop[idx]) & np.isfinite(cop80)
    assert both.sum() > 100
    assert np.allclose(cop[idx][both], cop80[both], atol=0.05)
    assert (fz >= 0).all()  # Fz made positive (force on the foot)


def test_running_grf_contacts_and_no_double_support():
    m = read_mot()
    t = m["time"]
    cs = detect_contacts(t, m["R_ground_force_vy"], foot="right") + detect_contacts(t, m["L_ground_force_vy"], foot="left")
    assert [c.foot for c in cs] == ["right", "left"]
    # README: right stance 0.037-0.323 s, left 0.387-0.687 s (non-zero force); the 20 N
    # crossings lie inside, within a few samples (300 Hz) of the edges
    for c, (a, b) in zip(cs, [(0.037, 0.323), (0.387, 0.687)], strict=True):
        assert a < c.on_s < a + 0.025 and b - 0.03 < c.off_s < b
    ph = phase_durations(t, cs, total_fz_n=m["R_ground_force_vy"] + m["L_ground_force_vy"])
    assert ph["double_support"] == 0.0
    assert ph["flight"] > 0.06 + 0.2  # the gap between stances plus before/after
    # 0.82 s is shorter than the 1 s the full analysis needs: a clear refusal
    fz = np.column_stack([m["L_ground_force_vy"], m["R_ground_force_vy"]])
    with pytest.raises(InputError, match="less than the 1 s"):
        analyze_plates(t, fz, np.full((len(t), 2, 2), np.nan), protocol="stepping")


def test_jump_flight_phase():
    t, f = read_jump()
    fz = np.column_stack([f, np.zeros_like(f)])
    r = analyze_plates(t, fz, np.full((len(t), 2, 2), np.nan), protocol="hop_and_stick", leg="left")
    # README: flight (< 10 N) from 0.907 to 1.327 s; our 20 N crossings bracket it closely
    take_off, landing = r["contacts"][0]["off_s"], r["contacts"][1]["on_s"]
    assert 0.89 < take_off <= 0.907 and 1.327 <= landing < 1.34
    assert r["phases_s"]["flight"] == pytest.approx(landing - take_off, abs=1e-9)
    assert r["phases_s"]["flight"] == pytest.approx(0.42, abs=0.02)
    assert r["measured_body_weight_n"] > 0
    # standing weight ~ 628 N (README); the first 0.1 s
    assert np.mean(f[t < 0.1]) == pytest.approx(628, abs=10)
    # 2 s recording: no fixed 5 s window after landing -> no TTS, and it says why
    assert r["time_to_stabilization_s"] is None
    assert any("5 s after landing" in w for w in r["warnings"])
