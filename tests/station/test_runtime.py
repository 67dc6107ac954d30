"""The assembled station: parts started in order, recording refused during a calibration."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.config import load_settings
from station.errors import ConflictError
from station.runtime import Station


@pytest.fixture
def station(tmp_path: Path) -> Station:
    st = Station(load_settings(data_dir=tmp_path / "data", camera="none"))
    st.start()
    yield st
    st.stop()


def test_start_wires_every_part(station: Station) -> None:
    assert station.store is not None and station.acquisition is not None
    assert station.recorder is not None and station.calibration is not None
    assert station.acquisition.running
    assert (station.settings.data_dir / "station.sqlite3").is_file()
    assert station.health()["camera"] == {"configured": "none", "available": False, "error": None}


def test_no_recording_while_a_calibration_runs(station: Station) -> None:
    assert station.store is not None and station.recorder is not None and station.calibration is not None
    athlete = station.store.create_athlete(name="Sam")
    station.calibration.start_workflow(mass_kg=20.0, actor="admin")
    with pytest.raises(ConflictError, match="calibration is in progress"):
        station.recorder.start(athlete_id=athlete["id"], protocol="bilateral_stance")
    station.calibration.cancel()
    status = station.recorder.start(athlete_id=athlete["id"], protocol="bilateral_stance")
    assert status["state"] in {"armed", "recording"}
    station.recorder.abort()
