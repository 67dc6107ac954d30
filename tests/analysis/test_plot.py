"""The plot series of a trial (station.analysis.plot): known answers on hand-made signals,
and on simulated trials of every protocol the drawn ellipse is the stored sway metric."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hardware.sim import simulate_trial
from station.analysis import analyze_corner_loads
from station.analysis.plot import (
    MAX_PLOT_POINTS,
    minmax_decimation_index,
    sway_cop_series,
    trial_plot,
)
from station.analysis.sway import CHI2_2DOF_95, ellipse95
from station.core.geometry import Geometry
from tests.analysis.helpers import loads_from_plates


def polygon_area_mm2(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def rotated_ellipse_path(t_s: np.ndarray, *, a_mm: float, b_mm: float, angle_rad: float, f_hz: float,
                         centre_mm: tuple[float, float]) -> np.ndarray:
    """A CoP going round an ellipse of semi-axes a, b turned by angle: its covariance over
    whole laps is R diag(a^2/2, b^2/2) R^T."""
    u, v = a_mm * np.cos(2 * np.pi * f_hz * t_s), b_mm * np.sin(2 * np.pi * f_hz * t_s)
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.column_stack((centre_mm[0] + c * u - s * v, centre_mm[1] + s * u + c * v))


def test_ellipse95_of_a_known_ellipse() -> None:
    fs, a, b, angle = 100.0, 8.0, 3.0, np.radians(30.0)
    t = np.arange(int(20 * fs)) / fs  # 5 whole laps at 0.25 Hz
    e = ellipse95(rotated_ellipse_path(t, a_mm=a, b_mm=b, angle_rad=angle, f_hz=0.25, centre_mm=(12.0, -4.0)))
    k = np.sqrt(CHI2_2DOF_95 / 2)  # the 95 % ellipse of a path with variance a^2/2 along its axis
    assert e.semi_axes_mm == pytest.approx((k * a, k * b), rel=1e-3)
    assert e.angle_rad == pytest.approx(angle, abs=1e-3)
    assert e.centre_mm == pytest.approx((12.0, -4.0), abs=1e-9)
    assert e.area_mm2 == pytest.approx(np.pi * e.semi_axes_mm[0] * e.semi_axes_mm[1], rel=1e-9)
    # the outline: on the ellipse, and the polygon through it encloses n/(2 pi) sin(2 pi/n) of it
    out = e.outline_mm(180)
    assert out.shape == (180, 2)
    c, s = np.cos(-angle), np.sin(-angle)
    d = out - np.asarray(e.centre_mm)
    u, v = c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]
    assert np.allclose((u / e.semi_axes_mm[0]) ** 2 + (v / e.semi_axes_mm[1]) ** 2, 1.0)
    assert polygon_area_mm2(out) == pytest.approx(e.area_mm2 * 180 / (2 * np.pi) * np.sin(2 * np.pi / 180), rel=1e-12)


@pytest.mark.parametrize("angle_deg", [-80.0, 0.0, 45.0, 90.0])
def test_ellipse95_angle_is_the_major_axis_direction(angle_deg: float) -> None:
    t = np.arange(2000) / 100.0
    e = ellipse95(rotated_ellipse_path(t, a_mm=5.0, b_mm=1.0, angle_rad=np.radians(angle_deg), f_hz=0.25, centre_mm=(0, 0)))
    assert -np.pi / 2 < e.angle_rad <= np.pi / 2
    # an axis has no direction: compare modulo pi
    diff = (e.angle_rad - np.radians(angle_deg) + np.pi / 2) % np.pi - np.pi / 2
    assert abs(diff) < 1e-3


def bilateral_trial(cop_offset_mm: np.ndarray, t_s: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Loads of two plates carrying 350 N each, each plate's CoP at its centre plus the
    same offset: the combined CoP is the mean of the plate centres plus that offset."""
    n = len(t_s)
    fz = np.full((n, 2), 350.0)
    cop = np.empty((n, 2, 2))
    for k, p in enumerate(("left", "right")):
        cop[:, k] = np.asarray(geometry.plates[p].center_mm) + cop_offset_mm
    return loads_from_plates(fz, cop, geometry)


