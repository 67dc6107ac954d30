"""Multi-point calibration of each plate: per-cell gains from known masses at known positions.

The statics of a rigid plate on four vertical supports give, for every capture *k* of a
mass :math:`m_k` at plate position :math:`(x_k, y_k)` and for cell loads
:math:`L_{ki} = g_i (c_{ki} - o_i) + e_i`,

.. math::

    \\sum_i L_{ki} = m_k g, \\qquad
    \\sum_i L_{ki} x_i = m_k g x_k, \\qquad
    \\sum_i L_{ki} y_i = m_k g y_k

(force balance and the moments about the y and x axes; e.g. Hibbeler, *Statics*,
ch. 5, and the corner-load CoP formula of the domain notes). Unknowns per plate are the
four gains :math:`g_i` (N/count) and the load :math:`e` the plate carried at tare time,
of which statics sees only its total and its two moments (three numbers; the
remaining "twist" combination is set to zero, the minimum-norm choice). With five
captures (one over each cell and one at the centre) this is 15 linear equations in 7
unknowns, solved by linear least squares (``numpy.linalg.lstsq``); moment rows are
divided by the plate's cell radius so every row is in newtons.

The fit is refused, with a message naming the cell and what to check, when

* a cell does not respond (its largest change is under 5 % of the other cells'):
  dead cell or broken cable;
* two cells' cables are swapped between HX711 boards (another channel order fits);
* a cell reads load as negative: its signal wires (A+/A-) are swapped;
* a gain is more than 50 % from nominal: wrong cell or wrong mass entered;
* the plate carried more than 20 N at tare;
* a capture disagrees with the others by more than 1 % in force or 5 mm in CoP:
  the mass was not on the marked spot or moved.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from calibration.capture import Capture, plate_index
from station.core.calibration import NOMINAL_COUNTS_PER_N, Calibration
from station.core.errors import CalibrationError
from station.core.geometry import CELLS, CHANNELS, PLATES, Geometry
from station.core.physics import CONTACT_THRESHOLD_N, G_M_S2

_CELL_WORDS = {"fl": "front-left", "fr": "front-right", "bl": "back-left", "br": "back-right"}


@dataclass(frozen=True)
class FitLimits:
    min_response_ratio: float = 0.05
    max_gain_deviation_pct: float = 50.0
    max_tare_load_n: float = CONTACT_THRESHOLD_N
    max_force_error_pct: float = 1.0
    max_cop_error_mm: float = 5.0


@dataclass(frozen=True)
class PlateSolution:
    gains: np.ndarray  # (4,) N/count
    tare_load: np.ndarray  # (4,) N the plate carried at tare (minimum-norm split)
    force_n: np.ndarray  # (K,) fitted force per capture
    cop_mm: np.ndarray  # (K, 2) fitted CoP per capture (lab frame)
    loads_n: np.ndarray  # (K, 4) fitted cell loads per capture
    r_squared: float


@dataclass(frozen=True)
class FitResult:
    calibration: Calibration
    report: dict[str, Any]


def _describe(c: Capture) -> str:
    return c.label or f"{c.mass_kg:g} kg at ({c.position_mm[0]:.0f}, {c.position_mm[1]:.0f}) mm"


def _solve_plate(deltas: np.ndarray, masses: np.ndarray, pos_k: np.ndarray, cells_mm: np.ndarray,
                 center: np.ndarray) -> PlateSolution:
    """Least squares for one plate. ``deltas`` (K, 4) counts minus tare; ``pos_k`` (K, 2) lab mm."""
    rel = cells_mm - center
    scale = float(np.sqrt((rel**2).sum(axis=1).mean())) or 1.0
    p = np.vstack([np.ones(4), rel[:, 0] / scale, rel[:, 1] / scale])  # (3, 4)
    k = len(masses)
    a = np.zeros((3 * k, 7))
    b = np.zeros(3 * k)
    g_nom = 1.0 / NOMINAL_COUNTS_PER_N
    w = masses * G_M_S2
    pk = (pos_k - center) / scale
    for j in range(k):
        a[3 * j : 3 * j + 3, :4] = p * (deltas[j] * g_nom)  # columns scaled to ~N
        a[3 * j : 3 * j + 3, 4:] = np.eye(3)
        b[3 * j : 3 * j + 3] = w[j] * np.array([1.0, pk[j, 0], pk[j, 1]])
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    gains = sol[:4] * g_nom
    tare_load = np.linalg.pinv(p) @ sol[4:]
    loads = deltas * gains + tare_load
    force = loads.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop = (loads @ cells_mm) / force[:, None]
    pred = a @ sol
    ss_res = float(((b - pred) ** 2).sum())
    ss_tot = float(((b - b.mean()) ** 2).sum()) or 1.0
    return PlateSolution(gains, tare_load, force, cop, loads, 1.0 - ss_res / ss_tot)


def _errors(sol: PlateSolution, masses: np.ndarray, pos_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    force_err_pct = (sol.force_n - masses * G_M_S2) / (masses * G_M_S2) * 100.0
    cop_err = np.linalg.norm(sol.cop_mm - pos_k, axis=1)
    return force_err_pct, cop_err


def _acceptable(sol: PlateSolution, masses: np.ndarray, pos_k: np.ndarray, limits: FitLimits) -> bool:
    f_err, c_err = _errors(sol, masses, pos_k)
    dev = np.abs(sol.gains * NOMINAL_COUNTS_PER_N - 1.0) * 100.0
    return bool(
        np.all(sol.gains > 0)
        and np.all(dev <= limits.max_gain_deviation_pct)
        and np.all(np.abs(f_err) <= limits.max_force_error_pct)
        and np.all(c_err <= limits.max_cop_error_mm)
    )


def _check_layout(plate: str, caps: list[Capture], cells_mm: np.ndarray) -> None:
    if len(caps) < 3:
        raise CalibrationError(
            f"the {plate} plate needs at least 3 captures at different positions, got {len(caps)}",
            hint="Follow the whole sequence of positions (over each cell and at the centre).",
        )
    pos = np.array([c.position_mm for c in caps])
    centred = pos - pos.mean(axis=0)
    if np.linalg.matrix_rank(centred, tol=5.0) < 2:
        raise CalibrationError(
            f"the captures on the {plate} plate lie on one line; the fit needs positions spread over the plate",
            hint="Use the default sequence: over each cell and at the centre.",
        )
    lo, hi = cells_mm.min(axis=0) - 50.0, cells_mm.max(axis=0) + 50.0
    for c in caps:
        if np.any(np.asarray(c.position_mm) < lo) or np.any(np.asarray(c.position_mm) > hi):
            raise CalibrationError(
                f"capture {_describe(c)} lies outside the {plate} plate",
                hint="Check the plate geometry and the positions of the sequence.",
            )


def fit_plate(
    captures: list[Capture],
    *,
    plate: str,
    offsets_counts: np.ndarray | tuple[float, ...],
    geometry: Geometry,
    limits: FitLimits = FitLimits(),
) -> tuple[PlateSolution, dict[str, Any]]:
    """Fit the four gains of one plate; return the solution and its report.

    Parameters
    ----------
    captures : the captures of this plate (mass, lab position, mean counts).
    plate : "left" or "right".
    offsets_counts : (8,) tare offsets.
    geometry : cell positions.

    Raises
    ------
    CalibrationError
        When the fit is clearly wrong (see module docstring), naming the cell.
    """
    sl = plate_index(plate)
    caps = [c for c in captures if c.plate == plate]
    cells_mm = geometry.plates[plate].cell_positions_mm()
    center = np.asarray(geometry.plates[plate].center_mm, dtype=float)
    _check_layout(plate, caps, cells_mm)
    names = CHANNELS[sl]
    deltas = np.array([np.asarray(c.counts_mean)[sl] for c in caps]) - np.asarray(offsets_counts)[sl]
    masses = np.array([c.mass_kg for c in caps], dtype=float)
    pos_k = np.array([c.position_mm for c in caps], dtype=float)

    # Dead cell: no response where the others respond (at nominal sensitivity, in N).
    response = np.abs(deltas).max(axis=0) / NOMINAL_COUNTS_PER_N
    for i in range(4):
        others = np.median(np.delete(response, i))
        if response[i] < limits.min_response_ratio * others:
            raise CalibrationError(
                f"cell {names[i]} ({_CELL_WORDS[CELLS[i]]} of the {plate} plate) does not respond to load: "
                f"its largest change was {response[i]:.2f} N-equivalent while the others changed ~{others:.0f} N",
                hint=f"Check the cable, connector and solder joints (E+, E-, A+, A-) between cell {names[i]} "
                "and its HX711 board; if they are fine the load cell is broken and must be replaced.",
            )

    sol = _solve_plate(deltas, masses, pos_k, cells_mm, center)
    if not _acceptable(sol, masses, pos_k, limits):
        # Two cables plugged into each other's HX711? Try every channel order of the plate.
        best: tuple[float, tuple[int, ...]] | None = None
        for perm in itertools.permutations(range(4)):
            if perm == (0, 1, 2, 3):
                continue
            s2 = _solve_plate(deltas[:, list(perm)], masses, pos_k, cells_mm, center)
            if _acceptable(s2, masses, pos_k, limits):
                f_err, c_err = _errors(s2, masses, pos_k)
                score = float(np.abs(f_err).max() + c_err.max())
                if best is None or score < best[0]:
                    best = (score, perm)
        if best is not None:
            perm = best[1]
            moved = [(i, perm[i]) for i in range(4) if perm[i] != i]
            pairs = ", ".join(
                f"the {_CELL_WORDS[CELLS[i]]} cell is read on channel {names[j]}" for i, j in moved
            )
            raise CalibrationError(
                f"the cells of the {plate} plate are plugged into the wrong HX711 boards: {pairs}",
                hint="Swap the cell cables back so each cell goes to its own board (see the wiring table "
                "in docs/calibration.md), or correct the DOUT pins in the configuration; then calibrate again.",
            )
    for i in range(4):
        if sol.gains[i] <= 0:
            raise CalibrationError(
                f"cell {names[i]} ({_CELL_WORDS[CELLS[i]]} of the {plate} plate) reads load as negative "
                f"(gain {sol.gains[i]:.3g} N/count): its signal wires are swapped",
                hint=f"Exchange the A+ and A- wires (usually green and white) of cell {names[i]} at its HX711 "
                "board, then calibrate again.",
            )
    dev_pct = (sol.gains * NOMINAL_COUNTS_PER_N - 1.0) * 100.0
    for i in range(4):
        if abs(dev_pct[i]) > limits.max_gain_deviation_pct:
            raise CalibrationError(
                f"cell {names[i]} is {dev_pct[i]:+.0f} % from the nominal sensitivity "
                f"(limit +-{limits.max_gain_deviation_pct:.0f} %)",
                hint="Check that the masses entered are right and that this cell is the rated type; "
                "a cell this far off is damaged or the wrong model.",
            )
    tare_total = float(sol.tare_load.sum())
    if abs(tare_total) > limits.max_tare_load_n:
        raise CalibrationError(
            f"the {plate} plate carried about {tare_total:.0f} N ({tare_total / G_M_S2:.1f} kg) when it was tared",
            hint="Remove everything from the plates, start again and tare with the plates empty.",
        )
    f_err, c_err = _errors(sol, masses, pos_k)
    bad = (np.abs(f_err) > limits.max_force_error_pct) | (c_err > limits.max_cop_error_mm)
    if bad.any():
        # Least squares spreads one bad capture over all: find the one whose removal
        # leaves a consistent fit (leave-one-out), else name the worst.
        j = int(np.argmax(np.abs(f_err) / limits.max_force_error_pct + c_err / limits.max_cop_error_mm))
        if len(caps) > 3:
            for k in range(len(caps)):
                keep = np.arange(len(caps)) != k
                s2 = _solve_plate(deltas[keep], masses[keep], pos_k[keep], cells_mm, center)
                if _acceptable(s2, masses[keep], pos_k[keep], limits):
                    j = k
                    break
        c = caps[j]
        raise CalibrationError(
            f"the capture {_describe(c)} on the {plate} plate disagrees with the others "
            f"(the fit misses the force by up to {np.abs(f_err).max():.2f} % and the CoP by up to "
            f"{c_err.max():.1f} mm; limits {limits.max_force_error_pct} %, {limits.max_cop_error_mm} mm)",
            hint="The mass was probably not centred on the marked spot, was the wrong mass, or moved; "
            "start again and place each mass carefully.",
        )
    weights = masses * G_M_S2
    full_scale = float(weights.max())
    force_res = sol.force_n - weights
    share = sol.loads_n / sol.force_n[:, None]
    cells_report = []
    for i in range(4):
        cells_report.append(
            {
                "channel": names[i],
                "gain_n_per_count": float(sol.gains[i]),
                "sensitivity_counts_per_n": float(1.0 / sol.gains[i]),
                "deviation_from_nominal_pct": round(float(dev_pct[i]), 3),
                "residual_n": round(float(np.sqrt(np.mean((share[:, i] * force_res) ** 2))), 4),
                "max_load_n": round(float(sol.loads_n[:, i].max()), 2),
            }
        )
    by_mass = {}
    for m in sorted(set(masses.tolist())):
        sel = masses == m
        by_mass[f"{m:g}"] = round(float(np.mean(sol.force_n[sel] / (m * G_M_S2))), 6)
    report = {
        "plate": plate,
        "n_captures": len(caps),
        "cells": cells_report,
        "tare_load_n": round(tare_total, 3),
        "captures": [
            {
                "label": _describe(c),
                "mass_kg": c.mass_kg,
                "position_mm": list(c.position_mm),
                "force_n": round(float(sol.force_n[j]), 3),
                "force_error_pct": round(float(f_err[j]), 4),
                "cop_mm": [round(float(v), 2) for v in sol.cop_mm[j]],
                "cop_error_mm": round(float(c_err[j]), 3),
            }
            for j, c in enumerate(caps)
        ],
        "linearity": {
            "r_squared": round(sol.r_squared, 8),
            "full_scale_used_n": round(full_scale, 2),
            "max_deviation_pct_fs": round(float(np.abs(force_res).max() / full_scale * 100.0), 4),
            "force_ratio_by_mass_kg": by_mass,
        },
        "rms_cop_error_mm": round(float(np.sqrt(np.mean(c_err**2))), 3),
    }
    return sol, report


def fit_calibration(
    captures: list[Capture],
    *,
    offsets_counts: np.ndarray | tuple[float, ...],
    geometry: Geometry,
    limits: FitLimits = FitLimits(),
) -> FitResult:
    """Fit both plates; return the new :class:`Calibration` and a JSON-able report.

    The calibration's offsets are the tare offsets corrected by the fitted tare load
    (``o_i' = o_i - e_i / g_i``), so a small load left at tare does not bias forces.
    """
    offsets = np.asarray(offsets_counts, dtype=float).copy()
    gains = np.zeros(len(CHANNELS))
    plates: dict[str, Any] = {}
    for plate in PLATES:
        sol, rep = fit_plate(captures, plate=plate, offsets_counts=offsets_counts, geometry=geometry, limits=limits)
        sl = plate_index(plate)
        gains[sl] = sol.gains
        offsets[sl] = offsets[sl] - sol.tare_load / sol.gains
        plates[plate] = rep
    cal = Calibration(
        offsets_counts=tuple(float(v) for v in offsets),
        gains_n_per_count=tuple(float(v) for v in gains),
        geometry=geometry,
        id=None,
        is_default=False,
    )
    report = {
        "method": "least squares on force and moment balance per plate (docs/calibration.md)",
        "g_m_s2": G_M_S2,
        "plates": plates,
        "captures": [c.to_dict() for c in captures],
        "tare_offsets_counts": [float(v) for v in np.asarray(offsets_counts)],
    }
    return FitResult(cal, report)
