"""What a trial's results page draws, computed on the station (the kiosk computes nothing).

:func:`trial_plot` turns a trial's samples (calibrated with the trial's own calibration
and zero) and its stored analysis into the series the plots show: force per plate and
in total, the CoP per plate and combined, the analysis window, the 95 % ellipse and the
squat repetitions. The ellipse is computed by :func:`station.analysis.sway.ellipse95`,
the function behind the stored ``sway.ellipse95_area_mm2``, on the same CoP series,
the same uniform grid, the same low-pass and the same window as the analysis
(:func:`station.analysis.report.analyze_corner_loads`), so its area is the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from station.analysis.cop import forces_and_cops
from station.analysis.filters import butter_lowpass, is_regular, resample_uniform, sample_rate_hz
from station.analysis.sway import Ellipse95, ellipse95
from station.core.errors import InputError
from station.core.geometry import Geometry

#: Most points of a plotted time series (a 5-minute trial at 80 Hz has 24,000 samples).
MAX_PLOT_POINTS = 2000
#: Points on the drawn ellipse outline (the polygon keeps 99.98 % of the ellipse's area).
ELLIPSE_OUTLINE_POINTS = 180
CopName = Literal["left", "right", "combined"]
#: The CoP series, in the order of :attr:`TrialPlot.cop_mm`'s second axis.
COP_SERIES: tuple[CopName, ...] = ("left", "right", "combined")
#: Relative difference between the recomputed and the stored ellipse area that is reported.
AREA_MISMATCH_REL = 1e-6


@dataclass(frozen=True)
class TrialPlot:
    """The plot series of one trial.

    Attributes
    ----------
    n_samples : samples plotted from (those the stored analysis covered).
    sample_index : (M,) index of each plotted point among the trial's samples.
    t_s : (M,) time of each plotted point, s from the first sample.
    fz_n : (M, 2) vertical force [left, right], N.
    total_fz_n : (M,) vertical force of both plates, N.
    cop_mm : (M, 3, 2) CoP [left, right, combined][x, y], mm, lab frame; NaN where that
        plate (or both, for the combined CoP) carries less than the contact threshold
        (:func:`station.analysis.cop.forces_and_cops`).
    window_s : analysis window (start, end), s, as stored; None when there is none.
    sway_cop : the CoP series the sway measures describe ("left", "right", "combined");
        None when the trial has no sway measures.
    ellipse : the 95 % ellipse of that CoP in the window (filtered as the analysis
        filters it); None without sway measures.
    ellipse_outline_mm : (K, 2) points on that ellipse, mm; None without an ellipse.
    reps : squat repetitions as stored: ``start_s``, ``bottom_s``, ``end_s``.
    warnings : what the plot could not reproduce (e.g. the ellipse area differs from the
        stored one because the trial was analysed from other data).
    """

    n_samples: int
    sample_index: np.ndarray
    t_s: np.ndarray
    fz_n: np.ndarray
    total_fz_n: np.ndarray
    cop_mm: np.ndarray
    window_s: tuple[float, float] | None
    sway_cop: CopName | None
    ellipse: Ellipse95 | None
    ellipse_outline_mm: np.ndarray | None
    reps: list[dict[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def minmax_decimation_index(values: np.ndarray, *, max_points: int = MAX_PLOT_POINTS) -> np.ndarray:
    """Indices of the samples to plot: per bucket of consecutive samples, the minimum and
    the maximum of each column, plus the first and the last sample.

    Parameters
    ----------
    values : (N, K) the series whose extremes must survive (no NaN), e.g. the plate forces.
    max_points : at most this many indices are returned (>= 2 * K + 2).

    Returns
    -------
    (M,) increasing sample indices, M <= max_points; all N when N <= max_points.

    Notes
    -----
    Min-max decimation keeps every peak and trough of each column (a landing's force
    peak is never dropped), where taking every k-th sample would alias a fast signal
    onto a slower one and miss peaks. All series are then taken at these same samples,
    so every plotted point is a real sample of the trial.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    n, k_cols = v.shape
    if n <= max_points:
        return np.arange(n)
    if max_points < 2 * k_cols + 2:
        raise InputError(f"max_points must be at least {2 * k_cols + 2}, got {max_points}")
    n_buckets = (max_points - 2) // (2 * k_cols)
    size = -(-n // n_buckets)  # ceil: every sample falls in a bucket
    n_buckets = -(-n // size)
    padded = np.concatenate([v, np.repeat(v[-1:], n_buckets * size - n, axis=0)]).reshape(n_buckets, size, k_cols)
    start = (np.arange(n_buckets) * size)[:, None]
    picks = np.concatenate([(start + padded.argmin(axis=1)).ravel(), (start + padded.argmax(axis=1)).ravel(), [0, n - 1]])
    return np.unique(np.minimum(picks, n - 1))


def sway_cop_series(metrics: dict[str, Any]) -> CopName | None:
    """The CoP series a stored analysis computed its sway measures on.

    A single-leg trial sways on its stance plate, a two-leg trial on the combined CoP
    (:func:`station.analysis.report.analyze_corner_loads`); a result has a ``single_leg``
    block exactly when its protocol is single-leg (checked by
    :class:`station.core.protocols.Protocol`). None when there are no sway measures.
    """
    if not metrics.get("sway"):
        return None
    leg = (metrics.get("single_leg") or {}).get("leg")
    return next((name for name in COP_SERIES[:2] if name == leg), "combined")


def _sway_ellipse(
    t_s: np.ndarray, cop_mm: np.ndarray, *, window_s: tuple[float, float], filter_spec: dict[str, Any] | None
) -> Ellipse95 | None:
    """The ellipse of one CoP series on the analysis's uniform grid, low-passed as the
    analysis low-passes it (its stored ``filter`` cut-off and order), in the window."""
    fs = sample_rate_hz(t_s)
    tu, cu = (t_s, cop_mm) if is_regular(t_s) else resample_uniform(t_s, cop_mm, fs_hz=fs)
    spec = filter_spec or {}
    kwargs: dict[str, Any] = {"fs_hz": fs, "cutoff_hz": spec.get("cutoff_hz")}
    if spec.get("order") is not None:
        kwargs["order"] = int(spec["order"])
    filtered = butter_lowpass(cu, **kwargs)
    seg = filtered[(tu >= window_s[0]) & (tu <= window_s[1])]
    if len(seg) < 3 or not np.isfinite(seg).all():
        return None
    return ellipse95(seg)


def trial_plot(
    t_s: np.ndarray,
    loads_n: np.ndarray,
    *,
    geometry: Geometry,
    metrics: dict[str, Any],
    max_points: int = MAX_PLOT_POINTS,
    outline_points: int = ELLIPSE_OUTLINE_POINTS,
) -> TrialPlot:
    """The plot series of a trial from its samples and its stored analysis.

    Parameters
    ----------
    t_s : (N,) sample times, s from the first sample, increasing (as the analysis got them).
    loads_n : (N, 8) vertical load per cell, N, CHANNELS order, calibrated with the
        trial's own calibration and zero. Samples after the stored ``duration_s`` (which
        the analysis did not see) are left out, with a warning.
    geometry : the plate geometry the trial was recorded (and analysed) with.
    metrics : the trial's stored analysis result (``analysis_window_s``, ``sway``,
        ``single_leg``, ``filter``, ``squat``).
    max_points : most plotted points (min-max decimation, :func:`minmax_decimation_index`).
    outline_points : points on the ellipse outline.

    Returns
    -------
    TrialPlot
        Forces and CoPs at the decimated samples (CoP NaN below the contact threshold,
        :mod:`station.analysis.cop`), the stored window and repetitions, and the 95 %
        ellipse of the sway CoP with its outline.

    Raises
    ------
    InputError
        When ``loads_n`` is not (len(t_s), 8).
    """
    t = np.asarray(t_s, dtype=float)
    loads = np.asarray(loads_n, dtype=float)
    warnings: list[str] = []
    analysed_s = metrics.get("duration_s")
    if isinstance(analysed_s, int | float) and len(t) and len(loads) == len(t) and t[-1] - t[0] > analysed_s:
        # Samples stored after the end the analysis saw (a recording ended after the fact,
        # e.g. on the last squat's end, once later frames were written): the plot shows
        # what the stored metrics describe, and says so.
        keep = int(np.searchsorted(t - t[0], analysed_s, side="right"))
        warnings.append(
            f"{len(t) - keep} samples stored after the analysed end ({analysed_s:.2f} s) are not drawn; "
            "recompute the trial to analyse them too."
        )
        t, loads = t[:keep], loads[:keep]
    fz, cop = forces_and_cops(loads, geometry=geometry, n_samples=len(t))

    stored_window = metrics.get("analysis_window_s")
    window = (float(stored_window[0]), float(stored_window[1])) if stored_window else None
    series = sway_cop_series(metrics)
    ell: Ellipse95 | None = None
    if series is not None and window is not None and len(t) >= 2:
        ell = _sway_ellipse(t, cop[:, COP_SERIES.index(series)], window_s=window, filter_spec=metrics.get("filter"))
        stored = (metrics.get("sway") or {}).get("ellipse95_area_mm2")
        if ell is None:
            warnings.append("the sway CoP could not be reproduced from the samples; no ellipse drawn.")
        elif isinstance(stored, int | float) and abs(ell.area_mm2 - stored) > AREA_MISMATCH_REL * abs(stored):
            warnings.append(
                f"the ellipse drawn ({ell.area_mm2:.0f} mm²) differs from the stored sway area ({stored:.0f} mm²): "
                "the trial was analysed from other data; recompute it."
            )

    idx = minmax_decimation_index(fz, max_points=max_points) if len(t) else np.zeros(0, dtype=int)
    reps = [
        {k: float(r[k]) for k in ("start_s", "bottom_s", "end_s")}
        for r in ((metrics.get("squat") or {}).get("reps") or [])
    ]
    return TrialPlot(
        n_samples=len(t),
        sample_index=idx,
        t_s=t[idx],
        fz_n=fz[idx],
        total_fz_n=fz[idx].sum(axis=1),
        cop_mm=cop[idx],
        window_s=window,
        sway_cop=series,
        ellipse=ell,
        ellipse_outline_mm=ell.outline_mm(outline_points) if ell is not None else None,
        reps=reps,
        warnings=warnings,
    )
