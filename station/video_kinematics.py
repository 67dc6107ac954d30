"""Per-repetition pelvic drop and knee FPPA from a trial's video (single-leg squat).

Glue between the stored video and the pure camera analysis: decode the MP4 frame by
frame (never the whole video in memory), track the markers
(:func:`station.analysis.markers.track_markers`), compute the frontal-plane angles
corrected by the camera roll (:func:`station.analysis.kinematics.frontal_kinematics`)
and take their peaks in each repetition window found on the force plates
(:func:`station.analysis.kinematics.rep_kinematics`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from station.analysis.kinematics import frontal_kinematics, rep_kinematics
from station.analysis.markers import track_markers
from station.core.errors import InputError
from station.core.geometry import PLATES, Leg


def _frames(path: str | Path) -> Iterator[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def squat_video_kinematics(
    video_path: str | Path,
    frame_t_ns: np.ndarray,
    *,
    trial_t0_ns: int,
    stance_leg: str,
    reps: Sequence[Mapping[str, Any]],
    roll_deg: float = 0.0,
) -> list[dict[str, float | None]]:
    """Peak pelvic drop and knee FPPA per repetition (see :func:`rep_kinematics`)."""
    if stance_leg not in PLATES:
        raise InputError(f"stance leg must be left or right, got {stance_leg!r}")
    leg: Leg = "left" if stance_leg == "left" else "right"
    positions, _ = track_markers(_frames(video_path))
    n = min(len(positions), len(frame_t_ns))
    t_s = (np.asarray(frame_t_ns[:n], dtype=np.int64) - int(trial_t0_ns)) / 1e9
    angles = frontal_kinematics(positions[:n], stance_leg=leg, roll_deg=roll_deg)
    return rep_kinematics(t_s, angles["pelvic_obliquity_deg"], angles["knee_fppa_deg"], reps=reps)
