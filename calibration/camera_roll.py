"""View calibration: measure the camera's roll so a tilted camera does not read as pelvic drop.

A one-off step after mounting the camera: hold a level bar (checked with a spirit
level) carrying the two pelvis-colour markers (magenta left, cyan right, ~400 mm
apart) in front of the camera at hip height for a second; or hang a plumb line with
the two markers (any order) and use ``reference="vertical"``. The roll is the angle
at which a level line appears in the image (clockwise on screen positive, image v
axis pointing down); :func:`station.analysis.kinematics.pelvic_obliquity_deg`
subtracts it. The result is a small dict (:meth:`CameraRoll.to_dict`) that the service
stores with the station's settings and passes to the analysis of every trial.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from station.analysis.markers import detect_markers
from station.core.errors import CalibrationError, InputError
from station.core.markers import DEFAULT_MARKERS, MarkerSpec

Reference = Literal["level", "vertical"]

#: Refuse a calibration whose frames disagree by more than this (the bar moved).
MAX_SPREAD_DEG = 0.5
#: Refuse a roll larger than this: re-mount the camera instead of correcting it.
MAX_ROLL_DEG = 15.0


@dataclass(frozen=True)
class CameraRoll:
    """The stored view calibration."""

    roll_deg: float
    reference: Reference
    n_frames: int
    spread_deg: float
    measured_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CameraRoll:
        try:
            ref = str(d.get("reference", "level"))
            if ref not in ("level", "vertical"):
                raise ValueError(f"reference must be 'level' or 'vertical', not {ref!r}")
            return cls(
                roll_deg=float(d["roll_deg"]),
                reference="vertical" if ref == "vertical" else "level",
                n_frames=int(d.get("n_frames", 0)),
                spread_deg=float(d.get("spread_deg", 0.0)),
                measured_at=str(d.get("measured_at", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"camera roll calibration is malformed: {exc}",
                             hint="Run the camera view calibration again.") from None


#: No calibration yet: a level camera is assumed.
NO_ROLL = CameraRoll(roll_deg=0.0, reference="level", n_frames=0, spread_deg=0.0, measured_at="")


def roll_from_points_deg(
    a_px: np.ndarray, b_px: np.ndarray, /, *, reference: Reference = "level"
) -> np.ndarray:
    """Camera roll from two reference points per frame.

    Parameters
    ----------
    a_px, b_px
        (..., 2) image positions (u right, v down) of the two reference markers.
    reference
        ``"level"``: the points lie on a level line; ``"vertical"``: on a plumb line.

    Returns
    -------
    (...) roll in degrees (clockwise on screen positive).

    Notes
    -----
    Rotating the camera by r rotates every image vector by r, so a level vector
    (L, 0) appears as (L cos r, L sin r): r = atan2(dv, du) with the vector taken
    left to right; a vertical vector (0, L) appears as (-L sin r, L cos r):
    r = atan2(-du, dv) with the vector taken top to bottom. The point order does not
    matter.
    """
    d = np.asarray(b_px, float) - np.asarray(a_px, float)
    if reference == "level":
        d = np.where((d[..., 0] < 0)[..., None], -d, d)
        return np.rad2deg(np.arctan2(d[..., 1], d[..., 0]))
    d = np.where((d[..., 1] < 0)[..., None], -d, d)
    return np.rad2deg(np.arctan2(-d[..., 0], d[..., 1]))


def measure_roll_deg(
    images: Iterable[np.ndarray],
    /,
    *,
    reference: Reference = "level",
    markers: tuple[MarkerSpec, MarkerSpec] = (DEFAULT_MARKERS[0], DEFAULT_MARKERS[1]),
    min_frames: int = 5,
) -> CameraRoll:
    """Measure the camera roll from frames of a level bar (or plumb line) with two markers.

    Raises
    ------
    CalibrationError
        When the markers are seen in fewer than ``min_frames`` frames, when the frames
        disagree by more than :data:`MAX_SPREAD_DEG` (the bar moved), or when the roll
        exceeds :data:`MAX_ROLL_DEG`. The message says what to do.
    """
    rolls: list[float] = []
    for img in images:
        fm = detect_markers(img, markers=markers)
        if np.all(np.isfinite(fm.positions_px)):
            rolls.append(float(roll_from_points_deg(fm.positions_px[0], fm.positions_px[1], reference=reference)))
    if len(rolls) < min_frames:
        raise CalibrationError(
            f"the two reference markers ({markers[0].name}, {markers[1].name} colours) were found in "
            f"{len(rolls)} frames, {min_frames} are needed",
            hint="Hold the bar with both markers in view, well lit, and try again.",
        )
    arr = np.array(rolls)
    spread = float(arr.max() - arr.min())
    if spread > MAX_SPREAD_DEG:
        raise CalibrationError(
            f"the reference moved during the calibration (angles spread over {spread:.2f} degrees)",
            hint="Rest the bar on a stand or hold it still, and try again.",
        )
    roll = float(np.median(arr))
    if abs(roll) > MAX_ROLL_DEG:
        raise CalibrationError(
            f"the camera is rolled by {roll:.1f} degrees, more than {MAX_ROLL_DEG:.0f}",
            hint="Mount the camera straighter (use its spirit level) and calibrate again.",
        )
    return CameraRoll(
        roll_deg=roll,
        reference=reference,
        n_frames=len(rolls),
        spread_deg=spread,
        measured_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
