"""Automatic re-zero between trials, and the drift warning.

Load-cell zero points drift with temperature and time (a few newtons per hour on cheap
cells). The station re-zeroes itself whenever it is sure nobody is on the plates:

**Re-zero rule** (documented in docs/calibration.md; :class:`DriftRule` holds the numbers)

* for ``hold_s`` = 5 s without a break, both plates read less than
  ``max_plate_force_n`` = 10 N each (absolute value, with the calibration in use),
* every cell is still: standard deviation over that window at most
  ``max_cell_sd_n`` = 0.5 N (a hand resting on the plate or a ball rolling is not),
* at most 10 % of the frames in the window had an invalid channel (those frames are
  left out: a rejected spike is a lost reading, not a movement),
* no trial is armed, recording or being analysed, and no calibration workflow runs
  (the caller's ``is_blocked()`` returns false for the whole window, and again at the
  moment the new zero is applied),
* at least ``min_interval_s`` = 30 s since the last re-zero.

The new offsets are the mean counts of the window. Gains and geometry stay. Each
re-zero is logged and stored as a calibration of kind ``"rezero"``.

**Drift warning**: when any cell's zero has moved more than ``warn_drift_n`` = 5 N
(about 0.5 kg) from the offsets of the last full calibration, the station warns that
the plates should be recalibrated (a large zero shift often means a loose mount or a
damaged cell, which also changes the gain).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from station.core.calibration import Calibration
from station.core.geometry import CHANNELS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftRule:
    max_plate_force_n: float = 10.0
    max_cell_sd_n: float = 0.5
    hold_s: float = 5.0
    min_interval_s: float = 30.0
    warn_drift_n: float = 5.0


@dataclass(frozen=True)
class Rezero:
    """A re-zero the monitor found: new offsets from a still, empty window."""

    t_ns: int
    offsets_counts: tuple[float, ...]
    previous_offsets_counts: tuple[float, ...]
    n_frames: int
    cell_sd_n: tuple[float, ...]

    def change_n(self, gains_n_per_count: tuple[float, ...]) -> np.ndarray:
        return (np.asarray(self.offsets_counts) - np.asarray(self.previous_offsets_counts)) * np.asarray(
            gains_n_per_count
        )


def offset_drift_n(current: Calibration, reference: Calibration) -> np.ndarray:
    """(8,) how far each cell's zero moved from ``reference`` (N, at the current gains)."""
    return (np.asarray(current.offsets_counts) - np.asarray(reference.offsets_counts)) * np.abs(
        np.asarray(current.gains_n_per_count)
    )


def drift_warning(current: Calibration, reference: Calibration, rule: DriftRule = DriftRule()) -> str | None:
    """The warning text when a cell drifted more than ``rule.warn_drift_n``, else ``None``."""
    drift = offset_drift_n(current, reference)
    i = int(np.argmax(np.abs(drift)))
    if abs(drift[i]) <= rule.warn_drift_n:
        return None
    ref = f"calibration {reference.id}" if reference.id is not None else "the last calibration"
    return (
        f"the zero of cell {CHANNELS[i]} has drifted by {drift[i]:+.1f} N since {ref} "
        f"(limit {rule.warn_drift_n:g} N): recalibrate the plates (docs/calibration.md) and check "
        "that the plate mounts are tight"
    )


class DriftMonitor:
    """Watches samples (as an acquisition frame hook) and proposes re-zeros by the rule.

    ``feed_sample`` is cheap (a few array operations on 8 values) because it runs on the
    acquisition thread. When the rule is met it calls ``on_rezero(Rezero)``; the caller
    stores and applies it (off the acquisition thread) when ``enabled``, and otherwise
    only uses the measured zero for the drift warning. ``is_blocked()`` returns true
    while a trial or a calibration workflow runs.
    """

    def __init__(
        self,
        *,
        get_calibration: Callable[[], Calibration],
        on_rezero: Callable[[Rezero], None],
        is_blocked: Callable[[], bool] = lambda: False,
        rule: DriftRule = DriftRule(),
        enabled: bool = True,
    ) -> None:
        self.rule = rule
        self.enabled = enabled
        self._get_calibration = get_calibration
        self._on_rezero = on_rezero
        self._is_blocked = is_blocked
        self._last_rezero_ns: int | None = None
        self.rezeros = 0
        self._reset()

    def _reset(self) -> None:
        if getattr(self, "_n", None) == 0 and getattr(self, "_invalid", None) == 0:
            return  # already empty (the common case while someone stands on the plates)
        self._start_ns: int | None = None
        self._n = 0
        self._invalid = 0
        self._ref: np.ndarray | None = None
        self._sum = np.zeros(len(CHANNELS))
        self._sumsq = np.zeros(len(CHANNELS))

    def status(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "rule": {
                "max_plate_force_n": self.rule.max_plate_force_n,
                "max_cell_sd_n": self.rule.max_cell_sd_n,
                "hold_s": self.rule.hold_s,
                "min_interval_s": self.rule.min_interval_s,
                "warn_drift_n": self.rule.warn_drift_n,
            },
            "rezeros": self.rezeros,
            "quiet_for_s": 0.0 if self._start_ns is None or self._n < 2 else round(self._quiet_s, 2),
        }

    def feed(self, t_ns: int, counts: Any, invalid: int, fz_left_n: float, fz_right_n: float) -> Rezero | None:
        """One frame. Returns the :class:`Rezero` it triggered, if any."""
        lim = self.rule.max_plate_force_n
        if invalid:
            self._invalid += 1
            if self._invalid > 0.1 * max(self._n, 10):
                self._reset()
            return None
        if (
            abs(fz_left_n) >= lim
            or abs(fz_right_n) >= lim
            or self._is_blocked()
        ):
            self._reset()
            return None
        c = np.asarray(counts, dtype=float)
        if self._start_ns is None or self._ref is None:
            self._start_ns = t_ns
            self._ref = c.copy()
        d = c - self._ref  # small numbers: the running variance stays precise
        self._sum += d
        self._sumsq += d * d
        self._n += 1
        if self._n < 2:
            return None
        self._quiet_s = (t_ns - self._start_ns) / 1e9 * self._n / (self._n - 1)
        if self._quiet_s < self.rule.hold_s:
            return None
        if self._last_rezero_ns is not None and (t_ns - self._last_rezero_ns) / 1e9 < self.rule.min_interval_s:
            return None
        cal = self._get_calibration()
        mean = self._sum / self._n
        var = np.maximum(self._sumsq / self._n - mean**2, 0.0) * self._n / (self._n - 1)
        sd_n = np.sqrt(var) * np.abs(np.asarray(cal.gains_n_per_count))
        if np.any(sd_n > self.rule.max_cell_sd_n):
            # Not still: start a fresh window from here.
            self._reset()
            return None
        rz = Rezero(
            t_ns=t_ns,
            offsets_counts=tuple(float(v) for v in mean + self._ref),
            previous_offsets_counts=tuple(float(v) for v in cal.offsets_counts),
            n_frames=self._n,
            cell_sd_n=tuple(float(v) for v in sd_n),
        )
        self._last_rezero_ns = t_ns
        self.rezeros += 1
        self._reset()
        self._on_rezero(rz)
        return rz

    def feed_sample(self, sample: Any) -> None:
        """Acquisition frame hook (``acquisition.add_frame_hook(monitor.feed_sample)``)."""
        self.feed(sample.t_ns, sample.counts, sample.invalid, sample.fz_left_n, sample.fz_right_n)
