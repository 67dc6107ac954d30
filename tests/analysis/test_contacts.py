import numpy as np
import pytest

from station.analysis.contacts import Contact, crossing_times, detect_contacts, phase_durations


def test_linear_ramp_crossing_20n_between_two_samples_is_exact():
    fs = 80.0
    t = np.arange(0, 2, 1 / fs)
    true_on = 0.5031  # between samples 40 (0.5) and 41 (0.5125)
    true_off = 1.4407
    fz = np.clip(np.minimum(800 * (t - (true_on - 20 / 800)), 800 * ((true_off + 20 / 800) - t)), 0, 300)
    # away from the zero floor the ramp is linear on both sides of each crossing
    cs = detect_contacts(t, fz, foot="left")
    assert len(cs) == 1
    assert cs[0].on_s == pytest.approx(true_on, abs=1e-9)
    assert cs[0].off_s == pytest.approx(true_off, abs=1e-9)


def test_onset_kink_edge_method_beats_linear_and_naive():
    # force is 0 until the foot lands at t0, then rises linearly (a kink between samples)
    fs = 80.0
    t = np.arange(0, 1.5, 1 / fs)
    t0 = 0.513  # kink between samples 0.5125 (0 N) and 0.525 (72 N)
    fz = np.clip(6000 * (t - t0), 0, 700)
    true = t0 + 20 / 6000
    edge = detect_contacts(t, fz, foot="left")[0].on_s
    lin = detect_contacts(t, fz, foot="left", method="linear")[0].on_s
    naive = detect_contacts(t, fz, foot="left", method="naive")[0].on_s
    assert edge == pytest.approx(true, abs=1e-6)
    assert true - lin > 2e-4  # the chord from the floor reaches 20 N early
    assert naive - true > true - lin  # first sample above: later still


def test_chatter_around_threshold_is_one_contact_and_times_are_the_20n_crossings():
    fs = 100.0
    t = np.arange(0, 3, 1 / fs)
    fz = np.where((t > 0.95) & (t < 2.0), 300.0, 0.0)
    fz[90:100] = [18, 22, 19, 21, 18, 23, 30, 60, 120, 200]  # noisy approach, crosses 20 N several times
    cs = detect_contacts(t, fz, foot="right")
    assert len(cs) == 1
    # the reported on time is the *last* 20 N crossing before the force stays up (95 -> 96)
    assert 0.94 < cs[0].on_s < 0.95
    assert cs[0].on_s == pytest.approx(t[94] + (20 - 18) / (23 - 18) * 0.01)


def test_contacts_open_at_recording_edges_are_null():
    t = np.arange(0, 2, 0.01)
    fz = np.where(t < 1.0, 500.0, 0.0)
    cs = detect_contacts(t, fz, foot="left")
    assert cs[0].on_s is None and cs[0].off_s == pytest.approx(1.0, abs=0.01)
    cs = detect_contacts(t, 500.0 - fz, foot="left")
    assert cs[0].off_s is None


def test_crossing_times_lie_between_the_straddling_samples():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 10, 800))
    fz = 20 + 40 * np.sin(t * 3) + rng.normal(0, 1, len(t))
    cs = detect_contacts(t, fz, foot="left", method="linear")
    for c in cs:
        for v in (c.on_s, c.off_s):
            if v is not None:
                i = np.searchsorted(t, v)
                assert t[i - 1] <= v <= t[i]
    idx = np.array([5])
    assert crossing_times(t, fz, idx, rising=True, method="naive")[0] == t[5]


def test_phases_of_a_hand_made_gait():
    t = np.linspace(0, 4, 401)
    contacts = [
        Contact("left", None, 1.2),
        Contact("right", 1.0, 2.2),
        Contact("left", 2.5, None),
    ]
    total = np.where((t > 2.2) & (t < 2.5), 0.0, 700.0)
    ph = phase_durations(t, contacts, total_fz_n=total)
    assert ph["double_support"] == pytest.approx(0.2)
    assert ph["left_single_support"] == pytest.approx(1.0 + 1.5)
    assert ph["right_single_support"] == pytest.approx(1.0)
    assert ph["flight"] == pytest.approx(0.3)
    assert sum(ph.values()) == pytest.approx(4.0)
