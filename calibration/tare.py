"""Tare: the unloaded counts of every cell, averaged over a short still window.

The tare is the zero point of each cell (``offsets_counts``). It is refused when the
window shows the plates are not still or not empty, because a tare taken with a hand
on the plate or a dumbbell left on it shifts every later force and CoP.

Limits (documented in docs/calibration.md):

* at least :data:`MIN_TARE_S` seconds of frames (2 s is asked for);
* *still*: the standard deviation of every cell, in newtons at the current gains, at
  most :attr:`TareLimits.max_cell_sd_n` (0.5 N), and of each plate's total at most
  :attr:`TareLimits.max_plate_sd_n` (1.0 N);
* *empty*: when a previous zero exists (the current calibration is not the factory
  default, or is a stored re-zero of it), each plate reads at most :attr:`TareLimits.max_plate_load_n` (50 N,
  about 5 kg) against it. A first tare cannot see a load left on the plate; the
  multi-point fit then reports it (``tare_load_n``) and refuses above 20 N;
* *valid*: at most half the frames of a cell may be flagged invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from station.core.calibration import Calibration
from station.core.errors import CalibrationError
from station.core.geometry import CHANNELS, PLATES
from station.core.physics import G_M_S2

#: Shortest window a tare is computed from (seconds).
MIN_TARE_S = 0.5


@dataclass(frozen=True)
class TareLimits:
    max_cell_sd_n: float = 0.5
    max_plate_sd_n: float = 1.0
    max_plate_load_n: float = 50.0
    max_invalid_fraction: float = 0.5


@dataclass(frozen=True)
class TareResult:
    offsets_counts: tuple[float, ...]
    cell_sd_counts: tuple[float, ...]
    n_frames: int
    duration_s: float
    #: Plate loads (N) the window showed against the previous calibration (None for a first tare).
    plate_load_n: dict[str, float] | None
    emptiness_checked: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "offsets_counts": list(self.offsets_counts),
            "cell_sd_counts": [round(v, 2) for v in self.cell_sd_counts],
            "n_frames": self.n_frames,
            "duration_s": round(self.duration_s, 3),
            "plate_load_n": None
            if self.plate_load_n is None
            else {k: round(v, 2) for k, v in self.plate_load_n.items()},
            "emptiness_checked": self.emptiness_checked,
        }


def valid_mask(invalid: np.ndarray | None, n: int) -> np.ndarray:
    """(n, 8) True where the channel reading is valid."""
    if invalid is None:
        return np.ones((n, len(CHANNELS)), dtype=bool)
    bits = np.asarray(invalid, dtype=np.int64)[:, None] >> np.arange(len(CHANNELS))
    return (bits & 1) == 0


#: A single reading this far (counts) from its channel's median is a glitch, not load:
#: HX711 timing glitches flip a high bit (>= 2**20 counts); 1e5 counts is about 50 N.
SPIKE_COUNTS = 100_000


def _channel_medians(c: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.array([np.median(c[valid[:, i], i]) if valid[:, i].any() else 0.0 for i in range(c.shape[1])])


def masked_mean_sd(
    counts: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel mean, standard deviation, number of valid readings, and the mask used.

    Readings flagged invalid or far from the channel's median (spikes) are left out.
    Channels without any valid reading get NaN.
    """
    c = np.asarray(counts, dtype=float)
    # Subtract the median first: counts are ~1e5-1e6, this keeps the variance precise.
    ref = _channel_medians(c, valid)
    valid = valid & (np.abs(c - ref) <= SPIKE_COUNTS)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(valid, c - ref, 0.0)
        mean = d.sum(axis=0) / n
        var = np.where(valid, (d - mean) ** 2, 0.0).sum(axis=0) / np.maximum(n - 1, 1)
    return mean + ref, np.sqrt(var), n, valid


