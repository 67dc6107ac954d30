"""Frontal-plane kinematics from 2-D marker positions (pure, no I/O).

Image coordinates: u to the right, v down, pixels. The camera faces the athlete; the
pelvis markers sit on the left and right ASIS, the knee marker on the knee centre and
the ankle marker midway between the malleoli of the stance leg. Every function is
independent of which side of the image a marker is on, so a camera behind the athlete
(markers on the PSIS) gives the same signs.

- Pelvic obliquity: angle of the line between the two pelvis markers to the true
  horizontal (image line rotated back by the camera roll, see
  :mod:`calibration.camera_roll`), positive when the pelvis drops on the unsupported
  (swing) side, i.e. the contralateral pelvic drop of Bramah et al. 2018 (Am J Sports
  Med 46:3023). 2-D measures of it agree with 3-D (ICC ~0.9).
- Knee frontal plane projection angle (FPPA): the angle between the thigh line
  (pelvis marker of the stance side -> knee) and the shank line (knee -> ankle),
  180 degrees minus the hip-knee-ankle angle, positive when the knee lies medial of
  the hip-ankle line (valgus), per Willson & Davis 2008 (J Orthop Sports Phys Ther
  38:606) with the proximal thigh point on the ASIS-knee line as in Munro, Herrington
  & Carolan 2012 (J Sport Rehabil 21:7); the direction of the line only matters, so
  the ASIS marker serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from station.core.geometry import Leg
from station.core.markers import MARKER_NAMES


def _rotate(v: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate (..., 2) image vectors by ``angle_deg`` (clockwise on screen, v down)."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return np.stack([v[..., 0] * c - v[..., 1] * s, v[..., 0] * s + v[..., 1] * c], axis=-1)


def pelvic_obliquity_deg(
    stance_pelvis_px: np.ndarray,
    swing_pelvis_px: np.ndarray,
    /,
    *,
    roll_deg: float = 0.0,
) -> np.ndarray:
    """Pelvic obliquity per frame, + = drop on the unsupported side.

    Parameters
    ----------
    stance_pelvis_px, swing_pelvis_px
        (..., 2) image positions of the pelvis marker on the stance side and on the
        unsupported (swing) side.
    roll_deg
        Camera roll (angle at which a level line appears in the image, clockwise on
        screen positive), from :func:`calibration.camera_roll.measure_roll_deg`.

    Returns
    -------
    (...) obliquity in degrees; NaN where a marker is missing.

    Notes
    -----
    obliquity = atan2(dv', |du'|) with (du', dv') = R(-roll) (swing - stance): the
    image is levelled first, then the drop of the swing side (v grows downwards) over
    the horizontal distance gives the angle (Bramah et al. 2018).
    """
    d = _rotate(np.asarray(swing_pelvis_px, float) - np.asarray(stance_pelvis_px, float), -roll_deg)
    return np.rad2deg(np.arctan2(d[..., 1], np.abs(d[..., 0])))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def knee_fppa_deg(
    hip_px: np.ndarray,
    knee_px: np.ndarray,
    ankle_px: np.ndarray,
    /,
    *,
    medial_ref_px: np.ndarray,
) -> np.ndarray:
    """Knee frontal plane projection angle per frame, + = valgus.

    Parameters
    ----------
    hip_px, knee_px, ankle_px
        (..., 2) image positions of the stance-side pelvis (ASIS) marker, the knee and
        the ankle marker.
    medial_ref_px
        (..., 2) a point medial of the stance leg: the other pelvis marker. It tells
        which side is medial whatever the camera's view (front or back).

    Returns
    -------
    (...) FPPA in degrees; NaN where a marker is missing.

    Notes
    -----
    FPPA = atan2(|t x s|, t . s) with thigh t = knee - hip and shank s = ankle - knee
    (180 deg minus the hip-knee-ankle angle; Willson & Davis 2008), signed + when the
    knee lies on the medial side of the hip-ankle line: sign(e x k) = sign(e x m) with
    e = ankle - hip, k = knee - hip, m = medial_ref - hip.
    """
    hip = np.asarray(hip_px, float)
    t = np.asarray(knee_px, float) - hip
    s = np.asarray(ankle_px, float) - np.asarray(knee_px, float)
    angle = np.rad2deg(np.arctan2(np.abs(_cross(t, s)), (t * s).sum(axis=-1)))
    e = np.asarray(ankle_px, float) - hip
    m = np.asarray(medial_ref_px, float) - hip
    medial = np.sign(_cross(e, t)) * np.sign(_cross(e, m))
    # A knee exactly on the line has sign 0: the angle is 0 then too.
    return np.where(medial < 0, -angle, angle)


def frontal_kinematics(
    positions_px: np.ndarray,
    /,
    *,
    stance_leg: Leg,
    roll_deg: float = 0.0,
    marker_names: Sequence[str] = MARKER_NAMES,
) -> dict[str, np.ndarray]:
    """Pelvic obliquity and knee FPPA per frame from tracked markers.

    Parameters
    ----------
    positions_px
        (T, M, 2) marker positions from :func:`station.analysis.markers.track_markers`.
    stance_leg
        ``"left"`` or ``"right"``: the leg the athlete stands on (knee and ankle
        markers are on it).
    roll_deg
        Camera roll from the view calibration.
    marker_names
        Names of the M marker columns; must include pelvis_left, pelvis_right, knee
        and ankle.

    Returns
    -------
    dict with ``pelvic_obliquity_deg`` and ``knee_fppa_deg``, each (T,).
    """
    if stance_leg not in ("left", "right"):
        raise ValueError(f"stance_leg must be 'left' or 'right', not {stance_leg!r}")
    col = {n: i for i, n in enumerate(marker_names)}
    p = np.asarray(positions_px, float)
    swing_leg = "right" if stance_leg == "left" else "left"
    stance_pelvis = p[:, col[f"pelvis_{stance_leg}"]]
    swing_pelvis = p[:, col[f"pelvis_{swing_leg}"]]
    return {
        "pelvic_obliquity_deg": pelvic_obliquity_deg(stance_pelvis, swing_pelvis, roll_deg=roll_deg),
        "knee_fppa_deg": knee_fppa_deg(
            stance_pelvis, p[:, col["knee"]], p[:, col["ankle"]], medial_ref_px=swing_pelvis
        ),
    }


def peak_per_rep(
    angle_deg: np.ndarray,
    t_s: np.ndarray,
    /,
    *,
    reps: Sequence[Mapping[str, Any]],
    min_coverage: float = 0.6,
) -> list[dict[str, float | None]]:
    """Largest value of an angle inside each repetition window.

    Parameters
    ----------
    angle_deg
        (T,) angle per frame, NaN in gaps.
    t_s
        (T,) frame times in seconds on the same axis as the rep windows (trial time).
    reps
        Rep windows from the force-plate segmentation, each with ``start_s`` and
        ``end_s``.
    min_coverage
        Fraction of the window's frames that must hold a value; below it the rep's
        peak is ``None`` (too much of it was hidden to know the peak).

    Returns
    -------
    One dict per rep: ``start_s``, ``end_s``, ``peak_deg``, ``t_peak_s`` and
    ``coverage`` (fraction of frames with a value).
    """
    a = np.asarray(angle_deg, float)
    t = np.asarray(t_s, float)
    if a.shape != t.shape:
        raise ValueError(f"angle_deg {a.shape} and t_s {t.shape} differ in shape")
    out: list[dict[str, float | None]] = []
    for rep in reps:
        start, end = float(rep["start_s"]), float(rep["end_s"])
        inside = (t >= start) & (t <= end)
        n = int(inside.sum())
        valid = inside & np.isfinite(a)
        coverage = float(valid.sum()) / n if n else 0.0
        peak: float | None = None
        t_peak: float | None = None
        if n and coverage >= min_coverage:
            i = int(np.flatnonzero(valid)[np.argmax(a[valid])])
            peak, t_peak = float(a[i]), float(t[i])
        out.append({"start_s": start, "end_s": end, "peak_deg": peak, "t_peak_s": t_peak, "coverage": coverage})
    return out


def rep_kinematics(
    t_s: np.ndarray,
    pelvic_obliquity: np.ndarray,
    knee_fppa: np.ndarray,
    /,
    *,
    reps: Sequence[Mapping[str, Any]],
    min_coverage: float = 0.6,
) -> list[dict[str, float | None]]:
    """Peak pelvic drop and peak knee FPPA per squat rep (both in degrees).

    Parameters
    ----------
    t_s
        (T,) frame times in seconds, trial time axis (as the rep windows).
    pelvic_obliquity, knee_fppa
        (T,) per-frame angles in degrees (:func:`frontal_kinematics`).
    reps
        Rep windows ``{start_s, end_s}`` from the force plates.
    min_coverage
        See :func:`peak_per_rep`.

    Returns
    -------
    One dict per rep: ``start_s``, ``end_s``, ``peak_pelvic_drop_deg``,
    ``t_peak_pelvic_drop_s``, ``peak_fppa_deg``, ``t_peak_fppa_s``,
    ``video_coverage`` (the smaller of the two coverages).
    """
    drop = peak_per_rep(pelvic_obliquity, t_s, reps=reps, min_coverage=min_coverage)
    fppa = peak_per_rep(knee_fppa, t_s, reps=reps, min_coverage=min_coverage)
    return [
        {
            "start_s": d["start_s"],
            "end_s": d["end_s"],
            "peak_pelvic_drop_deg": d["peak_deg"],
            "t_peak_pelvic_drop_s": d["t_peak_s"],
            "peak_fppa_deg": f["peak_deg"],
            "t_peak_fppa_s": f["t_peak_s"],
            "video_coverage": min(d["coverage"] or 0.0, f["coverage"] or 0.0),
        }
        for d, f in zip(drop, fppa, strict=True)
    ]
