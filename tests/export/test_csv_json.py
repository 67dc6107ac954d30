"""Raw CSV and JSON exports of a stored trial."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from station.analysis import analyze_corner_loads
from station.core.errors import InputError, NotFoundError
from station.core.geometry import Geometry
from station.export import export_trial
from station.rawcsv import read_raw_csv

from .conftest import StoredTrial


def test_csv_holds_the_calibrated_loads(stored: StoredTrial, tmp_path: Path) -> None:
    path = export_trial(stored.store, stored.trial["id"], "csv", tmp_path / "t.csv")
    rec = read_raw_csv(path)
    sim = stored.sim
    assert len(rec.t_s) == len(sim.t_ns)
    assert np.allclose(rec.t_s, (sim.t_ns - sim.t_ns[0]) / 1e9, atol=1e-6)
    # the stored counts through the true calibration and zero = the simulator's loads
    # (which it computes the same way, so equal to the CSV's 4 decimals)
    assert np.abs(rec.loads_n - sim.loads_n).max() < 1e-3
    assert rec.metadata["protocol"] == "single_leg_stance" and rec.metadata["leg"] == "left"
    assert rec.metadata["station_trial_id"] == str(stored.trial["id"])
    assert rec.metadata["body_mass_kg"] == "70"
    # ... and `station analyze` input is what the station itself would analyse
    m = analyze_corner_loads(rec.t_s, rec.loads_n, geometry=Geometry(), protocol="single_leg_stance", leg="left")
    assert m["single_leg"]["lift_off_s"] == pytest.approx(sim.truth.lift_off_s, abs=0.05)


def test_json_has_metrics_events_and_provenance(stored: StoredTrial, tmp_path: Path) -> None:
    path = export_trial(stored.store, stored.trial["id"], "json", tmp_path / "t.json")
    doc = json.loads(path.read_text())
    assert doc["metrics"] == {"sway": {"ml_rms_mm": 5.5}}
    assert doc["events"] == [{"kind": "lift_off", "t_s": 1.8}]
    assert doc["trial"]["id"] == stored.trial["id"] and doc["trial"]["software_version"]
    assert doc["calibration"]["id"] == stored.trial["calibration_id"]
    assert doc["athlete"]["name"] == "Export Athlete"


def test_unknown_format_and_missing_trial(stored: StoredTrial, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="format"):
        export_trial(stored.store, stored.trial["id"], "xlsx", tmp_path / "t.xlsx")
    with pytest.raises(NotFoundError):
        export_trial(stored.store, 999, "csv", tmp_path / "t.csv")
