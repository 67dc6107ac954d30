"""Synthetic counts from known cells, independent of the simulator and of the code under test.

Loads are split to the corner cells *bilinearly* (the simulator uses the least-norm
split): the fit must not depend on how a real plate shares the load, only on statics.
"""

from __future__ import annotations

import numpy as np

from station.core.geometry import CHANNELS, PLATES, Geometry

G = 9.80665


def bilinear_split(plate_cells_mm: np.ndarray, force_n: float, pos_mm: tuple[float, float]) -> np.ndarray:
    """(4,) loads of a rectangular plate (cells fl, fr, bl, br) carrying force_n at pos_mm."""
    xs, ys = plate_cells_mm[:, 0], plate_cells_mm[:, 1]
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    u = (pos_mm[0] - x0) / (x1 - x0)
    v = (pos_mm[1] - y0) / (y1 - y0)
    # fl (x-, y+), fr (x+, y+), bl (x-, y-), br (x+, y-)
    return force_n * np.array([(1 - u) * v, u * v, (1 - u) * (1 - v), u * (1 - v)])


class SynthPlates:
    """Two plates with hidden per-cell gains (counts/N) and offsets (counts)."""

    def __init__(self, seed: int, *, gain_spread: float = 0.05, noise_sd: float = 200.0,
                 geometry: Geometry | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.geometry = geometry or Geometry()
        self.gains_counts_per_n = 2000.0 * (1 + self.rng.uniform(-gain_spread, gain_spread, 8))
        self.offsets_counts = self.rng.normal(0, 1e5, 8)
        self.noise_sd = noise_sd

    def loads(self, masses: list[tuple[float, tuple[float, float]]]) -> np.ndarray:
        out = np.zeros(8)
        for mass_kg, pos in masses:
            plate = "left" if pos[0] < 0 else "right"
            i = PLATES.index(plate)
            cells = self.geometry.plates[plate].cell_positions_mm()
            out[4 * i : 4 * i + 4] += bilinear_split(cells, mass_kg * G, pos)
        return out

    def counts(self, masses: list[tuple[float, tuple[float, float]]], n: int = 160) -> np.ndarray:
        ideal = self.offsets_counts + self.loads(masses) * self.gains_counts_per_n
        return np.rint(ideal + self.rng.normal(0, self.noise_sd, (n, len(CHANNELS)))).astype(np.int64)