def test_bilateral_stance_on_a_known_ellipse() -> None:
    """A combined CoP going round a known ellipse: the plot's ellipse is that ellipse (the
    0.25 Hz path passes the 10 Hz low-pass) and is exactly the stored sway area."""
    g = Geometry()
    fs, a, b, angle = 100.0, 8.0, 3.0, np.radians(30.0)
    t = np.arange(int(21 * fs) + 1) / fs  # window 1-21 s: 5 whole laps
    offset = rotated_ellipse_path(t, a_mm=a, b_mm=b, angle_rad=angle, f_hz=0.25, centre_mm=(0.0, 5.0))
    loads = bilateral_trial(offset, t, g)
    metrics = analyze_corner_loads(t, loads, geometry=g, protocol="bilateral_stance")
    plot = trial_plot(t, loads, geometry=g, metrics=metrics)
    assert plot.sway_cop == "combined" and plot.window_s == (1.0, 21.0) and plot.warnings == []
    assert plot.ellipse is not None and plot.ellipse_outline_mm is not None
    assert plot.ellipse.area_mm2 == pytest.approx(metrics["sway"]["ellipse95_area_mm2"], rel=1e-12)
    k = np.sqrt(CHI2_2DOF_95 / 2)
    assert plot.ellipse.semi_axes_mm == pytest.approx((k * a, k * b), rel=2e-3)
    assert plot.ellipse.angle_rad == pytest.approx(angle, abs=2e-3)
    mid = np.mean([g.plates[p].center_mm for p in ("left", "right")], axis=0)
    assert plot.ellipse.centre_mm == pytest.approx((mid[0], mid[1] + 5.0), abs=0.05)
    # 2101 samples: decimated to at most MAX_PLOT_POINTS real samples
    assert len(plot.t_s) <= MAX_PLOT_POINTS and plot.n_samples == len(t)
    assert np.array_equal(plot.t_s, t[plot.sample_index])
    assert np.allclose(plot.fz_n, 350.0) and np.allclose(plot.total_fz_n, 700.0)
    assert np.allclose(plot.cop_mm[:, 2], np.asarray(mid) + offset[plot.sample_index], atol=1e-9)


def test_cop_is_nan_below_the_contact_threshold() -> None:
    """The one rule of station.core.physics: loaded at 20 N and above."""
    g = Geometry()
    fz_left = np.array([0.0, 19.99, 20.0, 25.0, 300.0])
    fz = np.column_stack([fz_left, np.zeros(5)])
    cop = np.zeros((5, 2, 2))
    cop[:, 0] = np.asarray(g.plates["left"].center_mm) + [10.0, -20.0]
    cop[:, 1] = g.plates["right"].center_mm
    t = np.arange(5) / 80.0
    plot = trial_plot(t, loads_from_plates(fz, cop, g), geometry=g, metrics={})
    left_has = np.isfinite(plot.cop_mm[:, 0]).all(axis=1)
    assert left_has.tolist() == [False, False, True, True, True]
    assert np.isnan(plot.cop_mm[:, 1]).all()  # the empty right plate has none
    assert np.isfinite(plot.cop_mm[:, 2]).all(axis=1).tolist() == [False, False, True, True, True]
    assert plot.cop_mm[4, 0] == pytest.approx(cop[4, 0])
    # no stored analysis: no window, no ellipse, no reps
    assert plot.window_s is None and plot.ellipse is None and plot.ellipse_outline_mm is None and plot.reps == []


