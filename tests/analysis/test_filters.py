import numpy as np

from station.analysis.filters import (
    butter_lowpass,
    finite_runs,
    is_regular,
    lowpass_cutoff_hz,
    resample_uniform,
    sample_rate_hz,
)


def test_cutoff_is_10_hz_or_a_quarter_of_the_rate():
    assert lowpass_cutoff_hz(80.0) == 10.0
    assert lowpass_cutoff_hz(1000.0) == 10.0
    assert lowpass_cutoff_hz(20.0) == 5.0


def test_sample_rate_from_timestamps_ignores_one_dropped_frame():
    t = np.arange(0, 5, 1 / 80)
    t = np.delete(t, 100)
    assert abs(sample_rate_hz(t) - 80.0) < 1e-6


def test_lowpass_keeps_slow_sway_removes_fast_noise_and_has_no_lag():
    fs = 200.0
    t = np.arange(0, 20, 1 / fs)
    slow = 5 * np.sin(2 * np.pi * 0.5 * t)
    fast = 2 * np.sin(2 * np.pi * 40 * t)
    y = butter_lowpass(slow + fast, fs_hz=fs, cutoff_hz=10.0)
    mid = slice(400, -400)
    assert np.max(np.abs(y[mid] - slow[mid])) < 0.02  # 40 Hz gone (8th-order roll-off), 0.5 Hz intact
    # zero lag: cross-correlation peak at 0
    lag = np.argmax(np.correlate(y[mid], slow[mid], "full")) - (len(slow[mid]) - 1)
    assert lag == 0


def test_lowpass_filters_each_finite_run_and_keeps_nan_gaps():
    fs = 100.0
    x = np.sin(np.arange(1000) / 30.0)
    x[400:450] = np.nan
    y = butter_lowpass(x, fs_hz=fs)
    assert np.isnan(y[400:450]).all()
    assert np.isfinite(y[:400]).all() and np.isfinite(y[450:]).all()
    assert finite_runs(np.isfinite(x)) == [(0, 400), (450, 1000)]


def test_resample_irregular_linear_signal_exactly():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.008, 0.017, 400))
    assert not is_regular(t)
    x = np.column_stack([3 * t + 1, -2 * t])
    tu, xu = resample_uniform(t, x, fs_hz=80.0)
    assert is_regular(tu)
    assert np.allclose(xu[:, 0], 3 * tu + 1) and np.allclose(xu[:, 1], -2 * tu)
