"""Invariants (hypothesis): translation, mirroring, time shift."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.analysis import analyze_plates
from station.analysis.contacts import detect_contacts
from station.analysis.sway import sway_measures

FS = 80.0


@st.composite
def cop_paths(draw):
    n = draw(st.integers(50, 400))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.floats(0.5, 30.0))
    return np.cumsum(rng.normal(0, scale, (n, 2)), axis=0)


@settings(max_examples=60, deadline=None)
@given(cop_paths(), st.floats(-500, 500), st.floats(-500, 500))
def test_translation_leaves_sway_unchanged(cop, dx, dy):
    a = sway_measures(cop, fs_hz=FS)
    b = sway_measures(cop + [dx, dy], fs_hz=FS)
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-6, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(cop_paths())
def test_swapping_axes_swaps_ml_and_ap(cop):
    a = sway_measures(cop, fs_hz=FS)
    b = sway_measures(cop[:, ::-1], fs_hz=FS)
    assert b["ml_rms_mm"] == pytest.approx(a["ap_rms_mm"])
    assert b["path_length_mm"] == pytest.approx(a["path_length_mm"])
    assert b["ellipse95_area_mm2"] == pytest.approx(a["ellipse95_area_mm2"], rel=1e-6, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(cop_paths(), st.floats(1.5, 10.0))
def test_scaling_the_path_scales_the_measures(cop, k):
    a = sway_measures(cop, fs_hz=FS)
    b = sway_measures(cop * k, fs_hz=FS)
    assert b["ml_rms_mm"] == pytest.approx(k * a["ml_rms_mm"])
    assert b["mean_velocity_mm_s"] == pytest.approx(k * a["mean_velocity_mm_s"])
    assert b["ellipse95_area_mm2"] == pytest.approx(k * k * a["ellipse95_area_mm2"], rel=1e-6, abs=1e-9)


@st.composite
def trials(draw):
    """Two plates with random steps: per plate, random on/off edges and random CoP sway."""
    dur = draw(st.floats(3.0, 12.0))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    t = np.arange(int(dur * FS)) / FS + rng.uniform(0, 0.01)
    fz = np.zeros((len(t), 2))
    for p in range(2):
        edges = np.sort(rng.uniform(0, dur, 2 * int(rng.integers(0, 4))))
        level = rng.uniform(100, 600)
        on = np.zeros(len(t), dtype=bool)
        for a, b in edges.reshape(-1, 2):
            on |= (t >= a) & (t < b + 0.2)
        fz[:, p] = np.where(on, level, 0.0) + rng.normal(0, 1.0, len(t))
    fz[:, 0] = np.maximum(fz[:, 0], 0)
    cop = np.full((len(t), 2, 2), np.nan)
    for p, cx in enumerate((-150.0, 150.0)):
        path = np.cumsum(rng.normal(0, 0.3, (len(t), 2)), axis=0) + [cx, 10.0]
        cop[:, p] = np.where((fz[:, p] >= 20)[:, None], path, np.nan)
    return t, fz, cop


def mirror(fz, cop):
    """Left <-> right plates and x -> -x."""
    m = cop[:, ::-1].copy()
    m[:, :, 0] *= -1
    return fz[:, ::-1].copy(), m


@settings(max_examples=40, deadline=None)
@given(trials(), st.sampled_from(["stepping", "bilateral_stance", "weight_shift"]))
def test_mirroring_left_right_mirrors_the_results(trial, protocol):
    t, fz, cop = trial
    a = analyze_plates(t, fz, cop, protocol=protocol, leg="left")
    fz2, cop2 = mirror(fz, cop)
    b = analyze_plates(t, fz2, cop2, protocol=protocol, leg="right")
    swap = {"left": "right", "right": "left"}
    assert sorted((swap[c["foot"]], c["on_s"] or -1, c["off_s"] or -1) for c in a["contacts"]) == sorted(
        (c["foot"], c["on_s"] or -1, c["off_s"] or -1) for c in b["contacts"]
    )
    assert b["stance_time_s"]["left"] == a["stance_time_s"]["right"]
    assert b["phases_s"]["left_single_support"] == pytest.approx(a["phases_s"]["right_single_support"])
    if a["weight_left_pct"] is not None:
        assert b["weight_left_pct"] == pytest.approx(100 - a["weight_left_pct"])
    if a["ml_shift_mm"] is not None:
        assert b["ml_shift_mm"] == pytest.approx(-a["ml_shift_mm"], abs=1e-6)
    if a["sway"] is not None:
        for k, v in a["sway"].items():
            assert b["sway"][k] == pytest.approx(v, rel=1e-6, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(trials(), st.floats(-100.0, 1000.0))
def test_shifting_time_shifts_contacts(trial, shift):
    t, fz, _ = trial
    a = detect_contacts(t, fz[:, 0], foot="left")
    b = detect_contacts(t + shift, fz[:, 0], foot="left")
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for u, v in ((x.on_s, y.on_s), (x.off_s, y.off_s)):
            assert (u is None) == (v is None)
            if u is not None:
                assert v == pytest.approx(u + shift, abs=1e-6)
