"""Arming: zero the empty plates, then wait until the athlete stands still on them."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from hardware.base import N_CHANNELS
from station.acquisition import Acquisition
from station.core.calibration import Calibration
from station.core.errors import HardwareError
from station.core.physics import CONTACT_THRESHOLD_N, G_M_S2
from station.recording.run import ArmTimeout, Run

#: Uncalibrated station: a cell counts as unloaded while its SD stays below this.
EMPTY_MAX_SD_N = 1.0
#: Frames averaged for the zero (0.5 s at 80 Hz).
TARE_S = 0.5
#: How long (in samples' time) arming waits for the plates to read empty before zeroing.
TARE_WAIT_S = 2.0
#: "Standing still": over the last STILL_WINDOW_S the total force is at least
#: STILL_MIN_N (or half the body weight) and its SD at most max(STILL_SD_N, 2 % of it).
STILL_WINDOW_S = 1.0
STILL_MIN_N = 100.0
STILL_SD_N = 8.0

Read = Callable[[Run], dict[str, np.ndarray]]


def zero_plates(run: Run, acquisition: Acquisition, read: Read, deadline: float) -> None:
    """Zero the plates from ``TARE_S`` of empty plates; wait up to ``TARE_WAIT_S`` of
    samples for them to read empty (someone may still be stepping off); if they never
    do, keep the last zero and say so in the run's warnings."""
    rate = max(acquisition.source.rate_hz, 1.0)
    need = max(int(TARE_S * rate), 4)
    counts = np.zeros((0, N_CHANNELS), dtype=np.int64)
    totals = np.zeros(0)
    seen = 0
    while True:
        run.check_abort()
        if time.monotonic() > deadline:
            raise HardwareError("no frames from the load cells while zeroing", hint="Check the hardware health page.")
        a = read(run)
        seen += len(a["t_ns"])
        counts = np.concatenate([counts, a["counts"]])[-need:]
        totals = np.concatenate([totals, a["loads_n"].sum(axis=1)])[-need:]
        if len(totals) == need and looks_empty(acquisition.calibration, counts, totals):
            offsets = tuple(float(v) for v in counts.mean(axis=0))
            acquisition.set_calibration(acquisition.calibration.with_offsets(offsets))
            return
        if seen >= TARE_WAIT_S * rate:
            run.warnings.append(
                "the plates were loaded when the recording was started, so they were not zeroed "
                "(the last zero is used); start with empty plates to zero them."
            )
            return


def looks_empty(cal: Calibration, counts: np.ndarray, totals: np.ndarray) -> bool:
    """Empty plates: below 20 N in total. Without a calibration the zero may be far
    off, so then "empty" means every cell as steady as its noise (a person standing,
    even still, moves each cell by several newtons)."""
    if not cal.is_default:
        return bool(np.abs(totals).max() < CONTACT_THRESHOLD_N)
    sd_n = counts.std(axis=0) * np.abs(np.asarray(cal.gains_n_per_count))
    return bool(sd_n.max() < EMPTY_MAX_SD_N)


def wait_still(run: Run, acquisition: Acquisition, read: Read, deadline: float) -> None:
    """Return once someone stands still on the plates; :class:`ArmTimeout` at ``deadline``."""
    rate = max(acquisition.source.rate_hz, 1.0)
    window = max(int(STILL_WINDOW_S * rate), 4)
    min_n = STILL_MIN_N if run.body_mass_kg is None else max(STILL_MIN_N, 0.5 * run.body_mass_kg * G_M_S2)
    recent = np.zeros(0)
    while True:
        run.check_abort()
        if time.monotonic() > deadline:
            raise ArmTimeout(float(run.options["arm_timeout_s"]))
        a = read(run)
        recent = np.concatenate([recent, a["loads_n"].sum(axis=1)])[-window:]
        if len(recent) == window:
            mean, sd = float(recent.mean()), float(recent.std())
            if mean >= min_n and sd <= max(STILL_SD_N, 0.02 * mean):
                return
