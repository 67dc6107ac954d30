import numpy as np
import pytest

from station.analysis.squat import com_velocity_m_s, segment_reps, stability_score
from station.analysis.stabilization import time_to_stabilization_s
from station.core.physics import G_M_S2


def squat_force(fs, reps, *, mass=70.0, depth=0.25, period=3.0, pause=1.5, lead=2.0):
    """Total vertical force of `reps` squats: z = -D/2 (1 - cos(2 pi t / T)), F = m (g + z'')."""
    n = int((lead + reps * (period + pause) + lead) * fs)
    t = np.arange(n) / fs
    acc = np.zeros(n)
    truth = []
    for k in range(reps):
        s = lead + k * (period + pause)
        m = (t >= s) & (t <= s + period)
        acc[m] = -depth / 2 * (2 * np.pi / period) ** 2 * np.cos(2 * np.pi * (t[m] - s) / period)
        truth.append((s, s + period / 2, s + period))
    return t, mass * (G_M_S2 + acc), truth


def test_com_velocity_of_a_known_squat():
    fs = 80.0
    t, f, truth = squat_force(fs, 1)
    v = com_velocity_m_s(f, fs_hz=fs)
    s, _, e = truth[0]
    m = (t >= s) & (t <= e)
    expected = -0.25 / 2 * (2 * np.pi / 3) * np.sin(2 * np.pi * (t[m] - s) / 3)
    assert np.max(np.abs(v[m] - expected)) < 0.01


@pytest.mark.parametrize("reps", [1, 3, 5])
def test_rep_count_and_boundaries(reps):
    fs = 80.0
    t, f, truth = squat_force(fs, reps)
    f = f + np.random.default_rng(reps).normal(0, 3, len(f))
    found = segment_reps(f, fs_hz=fs)
    assert len(found) == reps
    for (s, b, e), (ts, tb, te) in zip(found, truth, strict=True):
        assert abs(t[s] - ts) < 0.15 and abs(t[b] - tb) < 0.1 and abs(t[e] - te) < 0.15


def test_standing_still_is_no_rep():
    f = 700 + np.random.default_rng(0).normal(0, 5, 2400)
    assert segment_reps(f, fs_hz=80.0) == []


def test_stability_score_is_bounded_and_monotone():
    assert stability_score(ml_rms_mm=0, mean_velocity_mm_s=0, touchdowns=0) == 100.0
    base = stability_score(ml_rms_mm=5, mean_velocity_mm_s=80, touchdowns=0)
    assert 0 < base < 100
    assert stability_score(ml_rms_mm=6, mean_velocity_mm_s=80, touchdowns=0) < base
    assert stability_score(ml_rms_mm=5, mean_velocity_mm_s=90, touchdowns=0) < base
    assert stability_score(ml_rms_mm=5, mean_velocity_mm_s=80, touchdowns=1) == pytest.approx(base / 2)


def test_time_to_stabilization_of_a_decaying_landing_force():
    fs, bw, tau, amp = 100.0, 700.0, 0.3, 1400.0
    t = np.arange(0, 6, 1 / fs)
    f = bw + amp * np.exp(-t / tau)
    expected = tau * np.log(amp / (0.05 * bw))
    assert time_to_stabilization_s(f, fs_hz=fs, body_weight_n=bw) == pytest.approx(expected, abs=0.005)
    # a fixed 5 s window: a recording ending earlier gets no value
    assert time_to_stabilization_s(f[: int(4 * fs)], fs_hz=fs, body_weight_n=bw) is None
    assert time_to_stabilization_s(np.full(600, bw), fs_hz=fs, body_weight_n=bw) == 0.0