def test_minmax_decimation_keeps_every_peak() -> None:
    n = 24_000  # 5 minutes at 80 Hz
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(300.0, 5.0, n), rng.normal(300.0, 5.0, n)])
    spikes = [777, 12_345, 23_998]
    x[spikes, 0] = 2500.0  # landings: one sample each
    x[5_000, 1] = -40.0   # a dip
    idx = minmax_decimation_index(x, max_points=2000)
    assert len(idx) <= 2000 and np.all(np.diff(idx) > 0)
    assert idx[0] == 0 and idx[-1] == n - 1
    assert set(spikes) <= set(idx.tolist()) and 5_000 in idx
    # taking every k-th sample instead would have missed them
    k = -(-n // 2000)
    assert not set(spikes) & set(range(0, n, k)) - {0}
    # short series are kept whole
    assert np.array_equal(minmax_decimation_index(x[:1500]), np.arange(1500))


@pytest.mark.parametrize("n", [2001, 2002, 4003, 99_991])
def test_minmax_decimation_stays_within_the_bound(n: int) -> None:
    x = np.sin(np.arange(n) * 0.37)[:, None] * np.array([1.0, -2.0])
    idx = minmax_decimation_index(x, max_points=2000)
    assert len(idx) <= 2000 and idx[-1] == n - 1 and np.all(np.diff(idx) > 0)
    assert x[:, 0].argmax() in idx and x[:, 1].argmin() in idx


def test_sway_cop_series_follows_the_stored_result() -> None:
    assert sway_cop_series({"sway": None, "single_leg": {"leg": "left"}}) is None
    assert sway_cop_series({"sway": {"ml_rms_mm": 1.0}, "single_leg": {"leg": "right"}}) == "right"
    assert sway_cop_series({"sway": {"ml_rms_mm": 1.0}, "single_leg": None}) == "combined"
    assert sway_cop_series({}) is None


MOVED = Geometry.from_dict({
    "plates": {
        "left": {"center_mm": [-230.0, 40.0], "cells_mm": {"fl": [-120.0, 180.0], "fr": [120.0, 180.0],
                                                          "bl": [-120.0, -180.0], "br": [120.0, -180.0]}},
        "right": {"center_mm": [210.0, -15.0], "cells_mm": {"fl": [-140.0, 200.0], "fr": [140.0, 200.0],
                                                           "bl": [-140.0, -200.0], "br": [140.0, -200.0]}},
    }
})

SIM_CASES: list[tuple[str, int, str | None, dict[str, Any]]] = [
    ("bilateral_stance", 1, None, {}),
    ("single_leg_stance", 5, "left", {}),
    ("single_leg_stance", 6, "right", {}),
    ("single_leg_squat", 7, "left", {"reps": 3}),
    ("hop_and_stick", 10, "left", {}),
    ("hop_and_stick", 11, "right", {}),
    ("weight_shift", 3, "left", {}),
    ("stepping", 9, None, {}),
    ("single_leg_stance", 21, "right", {"geometry": MOVED}),
    ("bilateral_stance", 22, None, {"geometry": MOVED, "duration_s": 90.0}),
]


@pytest.mark.parametrize(("protocol", "seed", "leg", "options"), SIM_CASES)
def test_simulated_trials_draw_their_stored_ellipse(protocol: str, seed: int, leg: str | None, options: dict[str, Any]) -> None:
    trial = simulate_trial(protocol, seed=seed, leg=leg, **options)
    metrics = analyze_corner_loads(trial.t_s, trial.loads_n, geometry=trial.geometry, protocol=protocol,
                                   leg=leg, invalid=trial.invalid)
    plot = trial_plot(trial.t_s, trial.loads_n, geometry=trial.geometry, metrics=metrics)
    assert plot.warnings == []
    assert len(plot.t_s) <= MAX_PLOT_POINTS
    stored = metrics["sway"]
    if stored is None:  # weight shift, stepping: no sway, so no ellipse
        assert plot.ellipse is None and plot.sway_cop is None
    else:
        assert plot.ellipse is not None and plot.ellipse_outline_mm is not None
        assert plot.ellipse.area_mm2 == pytest.approx(stored["ellipse95_area_mm2"], rel=1e-12)
        n = len(plot.ellipse_outline_mm)
        assert polygon_area_mm2(plot.ellipse_outline_mm) == pytest.approx(
            stored["ellipse95_area_mm2"] * n / (2 * np.pi) * np.sin(2 * np.pi / n), rel=1e-9)
        assert plot.sway_cop == (leg or "combined")
        # the ellipse lies on the stance plate (or between the plates) of the trial's geometry
        g = trial.geometry
        plate = g.plates[leg] if leg else None
        cx = plot.ellipse.centre_mm[0]
        if plate is not None:
            xs = [plate.center_mm[0] + c[0] for c in plate.cells_mm.values()]
            assert min(xs) < cx < max(xs)
        else:
            assert g.plates["left"].center_mm[0] < cx < g.plates["right"].center_mm[0]
    assert plot.window_s == (tuple(metrics["analysis_window_s"]) if metrics["analysis_window_s"] else None)
    reps = (metrics["squat"] or {}).get("reps") or []
    assert plot.reps == [{k: r[k] for k in ("start_s", "bottom_s", "end_s")} for r in reps]
    if protocol == "single_leg_squat":
        assert len(plot.reps) == 3


def test_an_ellipse_that_is_not_the_stored_one_is_reported() -> None:
    """Samples analysed under another geometry (or software) than the plot's: the page
    says its ellipse differs from the stored area instead of showing two numbers silently."""
    # MOVED spreads the right plate's cells wider: the same loads give a larger CoP excursion
    trial = simulate_trial("single_leg_stance", seed=6, leg="right")
    metrics = analyze_corner_loads(trial.t_s, trial.loads_n, geometry=trial.geometry, protocol="single_leg_stance", leg="right")
    plot = trial_plot(trial.t_s, trial.loads_n, geometry=MOVED, metrics=metrics)
    assert plot.ellipse is not None
    assert len(plot.warnings) == 1 and "differs from the stored sway area" in plot.warnings[0]


def test_loads_that_do_not_match_the_times_are_refused() -> None:
    from station.core.errors import InputError

    t = np.arange(10) / 80.0
    with pytest.raises(InputError, match=r"\(10, 8\)"):
        trial_plot(t, np.zeros((9, 8)), geometry=Geometry(), metrics={})
    with pytest.raises(InputError, match=r"\(10, 8\)"):
        trial_plot(t, np.zeros((10, 4)), geometry=Geometry(), metrics={})
    with pytest.raises(InputError, match="max_points"):
        minmax_decimation_index(np.zeros((100, 2)), max_points=5)


def test_samples_after_the_analysed_end_are_left_out_and_said() -> None:
    """A recorder that stored frames after the end it analysed (a squat set ends after the
    fact): the plot covers the analysed samples, so its ellipse is still the stored one."""
    trial = simulate_trial("single_leg_squat", seed=7, leg="left", reps=2)
    n = len(trial.t_s) - 14
    metrics = analyze_corner_loads(trial.t_s[:n], trial.loads_n[:n], geometry=trial.geometry,
                                   protocol="single_leg_squat", leg="left")
    plot = trial_plot(trial.t_s, trial.loads_n, geometry=trial.geometry, metrics=metrics)
    assert plot.n_samples == n and plot.t_s[-1] == trial.t_s[n - 1]
    assert plot.ellipse is not None
    assert plot.ellipse.area_mm2 == pytest.approx(metrics["sway"]["ellipse95_area_mm2"], rel=1e-12)
    assert len(plot.warnings) == 1 and plot.warnings[0].startswith("14 samples stored after the analysed end")
    # with all the samples it would not have been
    everything = trial_plot(trial.t_s, trial.loads_n, geometry=trial.geometry, metrics={**metrics, "duration_s": None})
    assert everything.n_samples == len(trial.t_s) and "differs from the stored sway area" in everything.warnings[0]
