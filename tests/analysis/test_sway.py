import numpy as np
import pytest

from station.analysis.sway import frequency_measures, sway_measures


def test_square_cop_path():
    # a 10 mm square traced at constant speed, 4 laps of 4 s, sampled so that the corners are samples
    fs, a, lap_s, laps = 100.0, 10.0, 4.0, 4
    s = np.arange(int(lap_s * fs * laps) + 1) / (lap_s * fs) * 4 % 4  # side index 0..4
    side, u = np.floor(s).astype(int), s - np.floor(s)
    corners = np.array([[-a / 2, -a / 2], [a / 2, -a / 2], [a / 2, a / 2], [-a / 2, a / 2], [-a / 2, -a / 2]])
    path = corners[side] + (corners[side + 1] - corners[side]) * u[:, None]
    m = sway_measures(path, fs_hz=fs)
    assert m["path_length_mm"] == pytest.approx(4 * a * laps)
    assert m["mean_velocity_mm_s"] == pytest.approx(4 * a / lap_s)
    assert m["ml_range_mm"] == pytest.approx(a) and m["ap_range_mm"] == pytest.approx(a)
    # x spends half the time at +-a/2 and half uniformly in between: E[x^2] = a^2/8 + a^2/24 = a^2/6
    assert m["ml_rms_mm"] == pytest.approx(a / np.sqrt(6), rel=2e-3)
    assert m["ap_rms_mm"] == pytest.approx(a / np.sqrt(6), rel=2e-3)


def test_pure_sine_sway():
    fs, f, A, B, dur = 100.0, 0.5, 6.0, 3.0, 20.0
    t = np.arange(int(dur * fs)) / fs
    cop = np.column_stack([A * np.sin(2 * np.pi * f * t) + 40.0, B * np.cos(2 * np.pi * f * t) - 7.0])
    m = sway_measures(cop, fs_hz=fs)
    assert m["ml_rms_mm"] == pytest.approx(A / np.sqrt(2), rel=1e-3)
    assert m["ap_rms_mm"] == pytest.approx(B / np.sqrt(2), rel=1e-3)
    assert m["ml_range_mm"] == pytest.approx(2 * A, rel=1e-3)
    # ellipse path: cov = diag(A^2/2, B^2/2) -> area = pi * 5.991 * A * B / 2
    assert m["ellipse95_area_mm2"] == pytest.approx(np.pi * 5.991 * A * B / 2, rel=2e-3)
    # perimeter of the ellipse per period (Ramanujan) * f = mean speed
    h = ((A - B) / (A + B)) ** 2
    perim = np.pi * (A + B) * (1 + 3 * h / (10 + np.sqrt(4 - 3 * h)))
    assert m["mean_velocity_mm_s"] == pytest.approx(perim * f, rel=2e-3)
    fm = frequency_measures(cop, fs_hz=fs)
    assert fm["ml_median_freq_hz"] == pytest.approx(0.5, abs=0.1)
    assert fm["ap_f95_hz"] == pytest.approx(0.5, abs=0.15)  # Hann leakage, 0.1 Hz bins


def test_frequency_measures_need_10_s():
    cop = np.random.default_rng(0).normal(size=(500, 2))
    assert frequency_measures(cop, fs_hz=100.0)["ml_median_freq_hz"] is None
