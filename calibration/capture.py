"""One captured calibration point: a known mass at a known position, and the counts it gave.

A capture is the mean of a short window of frames. It is refused when the window shows
that the mass moved (the plate's force or CoP wandered beyond the limits below), since
the mean of a moving load is not a point the fit can use.

Stability limits (documented in docs/calibration.md), judged with a provisional
calibration (the tare offsets and the current or nominal gains):

* plate force and every cell's load: standard deviation at most
  :attr:`StabilityLimits.max_force_sd_pct` (0.5 %) of the expected weight (but at least
  0.5 N is allowed);
* plate CoP standard deviation at most :attr:`StabilityLimits.max_cop_sd_mm` (2 mm) on
  either axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from calibration.tare import masked_mean_sd, valid_mask
from station.core.calibration import Calibration
from station.core.errors import CalibrationError
from station.core.geometry import CHANNELS, PLATES
from station.core.physics import CONTACT_THRESHOLD_N, G_M_S2


@dataclass(frozen=True)
class StabilityLimits:
    max_force_sd_pct: float = 0.5
    min_force_sd_n: float = 0.5
    max_cop_sd_mm: float = 2.0


@dataclass(frozen=True)
class Capture:
    """Known mass ``mass_kg`` at lab position ``position_mm`` on ``plate``; mean raw counts."""

    plate: str
    mass_kg: float
    position_mm: tuple[float, float]
    counts_mean: tuple[float, ...]
    counts_sd: tuple[float, ...]
    n_frames: int
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "plate": self.plate,
            "mass_kg": self.mass_kg,
            "position_mm": list(self.position_mm),
            "counts_mean": [round(v, 3) for v in self.counts_mean],
            "counts_sd": [round(v, 3) for v in self.counts_sd],
            "n_frames": self.n_frames,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Capture:
        return cls(
            plate=str(d["plate"]),
            mass_kg=float(d["mass_kg"]),
            position_mm=(float(d["position_mm"][0]), float(d["position_mm"][1])),
            counts_mean=tuple(float(v) for v in d["counts_mean"]),
            counts_sd=tuple(float(v) for v in d.get("counts_sd", [0.0] * len(CHANNELS))),
            n_frames=int(d.get("n_frames", 0)),
            label=str(d.get("label", "")),
        )


@dataclass(frozen=True)
class WindowStats:
    """Force and CoP statistics of one plate over a window, under a provisional calibration."""

    force_mean_n: float
    force_sd_n: float
    cell_sd_n: tuple[float, ...]
    cop_mean_mm: tuple[float, float] | None
    cop_sd_mm: tuple[float, float] | None
    other_plate_n: float


def plate_index(plate: str) -> slice:
    if plate not in PLATES:
        raise CalibrationError(f"unknown plate {plate!r} (use one of {', '.join(PLATES)})")
    i = PLATES.index(plate)
    return slice(4 * i, 4 * i + 4)


def window_stats(counts: np.ndarray, *, plate: str, calibration: Calibration) -> WindowStats:
    """Force, per-cell spread and CoP of ``plate`` over a window of raw counts."""
    c = np.atleast_2d(counts)
    loads = calibration.counts_to_newtons(c)
    sl = plate_index(plate)
    other = slice(4, 8) if sl.start == 0 else slice(0, 4)
    pos = calibration.geometry.cell_positions_mm()[sl]
    fz = loads[:, sl].sum(axis=1)
    f_mean = float(fz.mean())
    n = len(fz)
    f_sd = float(fz.std(ddof=1)) if n > 1 else 0.0
    cell_sd = loads[:, sl].std(axis=0, ddof=1) if n > 1 else np.zeros(4)
    cop_mean = cop_sd = None
    if f_mean >= CONTACT_THRESHOLD_N and np.all(fz > 1.0):
        cop = (loads[:, sl] @ pos) / fz[:, None]
        cop_mean = (float(cop[:, 0].mean()), float(cop[:, 1].mean()))
        sd = cop.std(axis=0, ddof=1) if n > 1 else np.zeros(2)
        cop_sd = (float(sd[0]), float(sd[1]))
    return WindowStats(
        f_mean, f_sd, tuple(float(v) for v in np.abs(cell_sd)), cop_mean, cop_sd,
        float(loads[:, other].sum(axis=1).mean()),
    )


def unstable_reason(
    stats: WindowStats, *, expected_n: float, limits: StabilityLimits = StabilityLimits()
) -> str | None:
    """Why the window is not a still load (``None`` when it is).

    Judged on the plate force, every cell's load, and the CoP where it is defined (a
    dead or reversed cell can make the provisional force tiny; stillness is still judged).
    """
    f_lim = max(limits.min_force_sd_n, limits.max_force_sd_pct / 100.0 * expected_n)
    if stats.force_sd_n > f_lim:
        return f"the force varies by {stats.force_sd_n:.1f} N (limit {f_lim:.1f} N)"
    worst = max(stats.cell_sd_n)
    if worst > f_lim:
        return f"the load on one cell varies by {worst:.1f} N (limit {f_lim:.1f} N)"
    if stats.cop_sd_mm is not None and max(stats.cop_sd_mm) > limits.max_cop_sd_mm:
        return (
            f"the centre of pressure wanders by {max(stats.cop_sd_mm):.1f} mm "
            f"(limit {limits.max_cop_sd_mm} mm)"
        )
    return None


def make_capture(
    counts: np.ndarray,
    *,
    plate: str,
    mass_kg: float,
    position_mm: tuple[float, float],
    calibration: Calibration,
    invalid: np.ndarray | None = None,
    label: str = "",
    limits: StabilityLimits = StabilityLimits(),
) -> Capture:
    """Mean counts of a window with a known mass at a known position.

    ``calibration`` is provisional (tare offsets, current or nominal gains): it is used
    only to judge stillness. Raises :class:`CalibrationError` when the mass moved or a
    cell gave no valid readings.
    """
    c = np.atleast_2d(np.asarray(counts, dtype=float))
    if c.shape[0] < 2 or c.shape[1] != len(CHANNELS):
        raise CalibrationError(f"a capture needs several frames of {len(CHANNELS)} channels, got {c.shape}")
    if mass_kg <= 0:
        raise CalibrationError(f"the mass must be positive, got {mass_kg} kg")
    valid = valid_mask(invalid, c.shape[0])
    mean, sd, n_valid, valid = masked_mean_sd(c, valid)
    for i, name in enumerate(CHANNELS):
        if n_valid[i] < max(2, c.shape[0] // 2):
            raise CalibrationError(
                f"cell {name} gave no valid reading during the capture",
                hint=f"Check the cable and HX711 board of {name}; the health page shows its state.",
            )
    where = label or f"({position_mm[0]:.0f}, {position_mm[1]:.0f}) mm"
    filled = np.where(valid, c, mean)
    stats = window_stats(filled, plate=plate, calibration=calibration)
    reason = unstable_reason(stats, expected_n=mass_kg * G_M_S2, limits=limits)
    if reason is not None:
        raise CalibrationError(
            f"the mass moved during the capture at {where} on the {plate} plate: {reason}",
            hint="Let the mass come to rest on the marked spot and keep hands off the plate.",
        )
    return Capture(
        plate=plate,
        mass_kg=float(mass_kg),
        position_mm=(float(position_mm[0]), float(position_mm[1])),
        counts_mean=tuple(float(v) for v in mean),
        counts_sd=tuple(float(v) for v in sd),
        n_frames=int(c.shape[0]),
        label=label,
    )
