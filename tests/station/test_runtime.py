"""The assembled station: parts started in order, recording refused during a calibration."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.core.config import load_settings
from station.core.errors import ConflictError
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
    assert station.health()["camera"] == {"configured": "none", "available": False, "error": None, "hint": None}


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


def test_interrupted_trial_is_analysed_at_start_up(tmp_path: Path) -> None:
    import time

    from hardware.sim import simulate_trial
    from station.storage import Store

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    trial = simulate_trial("bilateral_stance", seed=5, duration_s=6.0)
    with_zero = [float(v) for v in trial.cells.offsets_counts]
    store = Store(data_dir / "station.sqlite3")
    athlete = store.create_athlete(name="Kim", body_mass_kg=70.0)
    row = store.create_trial(
        athlete_id=athlete["id"], protocol="bilateral_stance", sample_rate_hz=80.0, zero_offsets=with_zero
    )
    store.append_samples(row["id"], trial.t_ns, trial.counts, trial.invalid)
    store.close()  # the process "died" here: the trial is still 'recording'

    st = Station(load_settings(data_dir=data_dir, camera="none"))
    st.start()
    try:
        assert st.store is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = st.store.get_trial(row["id"])
            if got.get("metrics"):
                break
            time.sleep(0.1)
        assert got["status"] == "interrupted"
        # analysed from the saved samples: the body weight is the simulated athlete's
        assert got["metrics"]["measured_body_weight_n"] == pytest.approx(70.0 * 9.81, rel=0.05)
        assert got["metrics"]["sway"]["ml_rms_mm"] is not None
    finally:
        st.stop()
