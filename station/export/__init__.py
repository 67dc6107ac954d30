"""Exports of stored trials: the raw CSV, a JSON of metrics, and a C3D file.

``export_trial(store, trial_id, fmt, out)`` writes one trial; ``export_athlete`` writes
everything about one athlete (privacy requests). All readers of the raw counts go
through :func:`trial_loads`, which applies the trial's calibration and zero.
"""

from __future__ import annotations

from pathlib import Path

from station.core.errors import InputError
from station.export.c3d import write_trial_c3d
from station.export.common import trial_calibration, trial_loads
from station.export.csv import write_trial_csv
from station.export.json import write_trial_json
from station.storage import Store

FORMATS = ("csv", "json", "c3d")


def export_trial(store: Store, trial_id: int, fmt: str, out: str | Path) -> Path:
    """Write trial ``trial_id`` as ``fmt`` (csv, json or c3d) to ``out``; return the path."""
    out = Path(out)
    if fmt == "csv":
        write_trial_csv(store, trial_id, out)
    elif fmt == "json":
        write_trial_json(store, trial_id, out)
    elif fmt == "c3d":
        write_trial_c3d(store, trial_id, out)
    else:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return out

__all__ = ["FORMATS", "export_trial", "trial_calibration", "trial_loads"]
