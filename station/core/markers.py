"""The marker set the camera tracks: four coloured stickers, their names, hues and colours.

Shared by the detection (:mod:`station.analysis.markers`), the kinematics, the camera-view
calibration and the simulated camera, which paints the same stickers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarkerSpec:
    """One marker: its name and colour as a hue (degrees, 0 = red, 120 = green, 240 = blue)."""

    name: str
    hue_deg: float
    rgb: tuple[int, int, int]  # the sticker's colour, used by the simulated camera


#: The four markers, in the column order of every position array.
#: Magenta / cyan on the pelvis, yellow on the knee, green on the ankle: four hues at
#: least 60 degrees apart and far from skin tones (hue 10-40 degrees, low saturation).
DEFAULT_MARKERS: tuple[MarkerSpec, ...] = (
    MarkerSpec("pelvis_left", 300.0, (235, 40, 225)),
    MarkerSpec("pelvis_right", 185.0, (30, 215, 235)),
    MarkerSpec("knee", 58.0, (240, 225, 40)),
    MarkerSpec("ankle", 125.0, (40, 210, 70)),
)
MARKER_NAMES: tuple[str, ...] = tuple(m.name for m in DEFAULT_MARKERS)
