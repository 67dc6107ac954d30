"""Verification: a known mass at known points, measured with a calibration.

For every point the report gives the force error (% of the known weight ``m * g``, from
the force of the plate carrying the mass) and the CoP error (mm, distance between the
measured combined CoP of both plates and the known position). A point passes when the force error is within
:attr:`VerifyLimits.max_force_error_pct` (1 %) and the CoP error within
:attr:`VerifyLimits.max_cop_error_mm` (5 mm); the verification passes when every point
does. The verification points should differ from the fit positions, so the check is
independent of the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from calibration.capture import Capture, plate_index
from station.core.calibration import Calibration
from station.core.errors import CalibrationError
from station.core.physics import G_M_S2


@dataclass(frozen=True)
class VerifyLimits:
    max_force_error_pct: float = 1.0
    max_cop_error_mm: float = 5.0


def measure_point(
    calibration: Calibration, counts_mean: np.ndarray | tuple[float, ...], *, plate: str
) -> tuple[float, float, np.ndarray]:
    """Force of ``plate`` (N), total force of both plates (N) and combined CoP (lab mm)."""
    loads = calibration.counts_to_newtons(np.asarray(counts_mean, dtype=float)[None, :])[0]
    pos = calibration.geometry.cell_positions_mm()
    total = float(loads.sum())
    f_plate = float(loads[plate_index(plate)].sum())
    if total <= 0:
        return f_plate, total, np.array([np.nan, np.nan])
    return f_plate, total, (loads @ pos) / total


def verify(
    calibration: Calibration,
    captures: list[Capture],
    *,
    limits: VerifyLimits = VerifyLimits(),
) -> dict[str, Any]:
    """Force error (%) and CoP error (mm) per verification point, with pass/fail.

    Parameters
    ----------
    calibration : the calibration under test.
    captures : known mass at known lab position, mean counts of all eight cells.
    limits : pass limits (force 1 %, CoP 5 mm by default).

    Returns
    -------
    dict
        ``{"passed", "limits", "points": [...], "max_force_error_pct", "max_cop_error_mm"}``.
    """
    if not captures:
        raise CalibrationError("verification needs at least one point", hint="Place the mass at the verification points.")
    points: list[dict[str, Any]] = []
    f_errs: list[float] = []
    c_errs: list[float] = []
    for c in captures:
        fz, total, cop = measure_point(calibration, c.counts_mean, plate=c.plate)
        weight = c.mass_kg * G_M_S2
        f_err = (fz - weight) / weight * 100.0
        c_err = float(np.linalg.norm(cop - np.asarray(c.position_mm)))
        f_errs.append(abs(f_err))
        c_errs.append(c_err)
        ok = bool(abs(f_err) <= limits.max_force_error_pct and c_err <= limits.max_cop_error_mm)
        points.append(
            {
                "label": c.label,
                "plate": c.plate,
                "mass_kg": c.mass_kg,
                "position_mm": list(c.position_mm),
                "expected_force_n": round(weight, 3),
                "force_n": round(fz, 3),
                "total_force_n": round(total, 3),
                "force_error_pct": round(f_err, 4),
                "cop_mm": [round(float(v), 2) for v in cop],
                "cop_error_mm": round(c_err, 3),
                "passed": ok,
            }
        )
    return {
        "passed": all(p["passed"] for p in points),
        "limits": {"max_force_error_pct": limits.max_force_error_pct, "max_cop_error_mm": limits.max_cop_error_mm},
        "max_force_error_pct": round(max(f_errs), 4),
        "max_cop_error_mm": round(max(c_errs), 3),
        "calibration_id": calibration.id,
        "points": points,
    }
