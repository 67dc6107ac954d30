"""Plate geometry: where each plate and each of its four load cells sit in the lab frame.

Lab frame: x medio-lateral (+ to the athlete's right), y anterior, z up, millimetres,
origin midway between the plate centres. Cell names per plate: ``fl`` (x-, y+),
``fr`` (x+, y+), ``bl`` (x-, y-), ``br`` (x+, y-).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

PLATES = ("left", "right")
#: A leg, or the plate under it.
Leg = Literal["left", "right"]
CELLS = ("fl", "fr", "bl", "br")
#: Channel order used everywhere (raw frames, CSV columns, calibration vectors).
CHANNELS = tuple(f"{p}_{c}" for p in PLATES for c in CELLS)


@dataclass(frozen=True)
class PlateGeometry:
    center_mm: tuple[float, float]
    cells_mm: dict[str, tuple[float, float]]  # relative to the plate centre, lab axes

    def cell_positions_mm(self) -> np.ndarray:
        """(4, 2) absolute cell positions in the lab frame, in CELLS order."""
        c = np.asarray(self.center_mm, dtype=float)
        return np.array([np.asarray(self.cells_mm[n], dtype=float) + c for n in CELLS])


def _default_plate(cx: float) -> PlateGeometry:
    return PlateGeometry(
        center_mm=(cx, 0.0),
        cells_mm={"fl": (-120.0, 180.0), "fr": (120.0, 180.0), "bl": (-120.0, -180.0), "br": (120.0, -180.0)},
    )


@dataclass(frozen=True)
class Geometry:
    plates: dict[str, PlateGeometry] = field(
        default_factory=lambda: {"left": _default_plate(-150.0), "right": _default_plate(150.0)}
    )

    def cell_positions_mm(self) -> np.ndarray:
        """(8, 2) absolute positions of all cells in CHANNELS order."""
        return np.vstack([self.plates[p].cell_positions_mm() for p in PLATES])

    def to_dict(self) -> dict[str, Any]:
        return {
            "plates": {
                p: {
                    "center_mm": list(g.center_mm),
                    "cells_mm": {c: list(g.cells_mm[c]) for c in CELLS},
                }
                for p, g in self.plates.items()
            }
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> Geometry:
        """Validate and build; raise ``ValueError`` naming the bad field."""
        if not isinstance(data, dict) or not isinstance(data.get("plates"), dict):
            raise ValueError('geometry must be an object with a "plates" object')
        plates: dict[str, PlateGeometry] = {}
        for p in PLATES:
            raw = data["plates"].get(p)
            if not isinstance(raw, dict):
                raise ValueError(f'geometry: plates.{p} is missing')
            center = _point(raw.get("center_mm"), f"plates.{p}.center_mm")
            cells_raw = raw.get("cells_mm")
            if not isinstance(cells_raw, dict):
                raise ValueError(f"geometry: plates.{p}.cells_mm is missing")
            cells = {c: _point(cells_raw.get(c), f"plates.{p}.cells_mm.{c}") for c in CELLS}
            xs = [cells[c][0] for c in CELLS]
            ys = [cells[c][1] for c in CELLS]
            if max(xs) - min(xs) <= 0 or max(ys) - min(ys) <= 0:
                raise ValueError(f"geometry: the cells of plates.{p} do not span an area")
            plates[p] = PlateGeometry(center_mm=center, cells_mm=cells)
        return cls(plates=plates)

    @classmethod
    def from_json_file(cls, path: str | Path) -> Geometry:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read geometry file {path}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"geometry file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            ) from None
        return cls.from_dict(data)


def _point(value: Any, name: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for v in value)
    ):
        raise ValueError(f"geometry: {name} must be [x, y] in millimetres")
    return (float(value[0]), float(value[1]))


def cop_from_cells(loads_n: np.ndarray, positions_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertical force and CoP of one plate from its corner loads.

    Parameters
    ----------
    loads_n : (N, k) array of vertical loads per cell, newtons.
    positions_mm : (k, 2) absolute cell positions, lab frame.

    Returns
    -------
    fz_n : (N,) total vertical force.
    cop_mm : (N, 2) CoP = sum(F_i p_i) / sum(F_i); NaN where ``fz_n`` is 0.

    References: statics of a rigid plate on point supports (see docs/analysis.md,
    "Processing steps").
    """
    loads = np.atleast_2d(np.asarray(loads_n, dtype=float))
    fz = loads.sum(axis=1)
    moments = loads @ np.asarray(positions_mm, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop = moments / fz[:, None]
    cop[fz == 0] = np.nan
    return fz, cop
