"""The raw trial CSV (the format of :mod:`station.rawcsv`, which ``station analyze`` reads).

Loads are newtons per cell from the stored raw counts with the trial's calibration and
zero; the ``#`` metadata lines say which, so the file stands on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from station.export.common import trial_loads
from station.rawcsv import RawRecording, write_raw_csv
from station.storage import Store


def trial_metadata(trial: dict[str, Any], athlete: dict[str, Any] | None) -> dict[str, str]:
    meta = {
        "station_trial_id": str(trial["id"]),
        "athlete_id": str(trial["athlete_id"]),
        "protocol": trial["protocol"],
        "leg": trial["leg"] or "",
        "started_at": trial["started_at"],
        "status": trial["status"],
        "sample_rate_hz": f"{trial['sample_rate_hz']:g}",
        "calibration_id": "" if trial["calibration_id"] is None else str(trial["calibration_id"]),
        "software_version": trial["software_version"],
        "units": "t_s seconds from the first sample; loads in newtons per cell",
    }
    if athlete is not None and athlete.get("body_mass_kg") is not None:
        meta["body_mass_kg"] = f"{athlete['body_mass_kg']:g}"
    return meta


def write_trial_csv(store: Store, trial_id: int, target: str | Path | TextIO, *, include_deleted: bool = False) -> None:
    trial, t_s, loads, _invalid, _cal = trial_loads(store, trial_id, include_deleted=include_deleted)
    athlete = store.get_athlete(trial["athlete_id"], include_deleted=True)
    write_raw_csv(target, RawRecording(t_s=t_s, loads_n=loads, metadata=trial_metadata(trial, athlete)))
