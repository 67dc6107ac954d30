"""What every export needs: the trial's calibration and its calibrated loads."""

from __future__ import annotations

from typing import Any

import numpy as np

from station.core.calibration import Calibration
from station.core.geometry import Geometry
from station.storage import Store


def trial_calibration(store: Store, trial: dict[str, Any], *, default_geometry: Geometry | None = None) -> Calibration:
    """The calibration a trial's metrics were computed with, with the trial's own zero.

    ``calibration_id`` None means the station was uncalibrated (nominal gains); its
    geometry was then the station's configured one (``default_geometry``, e.g. from
    ``STATION_GEOMETRY_FILE``; the standard geometry when not given), which the trial
    row does not record.
    """
    if trial.get("calibration_id") is not None:
        cal = Calibration.from_row(store.get_calibration(trial["calibration_id"]))
    else:
        cal = Calibration(geometry=default_geometry or Geometry())
    if trial.get("zero_offsets"):
        cal = cal.with_offsets(tuple(trial["zero_offsets"]))
    return cal


def trial_loads(
    store: Store, trial_id: int, *, include_deleted: bool = False, default_geometry: Geometry | None = None
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, Calibration]:
    """``(trial, t_s (N,), loads_n (N, 8), invalid (N,), calibration)`` of a stored trial.

    Times are seconds from the first sample; loads are newtons per cell.
    ``default_geometry``: see :func:`trial_calibration`.
    """
    trial = store.get_trial(trial_id, include_deleted=include_deleted)
    t_ns, counts, invalid = store.load_samples(trial_id, include_deleted=include_deleted)
    cal = trial_calibration(store, trial, default_geometry=default_geometry)
    t_s = (t_ns - t_ns[0]) / 1e9 if len(t_ns) else np.zeros(0)
    return trial, t_s, cal.counts_to_newtons(counts), invalid, cal
