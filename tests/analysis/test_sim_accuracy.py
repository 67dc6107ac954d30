"""Accuracy against the simulator's ground truth (80 Hz, HX711 noise, drift, spikes, jitter).

A few seeds per protocol here; ``bench/bench_analysis.py`` runs many. Truth for sway is
the same metric on the simulator's noise-free CoP at the frame times over the same window.
"""

from __future__ import annotations

import numpy as np
import pytest

from hardware.sim import simulate_trial
from station.analysis import analyze_corner_loads
from station.analysis.cop import combined_cop_from_cells
from station.analysis.sway import sway_measures

SEEDS = (11, 12, 13)


def run(protocol, seed, **options):
    leg = "left" if seed % 2 else "right"
    tr = simulate_trial(protocol, seed=seed, leg=leg, **options)
    r = analyze_corner_loads(tr.t_s, tr.loads_n, geometry=tr.geometry, protocol=protocol,
                             leg=tr.leg, invalid=tr.invalid)
    return tr, r


def observable(tr, foot):
    """True contacts whose noise-free force reaches 25 N (the confirmation level) in some
    frame; one beginning in the last frame period is in no frame."""
    f = tr.truth_at_frames["fz_n"][:, 0 if foot == "left" else 1]
    out = []
    for c in tr.truth.contacts:
        a = -np.inf if c["on_s"] is None else c["on_s"]
        b = np.inf if c["off_s"] is None else c["off_s"]
        m = (tr.t_s >= a) & (tr.t_s <= b)
        if c["foot"] == foot and m.any() and f[m].max() >= 25.0:
            out.append(c)
    return out


def contact_errors_s(tr, r):
    errs = []
    for foot in ("left", "right"):
        mine = [c for c in r["contacts"] if c["foot"] == foot]
        true = observable(tr, foot)
        assert len(mine) == len(true), f"{foot}: {len(mine)} contacts found, {len(true)} true"
        for a, b in zip(mine, true, strict=True):
            for k in ("on_s", "off_s"):
                assert (a[k] is None) == (b[k] is None)
                if a[k] is not None:
                    errs.append(a[k] - b[k])
    return errs


@pytest.mark.parametrize("protocol", ["stepping", "single_leg_stance", "hop_and_stick", "single_leg_squat"])
def test_contact_times(protocol):
    errs = []
    for seed in SEEDS:
        tr, r = run(protocol, seed)
        errs += contact_errors_s(tr, r)
    e = np.abs(errs) * 1000
    assert len(e) >= 3
    assert np.median(e) <= 3.0 and e.max() <= 10.0, f"median {np.median(e):.2f} ms, max {e.max():.2f} ms"


@pytest.mark.parametrize("protocol", ["bilateral_stance", "single_leg_stance", "stepping"])
def test_combined_cop_error_under_2mm(protocol):
    for seed in SEEDS[:2]:
        tr = simulate_trial(protocol, seed=seed)
        at = tr.truth_at_frames
        cop = combined_cop_from_cells(tr.loads_n, geometry=tr.geometry)
        m = at["fz_n"].sum(axis=1) > 200
        err = np.linalg.norm(cop[m] - at["cop_combined_mm"][m], axis=1)
        assert np.sqrt(np.mean(err**2)) <= 2.0


@pytest.mark.parametrize("protocol", ["bilateral_stance", "single_leg_stance", "single_leg_squat"])
def test_sway_against_noise_free_truth(protocol):
    for seed in SEEDS:
        tr, r = run(protocol, seed)
        assert r["sway"] is not None, r["warnings"]
        w = r["analysis_window_s"]
        m = (tr.t_s >= w[0]) & (tr.t_s <= w[1])
        at = tr.truth_at_frames
        cop = at["cop_combined_mm"] if protocol == "bilateral_stance" else at["cop_mm"][:, 0 if r["leg"] == "left" else 1]
        truth = sway_measures(cop[m], fs_hz=r["sample_rate_hz"])
        s = r["sway"]
        assert s["ml_rms_mm"] == pytest.approx(truth["ml_rms_mm"], rel=0.05)
        assert s["ellipse95_area_mm2"] == pytest.approx(truth["ellipse95_area_mm2"], rel=0.10)
        assert s["mean_velocity_mm_s"] == pytest.approx(truth["mean_velocity_mm_s"], rel=0.15)


def test_squat_reps_and_touchdowns_exact():
    for seed in SEEDS:
        tr, r = run("single_leg_squat", seed, touchdown_reps=[1])
        assert len(r["squat"]["reps"]) == len(tr.truth.reps)
        assert r["squat"]["touchdowns"] == len(tr.truth.touchdowns) == 1
        for mine, true in zip(r["squat"]["reps"], tr.truth.reps, strict=True):
            assert abs(mine["bottom_s"] - true["bottom_s"]) < 0.25
        assert 0 < r["squat"]["stability_score"] < 100


def test_single_leg_stance_touchdown_time():
    for seed in SEEDS:
        tr, r = run("single_leg_stance", seed, hold_s=9.0)
        sl = r["single_leg"]
        assert sl["touchdowns"] == len(tr.truth.touchdowns) == 1
        true = tr.truth.touchdowns[0]["on_s"] - tr.truth.lift_off_s
        assert sl["time_to_touchdown_s"] == pytest.approx(true, abs=0.01)


def test_hop_and_stick_stabilization_and_landing():
    for seed in SEEDS:
        tr, r = run("hop_and_stick", seed, duration_s=10.0)
        # the truth is the envelope's entry into BW +- 5 %; the measured force oscillates
        # inside that envelope, so it may enter the band up to one half-oscillation earlier
        assert r["time_to_stabilization_s"] == pytest.approx(tr.truth.time_to_stabilization_s, abs=0.25)
        assert r["single_leg"]["touchdowns"] == len(tr.truth.touchdowns)


def test_weight_shift_ml_shift():
    for seed in SEEDS:
        tr, r = run("weight_shift", seed)
        assert r["ml_shift_mm"] == pytest.approx(tr.truth.ml_shift_mm, abs=1.0)
