"""The calibration the acquisition applies: counts -> newtons per cell, and the geometry."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from station.core.geometry import CHANNELS, Geometry

#: Nominal sensitivity of one load cell through an HX711 at gain 128 (counts per newton).
#: Used as the uncalibrated default; real cells differ by several percent.
NOMINAL_COUNTS_PER_N = 2000.0


@dataclass(frozen=True)
class Calibration:
    """load_n[i] = (counts[i] - offsets_counts[i]) * gains_n_per_count[i]."""

    offsets_counts: tuple[float, ...] = (0.0,) * len(CHANNELS)
    gains_n_per_count: tuple[float, ...] = (1.0 / NOMINAL_COUNTS_PER_N,) * len(CHANNELS)
    geometry: Geometry = field(default_factory=Geometry)
    id: int | None = None
    is_default: bool = True

    def __post_init__(self) -> None:
        if len(self.offsets_counts) != len(CHANNELS) or len(self.gains_n_per_count) != len(CHANNELS):
            raise ValueError("a calibration needs one offset and one gain per channel (8)")

    def counts_to_newtons(self, counts: np.ndarray) -> np.ndarray:
        """(..., 8) raw counts -> (..., 8) newtons per cell."""
        c = np.asarray(counts, dtype=float)
        return (c - np.asarray(self.offsets_counts)) * np.asarray(self.gains_n_per_count)

    def with_offsets(self, offsets_counts: np.ndarray | tuple[float, ...]) -> Calibration:
        return replace(self, offsets_counts=tuple(float(v) for v in offsets_counts))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_default": self.is_default,
            "offsets_counts": list(self.offsets_counts),
            "gains_n_per_count": list(self.gains_n_per_count),
            "geometry": self.geometry.to_dict(),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Calibration:
        """A stored calibration row (``id`` and ``data``, any kind) as the calibration it describes."""
        return replace(cls.from_dict(row["data"]), id=int(row["id"]), is_default=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        return cls(
            offsets_counts=tuple(float(v) for v in d["offsets_counts"]),
            gains_n_per_count=tuple(float(v) for v in d["gains_n_per_count"]),
            geometry=Geometry.from_dict(d["geometry"]),
            id=d.get("id"),
            is_default=bool(d.get("is_default", False)),
        )
