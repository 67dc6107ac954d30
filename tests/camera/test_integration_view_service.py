"""The camera view calibration service on a real store and a simulated camera: refusals keep
the previous roll, and a calibration never runs beside a recording."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from calibration.camera_view import CameraViewCalibration, current_camera_roll
from hardware.sim.camera import SimCamera
from station.core.config import Settings
from station.core.errors import CalibrationError, HardwareError, InputError
from station.runtime import Station
from station.storage import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "station.sqlite3")
    yield s
    s.close()


def _bar(roll_deg: float, **kwargs: Any) -> SimCamera:
    return SimCamera(None, scene="level_bar", roll_deg=roll_deg, seed=3, paced=False, **kwargs)


def test_calibrate_stores_an_active_roll_and_replaces_the_previous(store: Store) -> None:
    assert current_camera_roll(store)["calibrated"] is False
    first = CameraViewCalibration(_bar(-2.0), store).calibrate(actor="admin", n_frames=10)
    assert first["roll_deg"] == pytest.approx(-2.0, abs=0.2) and first["n_frames"] == 10
    second = CameraViewCalibration(_bar(3.0), store).calibrate(reference="level", actor="admin")
    assert second["roll_deg"] == pytest.approx(3.0, abs=0.2) and second["id"] != first["id"]
    active = store.active_calibration("camera_roll")
    assert active is not None and active["id"] == second["id"]
    # the force calibration is another kind: untouched
    assert store.active_calibration("calibration") is None


def test_refusals_keep_the_previous_roll(store: Store) -> None:
    good = CameraViewCalibration(_bar(1.0), store).calibrate(actor="admin")
    with pytest.raises(CalibrationError, match="straighter"):
        CameraViewCalibration(_bar(20.0), store).calibrate(actor="admin")
    # An athlete standing still in view shows the two pelvis colours nearly level: that
    # must not pass as the bar (their obliquity would be stored as the camera's roll).
    athlete = SimCamera(seed=4, paced=False, occlusions_per_s=0.0)
    with pytest.raises(CalibrationError, match="athlete") as exc:
        CameraViewCalibration(athlete, store).calibrate(actor="admin", n_frames=20)
    assert "step aside" in (exc.value.hint or "")
    blank = _bar(0.0, marker_diameter_mm=1.0)  # markers too small to see (too far, out of focus)
    with pytest.raises(CalibrationError, match="found in 0 frames"):
        CameraViewCalibration(blank, store).calibrate(actor="admin")
    assert current_camera_roll(store)["id"] == good["id"]
    with pytest.raises(HardwareError, match="no camera") as hw:
        CameraViewCalibration(None, store).calibrate()
    assert "STATION_CAMERA" in (hw.value.hint or "")
    with pytest.raises(HardwareError, match="unplugged"):
        CameraViewCalibration(_bar(0.0, unplugged=True), store).calibrate()
    with pytest.raises(InputError):
        CameraViewCalibration(_bar(0.0), store).calibrate(n_frames=2)
    assert current_camera_roll(store)["id"] == good["id"]


def test_no_camera_is_503_with_advice(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", hardware="sim", camera="none", sim_seed=1, loopback_without_token=True)
    st = Station(settings, camera=False)
    st.start()
    try:
        with TestClient(create_app(settings, station=st), client=("127.0.0.1", 5000)) as c:
            assert c.get("/api/v1/camera/roll").json()["camera"]["available"] is False
            r = c.post("/api/v1/camera/roll", json={})
            assert r.status_code == 503 and "no camera" in r.json()["detail"] and r.json()["hint"]
    finally:
        st.stop()


def test_calibration_and_recording_exclude_each_other(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", hardware="sim", camera="sim", sim_seed=2, loopback_without_token=True)
    camera = SimCamera(None, scene="level_bar", roll_deg=2.0, seed=2, paced=True, width=320, height=240)
    st = Station(settings, camera=camera)
    st.start()
    try:
        with TestClient(create_app(settings, station=st), client=("127.0.0.1", 5000)) as c:
            athlete = c.post("/api/v1/athletes", json={"name": "Busy"}).json()
            # A slow calibration (90 frames at 30 fps: 3 s) holds the camera; a recording must wait.
            result: dict[str, Any] = {}
            t = threading.Thread(target=lambda: result.update(r=c.post("/api/v1/camera/roll", json={"frames": 90})))
            t.start()
            view = None
            for _ in range(200):
                view = st.camera_view
                if view is not None and view.is_busy():
                    break
                threading.Event().wait(0.01)
            assert view is not None and view.is_busy()
            start = {"athlete_id": athlete["id"], "protocol": "bilateral_stance",
                     "options": {"tare": False, "wait_still": False, "duration_s": 5}}
            r = c.post("/api/v1/recording/start", json=start)
            assert r.status_code == 409 and "camera view calibration" in r.json()["detail"]
            t.join(30)
            assert result["r"].status_code == 200, result["r"].text
            # And the other way round: while a trial records, the view calibration is refused.
            assert c.post("/api/v1/recording/start", json=start).status_code in (200, 201, 202)
            r = c.post("/api/v1/camera/roll", json={})
            assert r.status_code == 409 and "recorded" in r.json()["detail"]
            c.post("/api/v1/recording/abort")
    finally:
        st.stop()
