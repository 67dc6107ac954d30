"""Camera health that tells the truth: the fake picamera2 made to fail in the ways a Pi
does (an import that raises something else than ImportError, libcamera errors at start
and at capture). Each failure is a HardwareError with its reason; a station configured
with that camera still records forces, says why in /healthz (and the kiosk's banner), and
every trial says "no video" with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hardware.fakes import picamera2 as fake
from hardware.picamera2_backend import Picamera2Camera
from station.core.errors import HardwareError
from station.runtime import Station
from station.testing.servers import make_settings
from station.testing.service import BUSY, wait_until

#: What picamera2 raises on Raspberry Pi OS when the venv's numpy 2.x hides the OS's 1.x
#: (raspberrypi/picamera2 #1088): simplejpeg was built against numpy 1.x.
NUMPY_MISMATCH = ValueError(
    "numpy.dtype size changed, may indicate binary incompatibility. Expected 96 from C header, got 88 from PyObject"
)


@pytest.fixture
def broken_import() -> Iterator[None]:
    fake.install(import_error=NUMPY_MISMATCH)
    try:
        yield
    finally:
        fake.uninstall()


def test_an_import_that_raises_valueerror_is_reported_with_its_reason(broken_import: None) -> None:
    with pytest.raises(ValueError, match="numpy.dtype size changed"):
        import picamera2  # noqa: F401 - the fake fails through the import system itself
    with pytest.raises(HardwareError) as exc:
        Picamera2Camera().start()
    assert "picamera2 cannot be loaded: ValueError: numpy.dtype size changed" in exc.value.message
    assert exc.value.hint is not None and "numpy" in exc.value.hint and "STATION_CAMERA=none" in exc.value.hint


def test_libcamera_errors_at_start_and_capture_are_reported_and_release_the_camera(fake_picamera2: Any) -> None:
    fake_picamera2.SYSTEM.start_error = RuntimeError("Failed to start camera: Invalid argument")
    with pytest.raises(HardwareError, match="RuntimeError: Failed to start camera: Invalid argument"):
        Picamera2Camera().start()
    fake_picamera2.SYSTEM.start_error = None
    fake_picamera2.SYSTEM.capture_error = RuntimeError("libcamera: dequeue timeout on the sensor")
    cam = Picamera2Camera(frame_timeout_s=0.5)
    with pytest.raises(HardwareError, match="could not be started: RuntimeError: libcamera: dequeue timeout"):
        cam.start()  # the first frame is captured at start: the failure shows here, not in a trial
    assert all(c.closed for c in fake_picamera2.SYSTEM.instances)  # nothing left holding the camera
    fake_picamera2.SYSTEM.capture_error = None
    with cam:  # mended: starts, and delivers
        assert cam.read_frame().image.shape == (480, 640, 3)


@pytest.fixture
def station_with_broken_camera(tmp_path: Path, broken_import: None) -> Iterator[tuple[Station, TestClient]]:
    st = Station(make_settings(tmp_path / "data", camera="picamera2"))
    st.start()
    try:
        with TestClient(create_app(st.settings, station=st), client=("127.0.0.1", 50002)) as client:
            yield st, client
    finally:
        st.stop()


def test_health_and_trial_say_why_there_is_no_video(station_with_broken_camera: tuple[Station, TestClient]) -> None:
    station, client = station_with_broken_camera
    wait_until(lambda: client.get("/healthz").status_code == 200, 10, "the simulated load cells")
    body = client.get("/healthz").json()
    camera = body["camera"]
    assert camera["configured"] == "picamera2" and camera["available"] is False
    assert "ValueError: numpy.dtype size changed" in camera["error"]
    problem = next(p for p in body["problems"] if p["code"] == "camera_unavailable")
    assert problem["severity"] == "warn"  # force recording goes on: still 200
    assert "numpy.dtype size changed" in problem["message"] and "numpy" in problem["hint"]

    athlete = client.post("/api/v1/athletes", json={"name": "No Video", "body_mass_kg": 70}).json()
    r = client.post("/api/v1/recording/start", json={
        "athlete_id": athlete["id"], "protocol": "bilateral_stance",
        "options": {"tare": False, "wait_still": False, "duration_s": 1.5}})  # video asked for (the default)
    assert r.status_code == 202, r.text
    status = wait_until(
        lambda: (s := client.get("/api/v1/recording/status").json())["state"] not in BUSY and s, 30, "the trial's end"
    )
    assert status["state"] == "saved", status
    trial = client.get(f"/api/v1/trials/{status['trial_id']}").json()
    warnings = " ".join(trial["metrics"]["warnings"])
    assert "no video" in warnings and "numpy.dtype size changed" in warnings, warnings
    assert station.camera is None


def test_a_working_camera_is_probed_at_start_up(tmp_path: Path, fake_picamera2: Any) -> None:
    st = Station(make_settings(tmp_path / "data", camera="picamera2"))
    st.start()
    try:
        assert st.camera is not None and st.camera_error is None
        assert fake_picamera2.SYSTEM.frames_produced >= 1  # one frame was captured
        assert all(c.closed for c in fake_picamera2.SYSTEM.instances)  # and the camera released
        assert st.health()["camera"]["available"] is True
    finally:
        st.stop()


def test_kiosk_banner_names_the_camera_problem(station_with_broken_camera: tuple[Station, TestClient]) -> None:
    from playwright.sync_api import sync_playwright

    from station.testing.browser import health_banner
    from station.testing.servers import serve_in_thread

    station, _ = station_with_broken_camera
    with serve_in_thread(create_app(station.settings, station=station)) as url, sync_playwright() as pw:
        text, css = health_banner(pw, url, "camera_unavailable")
        assert "De camera werkt niet" in text and "numpy.dtype size changed" in text, text
        assert "warn" in css
