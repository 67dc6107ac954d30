"""A trial's metrics and events as one JSON document (no raw data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from station.storage import Store


def trial_document(store: Store, trial_id: int, *, include_deleted: bool = False) -> dict[str, Any]:
    trial = store.get_trial(trial_id, include_deleted=include_deleted)
    athlete = store.get_athlete(trial["athlete_id"], include_deleted=True)
    calibration = store.get_calibration(trial["calibration_id"]) if trial["calibration_id"] is not None else None
    return {
        "format": "stance-station trial v1",
        "trial": {k: v for k, v in trial.items() if k not in ("metrics", "events")},
        "athlete": {k: athlete[k] for k in ("id", "name", "birth_year", "body_mass_kg", "dominant_leg")},
        "calibration": None if calibration is None else {
            k: calibration[k] for k in ("id", "created_at", "kind", "verification")
        },
        "metrics": trial["metrics"],
        "events": trial["events"],
    }


def write_trial_json(store: Store, trial_id: int, out: str | Path) -> None:
    Path(out).write_text(json.dumps(trial_document(store, trial_id), indent=2, allow_nan=False) + "\n", encoding="utf-8")
