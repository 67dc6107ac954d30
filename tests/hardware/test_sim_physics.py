"""The simulated athlete and plates obey the physics they claim (hardware/sim).

Checks go through the whole chain where possible: frames -> counts -> newtons with the
true calibration -> station.core.geometry.cop_from_cells, compared with the noise-free truth.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.base import HX711_CODE_MAX
from hardware.sim import SimCells, simulate_trial, split_loads
from station.core.errors import InputError
from station.core.geometry import PLATES, Geometry, PlateGeometry, cop_from_cells

G = 9.81


def plate_cop(trial, loads: np.ndarray, plate: int) -> tuple[np.ndarray, np.ndarray]:
    pos = trial.geometry.plates[PLATES[plate]].cell_positions_mm()
    return cop_from_cells(loads[:, 4 * plate : 4 * plate + 4], pos)


def combined_cop(trial, loads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fz_l, cop_l = plate_cop(trial, loads, 0)
    fz_r, cop_r = plate_cop(trial, loads, 1)
    fz = fz_l + fz_r
    mom = np.nan_to_num(cop_l) * fz_l[:, None] + np.nan_to_num(cop_r) * fz_r[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return fz, mom / fz[:, None]


# ---------------------------------------------------------------- statics


@settings(max_examples=200, deadline=None)
@given(
    fz=st.floats(1.0, 5000.0),
    u=st.floats(-1.0, 1.0),
    v=st.floats(-1.0, 1.0),
    half_w=st.floats(40.0, 300.0),
    half_d=st.floats(40.0, 400.0),
    skew=st.floats(-30.0, 30.0),
)
def test_corner_loads_sum_to_fz_and_give_back_the_cop(fz, u, v, half_w, half_d, skew):
    """Any plate layout (also a non-rectangular one): sum = Fz, moment / Fz = CoP."""
    cells = {"fl": (-half_w + skew, half_d), "fr": (half_w, half_d), "bl": (-half_w, -half_d), "br": (half_w - skew, -half_d)}
    geom = Geometry(plates={"left": PlateGeometry((-200.0, 10.0), cells), "right": PlateGeometry((200.0, 0.0), cells)})
    cop = np.array([-200.0 + u * 0.8 * half_w, 10.0 + v * 0.8 * half_d])
    fz_n = np.array([[fz, 0.0]])
    loads = split_loads(fz_n, np.array([[fz * cop[0], 0.0]]), np.array([[fz * cop[1], 0.0]]), geom)
    assert loads[0, :4].sum() == pytest.approx(fz, rel=1e-12)
    assert np.all(loads[0, 4:] == 0)
    f, c = cop_from_cells(loads[:, :4], geom.plates["left"].cell_positions_mm())
    np.testing.assert_allclose(c[0], cop, atol=1e-9)


@pytest.mark.parametrize(
    "protocol",
    ["bilateral_stance", "weight_shift", "single_leg_stance", "single_leg_squat", "stepping", "hopping", "hop_and_stick"],
)
def test_noise_free_frames_match_truth_exactly(protocol):
    trial = simulate_trial(protocol, seed=11, noise=False, duration_s=12.0)
    at = trial.truth.at(trial.t_s)
    for p in range(2):
        fz, cop = plate_cop(trial, trial.loads_n, p)
        # counts are integers: 1 count = 0.5 mN per cell
        np.testing.assert_allclose(fz, at["fz_n"][:, p], atol=4e-3)
        loaded = at["fz_n"][:, p] > 50
        np.testing.assert_allclose(cop[loaded], at["cop_mm"][loaded, p], atol=0.05)
        assert np.all(np.isnan(at["cop_mm"][at["fz_n"][:, p] == 0, p]))
    fz, comb = combined_cop(trial, trial.loads_n)
    loaded = fz > 50
    np.testing.assert_allclose(comb[loaded], at["cop_combined_mm"][loaded], atol=0.05)


def test_noisy_loads_round_trip_through_the_true_calibration():
    trial = simulate_trial("bilateral_stance", seed=5, duration_s=30.0)
    cells = trial.cells
    valid = trial.invalid == 0
    resid = (trial.loads_n - trial.true_loads_n)[valid]
    expected_sd = cells.noise_sd_counts / np.abs(cells.gains_counts_per_n)
    drift_n = (trial.drift_counts / cells.gains_counts_per_n)[valid]
    np.testing.assert_allclose((resid - drift_n).std(axis=0), expected_sd, rtol=0.1)
    assert np.all(np.abs((resid - drift_n).mean(axis=0)) < 0.02)
    # the counts themselves: offset + gain * load + drift within a few noise sd
    model = cells.offsets_counts + cells.gains_counts_per_n * trial.true_loads_n + trial.drift_counts
    assert np.all(np.abs(trial.counts[valid] - model[valid]) < 6 * cells.noise_sd_counts)
    # combined CoP error while loaded: well under a millimetre
    fz, comb = combined_cop(trial, trial.loads_n)
    err = comb - trial.truth.at(trial.t_s)["cop_combined_mm"]
    assert np.sqrt(np.mean(err**2)) < 0.5


def test_gains_spread_and_true_calibration():
    cells = SimCells.random(3)
    spread = cells.gains_counts_per_n / 2000.0 - 1
    assert 0.01 < spread.std() < 0.08 and np.all(np.abs(spread) <= 0.08 + 1e-12)
    cal = cells.true_calibration()
    loads = np.linspace(-100, 1000, 16).reshape(2, 8)
    counts = cells.offsets_counts + cells.gains_counts_per_n * loads
    np.testing.assert_allclose(cal.counts_to_newtons(counts), loads, atol=1e-9)


# ---------------------------------------------------------------- sway


def test_bilateral_sway_in_the_published_range():
    ml, ap = [], []
    for seed in range(6):
        trial = simulate_trial("bilateral_stance", seed=seed, duration_s=30.0)
        fz, comb = combined_cop(trial, trial.loads_n)
        c = comb[trial.t_s > 1.0]
        ml.append(c[:, 0].std())
        ap.append(c[:, 1].std())
    ml_a, ap_a = np.array(ml), np.array(ap)
    assert np.all((ml_a >= 2.0) & (ml_a <= 5.0)), ml
    assert np.all(ap_a > ml_a), (ml, ap)
    assert len(set(np.round(ml_a, 3))) == 6  # athletes differ


def test_single_leg_sway_in_the_published_range_and_larger_than_bilateral():
    for seed in range(6):
        trial = simulate_trial("single_leg_stance", seed=seed, leg=("left", "right")[seed % 2],
                               never_touch_down=True, duration_s=25.0)
        stance = 0 if trial.leg == "left" else 1
        fz, cop = plate_cop(trial, trial.loads_n, stance)
        window = trial.t_s > trial.truth.lift_off_s + 1.0
        ml = cop[window, 0].std()
        assert 5.0 <= ml <= 10.0, (seed, ml)
        # before lift-off both feet are loaded; after, the other plate is empty
        other_fz, _ = plate_cop(trial, trial.loads_n, 1 - stance)
        assert np.all(np.abs(other_fz[window]) < 3.0)
        assert fz[window].mean() == pytest.approx(trial.truth.body_weight_n, rel=0.01)


# ---------------------------------------------------------------- determinism


def test_same_seed_same_trial_other_seed_other_trial():
    a = simulate_trial("single_leg_squat", seed=42, reps=3)
    b = simulate_trial("single_leg_squat", seed=42, reps=3)
    c = simulate_trial("single_leg_squat", seed=43, reps=3)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.t_ns, b.t_ns)
    assert a.truth.reps == b.truth.reps and a.truth.contacts == b.truth.contacts
    assert not np.array_equal(a.counts[: len(c.counts)], c.counts[: len(a.counts)])
    assert a.truth.reps != c.truth.reps


# ---------------------------------------------------------------- vertical force and contacts


@pytest.mark.parametrize("protocol", ["bilateral_stance", "single_leg_squat", "stepping"])
def test_mean_vertical_force_is_body_weight(protocol):
    """Starting and ending at rest, the mean of m(g + a) over the trial is m g."""
    trial = simulate_trial(protocol, seed=2, body_mass_kg=82.0, noise=False)
    total = trial.truth.fz_n.sum(axis=1)
    assert total.mean() == pytest.approx(82.0 * G, rel=0.01)


def _plate_force(trial, p):
    return trial.true_loads_n[:, 4 * p : 4 * p + 4].sum(axis=1)


@pytest.mark.parametrize("protocol,seed", [("stepping", 1), ("stepping", 2), ("hopping", 3), ("single_leg_squat", 4)])
def test_contacts_are_the_exact_20_n_crossings(protocol, seed):
    trial = simulate_trial(protocol, seed=seed, noise=False, touchdown_prob=1.0) if protocol == "single_leg_squat" \
        else simulate_trial(protocol, seed=seed, noise=False)
    truth = trial.truth
    events = [(c["foot"], c["on_s"], +1) for c in truth.contacts if c["on_s"] is not None]
    events += [(c["foot"], c["off_s"], -1) for c in truth.contacts if c["off_s"] is not None]
    assert len(events) >= 6
    fracs = []
    for foot, t_c, sign in events:
        p = PLATES.index(foot)
        assert truth.at(t_c)["fz_n"][0, p] == pytest.approx(20.0, abs=1e-6)
        before, after = truth.at(np.array([t_c - 0.003, t_c + 0.003]))["fz_n"][:, p]
        assert sign * (after - 20.0) > 0 and sign * (before - 20.0) < 0
        # the sampled frames bracket it: below before, above after (or the reverse)
        i = np.searchsorted(trial.t_s, t_c)
        f = _plate_force(trial, p)
        assert sign * (f[i] - 20.0) > 0 and sign * (f[i - 1] - 20.0) < 0
        fracs.append((t_c - trial.t_s[i - 1]) / (trial.t_s[i] - trial.t_s[i - 1]))
        # a finite loading rate, so the crossing time is well defined (> 500 N/s)
        assert abs(after - before) / 0.006 > 500.0
    # contacts are not aligned with the samples
    assert np.std(fracs) > 0.15


def test_stepping_has_double_support_and_alternates():
    trial = simulate_trial("stepping", seed=8, noise=False, duration_s=15.0)
    c = trial.truth.contacts
    left = [x for x in c if x["foot"] == "left"]
    right = [x for x in c if x["foot"] == "right"]
    assert len(left) >= 8 and len(right) >= 8
    fz = trial.truth.fz_n
    both = (fz > 20).all(axis=1)
    single = (fz > 20).sum(axis=1) == 1
    assert both.mean() > 0.15 and single.mean() > 0.3
    assert not ((fz < 20).all(axis=1)).any()  # marching: never airborne


def test_hopping_has_flight_phases_and_impact_peaks():
    trial = simulate_trial("hopping", seed=4, hops=6, noise=False)
    total = trial.truth.fz_n.sum(axis=1)
    bw = trial.truth.body_weight_n
    airborne = total < 20.0
    flights = np.count_nonzero(np.diff(airborne.astype(int)) == 1)
    assert flights == 6
    assert 2.0 * bw < total.max() < 4.5 * bw
    # in the air the plates carry exactly nothing, for the whole flight time
    zero = np.flatnonzero(np.diff((total == 0.0).astype(int)))
    runs = (zero[1::2] - zero[0::2]) * 1e-3
    assert len(runs) == 6 and np.all((runs > 0.15) & (runs < 0.35)), runs


@pytest.mark.parametrize("start", ["off_plate", "other_plate", "both"])
def test_hop_and_stick_landing(start):
    for seed in range(3):
        trial = simulate_trial("hop_and_stick", seed=seed, leg="right", start=start)
        t = trial.truth
        bw = t.body_weight_n
        assert t.landing_s is not None
        if start == "off_plate":  # the default: from behind the plates, which stay empty
            assert t.lift_off_s is None
            assert np.all(t.fz_n[t.t_s < t.landing_s] < 20.0)
        else:
            assert t.lift_off_s is not None
            assert 0.2 < t.landing_s - t.lift_off_s < 0.5  # flight
            flight = (t.t_s > t.lift_off_s + 0.01) & (t.t_s < t.landing_s - 0.01)
            assert np.all(t.fz_n[flight] < 20.0)
        after = t.t_s >= t.landing_s
        peak = t.fz_n[after, 1].max()
        assert 2.0 * bw <= peak <= 3.2 * bw
        t_peak = t.t_s[after][np.argmax(t.fz_n[after, 1])]
        assert 0.02 < t_peak - t.landing_s < 0.1  # tens of ms to the peak
        # settles: beyond the stabilisation time the force stays within 5 % BW (plus the
        # small breathing/tremor noise of stance)
        assert 0.2 < t.time_to_stabilization_s < 2.0
        settled = t.t_s > t.landing_s + t.time_to_stabilization_s
        assert np.abs(t.fz_n[settled].sum(axis=1) - bw).max() < 0.08 * bw
        early = (t.t_s > t.landing_s) & (t.t_s < t.landing_s + 0.5 * t.time_to_stabilization_s)
        assert np.abs(t.fz_n[early].sum(axis=1) - bw).max() > 0.1 * bw


def test_weight_shift_moves_the_cop_toward_the_leg():
    for leg, sign in (("left", -1), ("right", 1)):
        trial = simulate_trial("weight_shift", seed=9, leg=leg, target_pct=85)
        shift = trial.truth.ml_shift_mm
        foot_gap = np.diff(trial.athlete.feet_mm[:, 0])[0]
        # 85 % on the leg = 35 % of the foot gap from the middle, give or take the sway
        # of the first and last second (ML RMS 3-4 mm)
        assert sign * shift == pytest.approx(0.35 * foot_gap, abs=15.0)
        fz, comb = combined_cop(trial, trial.loads_n)
        measured = comb[trial.t_s > trial.t_s[-1] - 1, 0].mean() - comb[trial.t_s < trial.t_s[0] + 1, 0].mean()
        assert measured == pytest.approx(shift, abs=1.0)


# ---------------------------------------------------------------- protocols


@pytest.mark.parametrize("reps,seed", [(1, 0), (3, 1), (5, 2), (8, 3)])
def test_squats_produce_the_requested_reps(reps, seed):
    trial = simulate_trial("single_leg_squat", seed=seed, reps=reps, touchdown_prob=0.0)
    t = trial.truth
    assert len(t.reps) == reps
    assert t.touchdowns == []
    bw = t.body_weight_n
    total = t.fz_n.sum(axis=1)
    for r in t.reps:
        assert r["start_s"] < r["bottom_s"] < r["end_s"] and 1.5 < r["end_s"] - r["start_s"] < 3.5
        down = (t.t_s > r["start_s"]) & (t.t_s < r["bottom_s"])
        # unweighting early in the descent, braking before the bottom
        assert total[down].min() < 0.97 * bw and total[down].max() > 1.03 * bw
        assert np.argmin(total[down]) < np.argmax(total[down])
        # the knee collapses and the pelvis drops with depth (camera truth)
        i0, ib = np.searchsorted(t.t_s, [r["start_s"], r["bottom_s"]])
        athlete = trial.athlete
        gain = athlete.peak_fppa_deg - athlete.stand_fppa_deg
        assert t.knee_fppa_deg[ib] - t.knee_fppa_deg[i0] == pytest.approx(gain, abs=0.25 * abs(gain) + 1.5)
        assert t.pelvic_obliquity_deg[ib] > t.pelvic_obliquity_deg[i0]
    stance = 0 if trial.leg == "left" else 1
    assert np.all(t.fz_n[t.t_s > t.lift_off_s + 0.05, 1 - stance] < 20.0)


def test_squat_sway_grows_at_the_bottom():
    """CoP speed near the bottom of the reps vs while standing between reps."""
    bottom, standing = [], []
    for seed in range(3):
        trial = simulate_trial("single_leg_squat", seed=seed, reps=8, touchdown_prob=0.0, noise=False)
        t = trial.truth
        stance = 0 if trial.leg == "left" else 1
        speed = np.linalg.norm(np.gradient(t.cop_mm[:, stance], t.t_s, axis=0), axis=1)
        for r, nxt in zip(t.reps[:-1], t.reps[1:], strict=True):
            bottom.append(speed[np.abs(t.t_s - r["bottom_s"]) < 0.25].mean())
            standing.append(speed[(t.t_s > r["end_s"] + 0.1) & (t.t_s < nxt["start_s"] - 0.1)].mean())
    assert np.mean(bottom) > 1.3 * np.mean(standing), (np.mean(bottom), np.mean(standing))


def test_squat_touchdowns_on_requested_reps():
    trial = simulate_trial("single_leg_squat", seed=6, reps=5, touchdown_reps=[1, 3], leg="right")
    t = trial.truth
    assert len(t.touchdowns) == 2
    assert all(c["foot"] == "left" for c in t.touchdowns)
    for c, k in zip(t.touchdowns, (1, 3), strict=True):
        r = t.reps[k]
        assert r["start_s"] < c["on_s"] < c["off_s"] < r["end_s"] + 0.5
        assert 0.15 < c["off_s"] - c["on_s"] < 0.7


def test_single_leg_stance_ends_at_touchdown():
    trial = simulate_trial("single_leg_stance", seed=3, hold_s=6.0, leg="left")
    t = trial.truth
    assert len(t.touchdowns) == 1
    td = t.touchdowns[0]
    assert td["foot"] == "right" and td["off_s"] is None
    assert td["on_s"] - t.lift_off_s == pytest.approx(6.0, abs=0.1)
    assert t.duration_s == pytest.approx(td["on_s"] + 1.5, abs=0.1)
    never = simulate_trial("single_leg_stance", seed=3, never_touch_down=True, duration_s=20.0)
    assert never.truth.touchdowns == [] and never.truth.duration_s == pytest.approx(20.0, abs=0.01)


def test_truth_dict_is_json():
    import json

    trial = simulate_trial("hop_and_stick", seed=1)
    text = json.dumps(trial.truth_dict(series=True), allow_nan=False)
    back = json.loads(text)
    assert back["landing_s"] == pytest.approx(trial.truth.landing_s)
    assert len(back["series"]["t_s"]) == len(trial.t_s)


# ---------------------------------------------------------------- timing, codes


@pytest.mark.parametrize("rate", [10.0, 80.0, 1000.0])
def test_frame_timing(rate):
    trial = simulate_trial("bilateral_stance", seed=1, rate_hz=rate, duration_s=5.0)
    period = 1.0 / rate
    d = np.diff(trial.t_s)
    assert np.all(d > 0)
    assert len(trial.t_s) == pytest.approx(5.0 * rate, abs=2)
    assert abs(d.mean() - period) < 1e-4
    assert 0.05e-3 < (d - period).std() < 0.5e-3  # sub-ms loop jitter
    assert np.all(np.diff(trial.t_ns) > 0)
    np.testing.assert_allclose((trial.t_ns - trial.t_ns[0]) / 1e9, trial.t_s - trial.t_s[0], atol=1e-9)


def test_bad_arguments_are_refused_with_a_reason():
    with pytest.raises(InputError, match="rate_hz"):
        simulate_trial("bilateral_stance", seed=1, rate_hz=5)
    with pytest.raises(InputError, match="unknown protocol"):
        simulate_trial("handstand", seed=1)
    with pytest.raises(InputError, match="unknown option"):
        simulate_trial("stepping", seed=1, reps=3)
    with pytest.raises(InputError, match="reps"):
        simulate_trial("single_leg_squat", seed=1, reps="many")


def test_saturation_and_spikes_are_flagged_and_held():
    base = SimCells.random(1)
    offsets = base.offsets_counts.copy()
    offsets[0] = HX711_CODE_MAX - 200_000  # left_fl saturates above ~100 N
    cells = SimCells(offsets_counts=offsets, gains_counts_per_n=base.gains_counts_per_n,
                     noise_sd_counts=200.0, spike_prob=2e-3)
    trial = simulate_trial("single_leg_squat", seed=2, cells=cells, reps=2)
    sat = trial.counts[:, 0] == HX711_CODE_MAX
    assert sat.any()
    assert np.all(trial.invalid[sat] & 1)
    # held: the newtons of a flagged read repeat the last valid one
    idx = np.flatnonzero(trial.invalid & 1)
    idx = idx[idx > 0]
    np.testing.assert_array_equal(trial.loads_n[idx, 0], trial.loads_n[idx - 1, 0])
    # spikes: big, flagged, and absent from the newtons
    expected = cells.offsets_counts + cells.gains_counts_per_n * trial.true_loads_n + trial.drift_counts
    spiky = np.abs(trial.counts - expected) > 500_000
    spiky[:, 0] &= ~sat
    assert spiky.sum() >= 5
    bits = (trial.invalid[:, None] >> np.arange(8)) & 1
    assert np.all(bits[spiky] == 1)
    ok = bits == 0
    assert np.abs((trial.loads_n - trial.true_loads_n)[ok]).max() < 5.0


def test_trial_faults_like_the_source():
    faults = [
        {"channel": "left_fr", "kind": "dead", "start_s": 2.0, "duration_s": 2.0},
        {"channel": 6, "kind": "stuck", "start_s": 1.0},
        {"channel": "right_br", "kind": "spikes"},
    ]
    trial = simulate_trial("bilateral_stance", seed=4, duration_s=6.0, faults=faults)
    bits = (trial.invalid[:, None] >> np.arange(8)) & 1
    dead = (trial.t_s >= 2.0) & (trial.t_s < 4.0)
    assert np.all(bits[dead, 1] == 1) and not bits[~dead, 1].any()
    assert np.all(trial.counts[dead, 1] == -1)  # all ones on the wire
    held = trial.loads_n[dead, 1]
    assert np.all(held == held[0]) and held[0] == trial.loads_n[np.flatnonzero(dead)[0] - 1, 1]
    stuck = trial.t_s >= 1.0
    assert len(set(trial.counts[stuck, 6])) == 1 and not bits[:, 6].any()
    assert 0.1 < bits[:, 7].mean() < 0.3
    with pytest.raises(InputError, match="unknown kind"):
        simulate_trial("bilateral_stance", seed=4, duration_s=3.0, faults=[{"channel": 0, "kind": "fire"}])


@pytest.mark.parametrize("start", ["other_plate", "both"])
def test_hop_and_stick_conserves_momentum(start):
    """Integrating F/m - g from rest: take-off speed = g * flight / 2, at rest after the stick."""
    trial = simulate_trial("hop_and_stick", seed=5, start=start, noise=False)
    t = trial.truth
    a = t.fz_n.sum(axis=1) / t.body_mass_kg - G
    v = np.cumsum(a) * (t.t_s[1] - t.t_s[0])
    flight = t.landing_s - t.lift_off_s
    v_takeoff = v[np.searchsorted(t.t_s, t.lift_off_s)]
    assert v_takeoff == pytest.approx(0.5 * G * flight, abs=0.05)
    assert abs(v[-1]) < 0.05


@settings(max_examples=12, deadline=None)
@given(
    protocol=st.sampled_from(["bilateral_stance", "weight_shift", "single_leg_stance", "single_leg_squat",
                              "stepping", "hopping", "hop_and_stick"]),
    seed=st.integers(0, 2**31),
    rate=st.sampled_from([10.0, 50.0, 80.0, 333.0]),
    leg=st.sampled_from(["left", "right"]),
)
def test_any_trial_is_physically_consistent(protocol, seed, rate, leg):
    trial = simulate_trial(protocol, seed=seed, rate_hz=rate, leg=leg, noise=False, duration_s=8.0)
    t = trial.truth
    at = t.at(trial.t_s)
    for p, name in enumerate(PLATES):
        f = trial.true_loads_n[:, 4 * p : 4 * p + 4].sum(axis=1)
        np.testing.assert_allclose(f, at["fz_n"][:, p], atol=1e-6)
        # a loaded plate's CoP lies on the plate (inside its cells' rectangle)
        cells = trial.geometry.plates[name].cell_positions_mm()
        loaded = t.fz_n[:, p] > 1.0
        cop = t.cop_mm[loaded, p]
        assert np.all(cop >= cells.min(axis=0)) and np.all(cop <= cells.max(axis=0))
    assert np.all(t.fz_n >= 0) and np.all(np.diff(trial.t_s) > 0)
    assert t.fz_n.sum(axis=1).max() < 6 * t.body_weight_n
    for c in t.contacts:
        assert c["on_s"] is None or c["off_s"] is None or c["on_s"] < c["off_s"]
    assert np.all(np.abs(t.pelvic_obliquity_deg) < 20) and np.all(np.abs(t.knee_fppa_deg) < 40)
