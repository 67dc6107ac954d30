"""Single-leg squat: repetitions from the vertical force, per-repetition sway, score.

Each squat moves the centre of mass (CoM) down and up. Newton's second law turns the
total vertical force into CoM acceleration, a = (Fz - BW) / m: the descent starts
with unweighting (Fz < BW), is braked near the bottom (Fz > BW), and the rise ends
with a second unweighting. Integrating once gives the CoM vertical velocity, whose
negative lobe (descent) followed by a positive lobe (rise) is one repetition (the
impulse-momentum method used for jumps, e.g. Linthorne 2001, Am J Phys 69:1198).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import cumulative_trapezoid

from station.analysis.filters import butter_lowpass
from station.analysis.sway import sway_measures

G_M_S2 = 9.80665
#: low-pass for the force before integration (Hz): squats are below 1 Hz
SQUAT_FORCE_CUTOFF_HZ = 5.0
#: a descent/rise needs the CoM speed to exceed this (m/s)
MIN_SPEED_M_S = 0.05
#: and the CoM to drop at least this far (m)
MIN_DEPTH_M = 0.03

#: score half-values: each of these halves the stability score
SCORE_HALF_ML_RMS_MM = 10.0
SCORE_HALF_VELOCITY_MM_S = 200.0
SCORE_HALF_TOUCHDOWNS = 1.0


def com_velocity_m_s(total_fz_n: np.ndarray, *, fs_hz: float) -> np.ndarray:
    """Vertical CoM velocity from the total vertical force.

    Parameters
    ----------
    total_fz_n : (N,) total vertical force of both plates, N, uniform sampling; the
        athlete is assumed at rest at the first and the last sample.
    fs_hz : sample rate, Hz.

    Returns
    -------
    (N,) velocity, m/s (+ up). Body weight is the window's mean force (exact when the
    athlete starts and ends at rest: the net impulse is then zero); a quadratic drift
    (from a slowly drifting force offset) is removed by a least-squares fit.

    References
    ----------
    Impulse-momentum: v(t) = integral (F - BW) / m dt, m = BW / g (Linthorne 2001).
    """
    f = butter_lowpass(np.asarray(total_fz_n, dtype=float), fs_hz=fs_hz, cutoff_hz=min(SQUAT_FORCE_CUTOFF_HZ, fs_hz / 4))
    bw = float(np.mean(f))
    if bw <= 0:
        return np.zeros_like(f)
    a = (f - bw) / (bw / G_M_S2)
    v = cumulative_trapezoid(a, dx=1.0 / fs_hz, initial=0.0)
    # A force offset that drifts by a newton or two (load-cell drift, a slightly wrong
    # body weight) integrates into a slow bow of the velocity. Each repetition's velocity
    # integrates to ~0 (it ends where it began), so a least-squares quadratic through the
    # whole set captures the drift, not the squats.
    # Refit on the samples that look at rest, so the squats themselves do not bend the fit.
    x = np.linspace(-1.0, 1.0, len(v))
    drift = np.polyval(np.polyfit(x, v, 2), x)
    rest = np.abs(v - drift) < MIN_SPEED_M_S / 2
    if rest.sum() > max(10, len(v) // 10):
        drift = np.polyval(np.polyfit(x[rest], v[rest], 2), x)
    return v - drift


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    e = np.flatnonzero(np.diff(m))
    return list(zip(e[::2].tolist(), e[1::2].tolist(), strict=True))


def segment_reps(
    total_fz_n: np.ndarray,
    *,
    fs_hz: float,
    min_speed_m_s: float = MIN_SPEED_M_S,
    min_depth_m: float = MIN_DEPTH_M,
) -> list[tuple[int, int, int]]:
    """Repetitions as (start, bottom, end) sample indices.

    Parameters
    ----------
    total_fz_n : (N,) total vertical force, N, uniform sampling.
    fs_hz : sample rate, Hz.
    min_speed_m_s : a descent is CoM velocity below -this, a rise above +this.
    min_depth_m : minimum CoM drop of a repetition.

    Returns
    -------
    list of (start, bottom, end): start = where the downward CoM speed first exceeds
    10 % of its peak, bottom = velocity zero between descent and rise, end = where the
    upward speed falls back below 10 % of its peak.
    """
    v = com_velocity_m_s(total_fz_n, fs_hz=fs_hz)
    down = _runs(v < -min_speed_m_s)
    up = _runs(v > min_speed_m_s)
    reps: list[tuple[int, int, int]] = []
    last_end = 0
    pending: int | None = None  # start of a descent still waiting for its rise
    for k, (a, b) in enumerate(down):
        if a < last_end:
            continue
        if pending is None:
            pending = a
        rise = next(((ua, ub) for ua, ub in up if ua >= b), None)
        if rise is None:
            break
        ua, ub = rise
        if k + 1 < len(down) and down[k + 1][0] < ua:
            continue  # the descent paused and went on: one repetition
        start = pending
        pending = None
        # boundaries where the speed is back under 10 % of this repetition's peak:
        # the zero crossings themselves wander with the integration drift at rest
        v_down = -float(v[start:b].min())
        v_up = float(v[ua:ub].max())
        while start > last_end and v[start - 1] < -0.1 * v_down:
            start -= 1
        bottom = b
        while bottom < ua and v[bottom] < 0:
            bottom += 1
        end = ub
        while end < len(v) - 1 and v[end] > 0.1 * v_up:
            end += 1
        depth = float(-np.sum(v[start:bottom]) / fs_hz)
        if depth >= min_depth_m:
            reps.append((start, bottom, end))
            last_end = end
    return reps


def rep_sway(cop_mm: np.ndarray, *, fs_hz: float) -> dict[str, float | None]:
    """Sway of one repetition on the stance plate's (filtered) CoP.

    Returns ``ml_range_mm``, ``ml_rms_mm``, ``ap_range_mm``, ``mean_velocity_mm_s``
    as in :func:`station.analysis.sway.sway_measures` (Prieto et al. 1996); None where
    the CoP is missing for part of the repetition.
    """
    c = np.asarray(cop_mm, dtype=float)
    keys = ("ml_range_mm", "ml_rms_mm", "ap_range_mm", "mean_velocity_mm_s")
    if len(c) < 3 or not np.isfinite(c).all():
        return dict.fromkeys(keys)
    m = sway_measures(c, fs_hz=fs_hz)
    return {k: m[k] for k in keys}


def stability_score(*, ml_rms_mm: float, mean_velocity_mm_s: float, touchdowns: int) -> float:
    """Single-leg squat stability score, 0-100 (100 = no sway, no touch-down).

    Parameters
    ----------
    ml_rms_mm : mean per-repetition ML RMS of the stance CoP, mm.
    mean_velocity_mm_s : mean per-repetition CoP mean velocity, mm/s.
    touchdowns : touch-downs of the other foot during the test.

    Returns
    -------
    float
        100 * 2 ** -(ml_rms_mm / 10 + mean_velocity_mm_s / 200 + touchdowns / 1):
        every 10 mm of ML RMS, every 200 mm/s of mean velocity and every touch-down
        halves the score. Strictly decreasing in each input; the raw metrics are
        always reported beside it. The half-values are this station's convention
        (not a published norm): they spread typical single-leg squats over 20-80.
    """
    p = (
        max(ml_rms_mm, 0.0) / SCORE_HALF_ML_RMS_MM
        + max(mean_velocity_mm_s, 0.0) / SCORE_HALF_VELOCITY_MM_S
        + max(touchdowns, 0) / SCORE_HALF_TOUCHDOWNS
    )
    return float(100.0 * 2.0 ** (-p))