def tare(
    counts: np.ndarray,
    *,
    t_ns: np.ndarray | None = None,
    invalid: np.ndarray | None = None,
    calibration: Calibration | None = None,
    rate_hz: float = 80.0,
    limits: TareLimits = TareLimits(),
) -> TareResult:
    """Average unloaded counts per cell; refuse when the plates are not still or not empty.

    Parameters
    ----------
    counts : (N, 8) raw counts in CHANNELS order.
    t_ns : (N,) frame times; without them the duration is ``N / rate_hz``.
    invalid : (N,) per-frame bitmask of invalid channels (bit i = CHANNELS[i]).
    calibration : the calibration in use; its gains convert spreads to newtons, and
        unless it is the factory default its offsets tell whether the plates are empty.
    limits : stillness and emptiness limits (see module docstring).

    Raises
    ------
    CalibrationError
        Naming the plate or cell and what to do.
    """
    c = np.atleast_2d(np.asarray(counts, dtype=float))
    if c.ndim != 2 or c.shape[1] != len(CHANNELS):
        raise CalibrationError(f"tare needs (N, {len(CHANNELS)}) counts, got shape {c.shape}")
    n = c.shape[0]
    if t_ns is not None and n > 1:
        tt = np.asarray(t_ns, dtype=np.int64)
        duration_s = float(tt[-1] - tt[0]) / 1e9 * n / (n - 1)
    else:
        duration_s = n / rate_hz
    if n < 2 or duration_s < MIN_TARE_S:
        raise CalibrationError(
            f"tare needs at least {MIN_TARE_S} s of readings, got {duration_s:.2f} s",
            hint="Wait until the live reading has run for a few seconds, then tare again.",
        )
    cal = calibration or Calibration()
    valid = valid_mask(invalid, n)
    mean, sd, n_valid, valid = masked_mean_sd(c, valid)
    for i, name in enumerate(CHANNELS):
        if n_valid[i] < max(2, (1.0 - limits.max_invalid_fraction) * n):
            raise CalibrationError(
                f"cell {name} gave no valid reading in {n - int(n_valid[i])} of {n} frames",
                hint=f"Check the cable and HX711 board of {name} (health page shows its state).",
            )
    gains = np.abs(np.asarray(cal.gains_n_per_count, dtype=float))
    sd_n = sd * gains
    loads = (np.where(valid, c, mean) - np.asarray(cal.offsets_counts)) * np.asarray(cal.gains_n_per_count)
    for p_i, plate in enumerate(PLATES):
        sl = slice(4 * p_i, 4 * p_i + 4)
        worst = int(np.argmax(sd_n[sl])) + 4 * p_i
        if sd_n[worst] > limits.max_cell_sd_n:
            raise CalibrationError(
                f"the {plate} plate is not still: cell {CHANNELS[worst]} varies by "
                f"{sd_n[worst]:.2f} N (limit {limits.max_cell_sd_n} N)",
                hint="Make sure nobody touches or leans on the plates, then tare again.",
            )
        plate_sd = float(np.std(loads[:, sl].sum(axis=1), ddof=1))
        if plate_sd > limits.max_plate_sd_n:
            raise CalibrationError(
                f"the {plate} plate is not still: its total varies by {plate_sd:.2f} N "
                f"(limit {limits.max_plate_sd_n} N)",
                hint="Make sure nobody touches or leans on the plates, then tare again.",
            )
    plate_load: dict[str, float] | None = None
    if not cal.is_default or cal.id is not None:  # a stored zero exists (calibration or re-zero)
        mean_loads = (mean - np.asarray(cal.offsets_counts)) * np.asarray(cal.gains_n_per_count)
        plate_load = {p: float(mean_loads[4 * i : 4 * i + 4].sum()) for i, p in enumerate(PLATES)}
        for plate, load in plate_load.items():
            if abs(load) > limits.max_plate_load_n:
                raise CalibrationError(
                    f"the {plate} plate is not empty: it carries {load:.0f} N "
                    f"({load / G_M_S2:.1f} kg; limit {limits.max_plate_load_n:.0f} N)",
                    hint="Remove everything from the plates (masses, bags, feet), then tare again.",
                )
    return TareResult(
        offsets_counts=tuple(float(v) for v in mean),
        cell_sd_counts=tuple(float(v) for v in sd),
        n_frames=n,
        duration_s=duration_s,
        plate_load_n=plate_load,
        emptiness_checked=plate_load is not None,
    )
