"""Hand-made signals with known answers, shared by the analysis tests."""

from __future__ import annotations

import numpy as np

from station.core.geometry import PLATES, Geometry


def loads_from_plates(fz_n: np.ndarray, cop_mm: np.ndarray, geometry: Geometry | None = None) -> np.ndarray:
    """(N, 8) cell loads whose per-plate sum is ``fz_n`` and whose CoP is ``cop_mm``.

    Bilinear split for a rectangular plate with cells at (+-a, +-b) from its centre:
    F_i = F / 4 * (1 + sx * dx / a) * (1 + sy * dy / b); it sums to F and its moment is
    F * (x, y) exactly (checked in test_cop.py against the statics definition).
    """
    g = geometry or Geometry()
    fz = np.asarray(fz_n, dtype=float)
    cop = np.nan_to_num(np.asarray(cop_mm, dtype=float))
    out = np.zeros((len(fz), 8))
    for k, p in enumerate(PLATES):
        pg = g.plates[p]
        a = abs(pg.cells_mm["fr"][0])
        b = abs(pg.cells_mm["fr"][1])
        dx = cop[:, k, 0] - pg.center_mm[0]
        dy = cop[:, k, 1] - pg.center_mm[1]
        for j, (sx, sy) in enumerate(((-1, 1), (1, 1), (-1, -1), (1, -1))):  # fl fr bl br
            out[:, 4 * k + j] = fz[:, k] / 4 * (1 + sx * dx / a) * (1 + sy * dy / b)
    return out


def plate_cop(n: int, x_mm: float, y_mm: float = 0.0) -> np.ndarray:
    c = np.empty((n, 2))
    c[:, 0] = x_mm
    c[:, 1] = y_mm
    return c
