"""What every export needs: the trial's calibrated loads, and format dispatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from calibration.model import Calibration
from station.errors import InputError
from station.storage import Store

FORMATS = ("csv", "json", "c3d")


def trial_calibration(store: Store, trial: dict[str, Any]) -> Calibration:
    """The calibration a trial's metrics were computed with, with the trial's own zero.

    ``calibration_id`` None means the station was uncalibrated (nominal gains).
    """
    if trial.get("calibration_id") is not None:
        row = store.get_calibration(trial["calibration_id"])
        cal = Calibration.from_dict({**row["data"], "id": row["id"]})
    else:
        cal = Calibration()
    if trial.get("zero_offsets"):
        cal = cal.with_offsets(tuple(trial["zero_offsets"]))
    return cal


def trial_loads(store: Store, trial_id: int, *, include_deleted: bool = False) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, Calibration]:
    """``(trial, t_s (N,), loads_n (N, 8), invalid (N,), calibration)`` of a stored trial.

    Times are seconds from the first sample; loads are newtons per cell.
    """
    trial = store.get_trial(trial_id, include_deleted=include_deleted)
    t_ns, counts, invalid = store.load_samples(trial_id, include_deleted=include_deleted)
    cal = trial_calibration(store, trial)
    t_s = (t_ns - t_ns[0]) / 1e9 if len(t_ns) else np.zeros(0)
    return trial, t_s, cal.counts_to_newtons(counts), invalid, cal


def export_trial(store: Store, trial_id: int, fmt: str, out: str | Path) -> Path:
    """Write trial ``trial_id`` as ``fmt`` (csv, json or c3d) to ``out``; return the path."""
    out = Path(out)
    if fmt == "csv":
        from station.export.csv import write_trial_csv

        write_trial_csv(store, trial_id, out)
    elif fmt == "json":
        from station.export.json import write_trial_json

        write_trial_json(store, trial_id, out)
    elif fmt == "c3d":
        from station.export.c3d import write_trial_c3d

        write_trial_c3d(store, trial_id, out)
    else:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return out
