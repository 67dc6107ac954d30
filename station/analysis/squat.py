"""Single-leg squat: repetitions from the vertical force, per-repetition sway, score.

Each squat moves the centre of mass (CoM) down and up. Newton's second law turns the
total vertical force into CoM acceleration, a = (Fz - BW) / m: the descent starts
with unweighting (Fz < BW), is braked near the bottom (Fz > BW), and the rise ends
with a second unweighting. Integrating once gives the CoM vertical velocity, whose
negative lobe (descent) followed by a positive lobe (rise) is one repetition (the
impulse-momentum method used for jumps, e.g. Linthorne 2001, Am J Phys 69:1198).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.integrate import cumulative_trapezoid

from station.analysis.filters import butter_lowpass
from station.analysis.sway import sway_measures
from station.core.physics import G_M_S2
from station.core.reference import (
    FPPA_HEALTHY_MEAN_DEG,
    FPPA_HEALTHY_SD_DEG,
    FPPA_PATELLOFEMORAL_PAIN_MEAN_DEG,
)

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
#: camera angles (only with video): no penalty up to the healthy value, then each
#: half-value beyond it halves the score (see :func:`stability_score`)
FPPA_HEALTHY_MAX_DEG = float(FPPA_HEALTHY_MEAN_DEG + FPPA_HEALTHY_SD_DEG)  # healthy 8 +- 5: mean + 1 SD = 13
SCORE_HALF_FPPA_DEG = float(FPPA_PATELLOFEMORAL_PAIN_MEAN_DEG - FPPA_HEALTHY_MEAN_DEG)  # 17 - 8 = 9
PELVIC_DROP_HEALTHY_MAX_DEG = 4.0
SCORE_HALF_PELVIC_DROP_DEG = 4.0


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
    upward speed falls back below 10 % of its peak. A repetition whose rise is still
    going at the last sample (a record stopped mid-rise) is not returned.
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
        if ub >= len(v):
            break  # the record ends during the rise: not a whole repetition
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


def stability_score(
    *,
    ml_rms_mm: float,
    mean_velocity_mm_s: float,
    touchdowns: int,
    peak_pelvic_drop_deg: float | None = None,
    peak_fppa_deg: float | None = None,
) -> float:
    """Single-leg squat stability score, 0-100 (100 = no sway, no touch-down).

    Parameters
    ----------
    ml_rms_mm : mean per-repetition ML RMS of the stance CoP, mm.
    mean_velocity_mm_s : mean per-repetition CoP mean velocity, mm/s.
    touchdowns : touch-downs of the other foot during the test.
    peak_pelvic_drop_deg : mean over the repetitions of the peak contralateral pelvic
        drop from the video, degrees (+ = drop on the unsupported side); None (or NaN)
        without video.
    peak_fppa_deg : mean over the repetitions of the peak knee frontal plane projection
        angle from the video, degrees (+ = valgus); None (or NaN) without video.

    Returns
    -------
    float
        100 * 2 ** -(ml_rms_mm / 10 + mean_velocity_mm_s / 200 + touchdowns / 1
        + max(drop - 4, 0) / 4 + max(fppa - 13, 0) / 9): every 10 mm of ML RMS, every
        200 mm/s of mean velocity and every touch-down halves the score; so does every
        4 degrees of pelvic drop beyond 4 degrees and every 9 degrees of FPPA beyond
        13 degrees. Strictly decreasing in the force inputs, non-increasing in the
        camera angles (flat within the healthy range); without the angles it is the
        force-only score. The raw metrics are always reported beside it.

    Notes
    -----
    The force half-values are this station's convention (not a published norm): they
    spread typical single-leg squats over 20-80. FPPA (definition: Willson & Davis 2008,
    J Orthop Sports Phys Ther 38:606): healthy single-leg squats show about 8 +- 5
    degrees, patellofemoral pain about 17 +- 5 degrees (project domain notes,
    "Knee frontal plane projection angle"); no penalty up to the
    healthy mean + 1 SD (13 degrees), and the distance between the group means (9 degrees)
    halves the score. Pelvic drop: each extra degree of contralateral pelvic drop was
    associated with clearly higher injury odds in runners (Bramah et al. 2018, Am J
    Sports Med 46:3023); no penalty up to 4 degrees (small obliquity plus the 2-D
    measurement error) and every further 4 degrees halve the score - station
    conventions, not published cut-offs.
    """
    p = (
        max(ml_rms_mm, 0.0) / SCORE_HALF_ML_RMS_MM
        + max(mean_velocity_mm_s, 0.0) / SCORE_HALF_VELOCITY_MM_S
        + max(touchdowns, 0) / SCORE_HALF_TOUCHDOWNS
    )
    if peak_pelvic_drop_deg is not None and math.isfinite(peak_pelvic_drop_deg):
        p += max(peak_pelvic_drop_deg - PELVIC_DROP_HEALTHY_MAX_DEG, 0.0) / SCORE_HALF_PELVIC_DROP_DEG
    if peak_fppa_deg is not None and math.isfinite(peak_fppa_deg):
        p += max(peak_fppa_deg - FPPA_HEALTHY_MAX_DEG, 0.0) / SCORE_HALF_FPPA_DEG
    return float(100.0 * 2.0 ** (-p))


def _mean_of(reps: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [float(r[key]) for r in reps if r.get(key) is not None and math.isfinite(float(r[key]))]
    return float(np.mean(values)) if values else None


def stability_score_from_reps(reps: Sequence[Mapping[str, Any]], /, *, touchdowns: int) -> float | None:
    """:func:`stability_score` of a set of repetitions (the dicts of ``squat.reps``).

    Parameters
    ----------
    reps : per-repetition dicts with ``ml_rms_mm`` and ``mean_velocity_mm_s`` (None when
        the CoP was missing), optionally ``peak_pelvic_drop_deg`` and ``peak_fppa_deg``
        (from the video; None for a repetition the camera could not measure).
    touchdowns : touch-downs of the other foot during the test.

    Returns
    -------
    The score from the means over the repetitions with force sway (and, separately, over
    the repetitions with each camera angle); None when no repetition has force sway.
    """
    good = [r for r in reps if r.get("ml_rms_mm") is not None and r.get("mean_velocity_mm_s") is not None]
    if not good:
        return None
    return stability_score(
        ml_rms_mm=float(np.mean([r["ml_rms_mm"] for r in good])),
        mean_velocity_mm_s=float(np.mean([r["mean_velocity_mm_s"] for r in good])),
        touchdowns=touchdowns,
        peak_pelvic_drop_deg=_mean_of(reps, "peak_pelvic_drop_deg"),
        peak_fppa_deg=_mean_of(reps, "peak_fppa_deg"),
    )
