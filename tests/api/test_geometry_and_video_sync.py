"""Plate geometry for every token, and where a trial's video starts on its time axis.

The geometry is part of the admin-only calibration; coaches get it from
``GET /api/v1/geometry`` and from the live stream's ``hello`` message, and it follows
the active calibration when an admin activates one with another geometry. The video
offset of the trial detail is checked on a real recording with the simulated camera
against the frame-timestamp sidecar and the stored samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hardware.video_file import read_timestamps
from station.core.calibration import Calibration
from station.runtime import Station
from tests.api.conftest import Tokens, make_settings
from tests.api.test_recording import QUICK, wait_state


def _plates(geometry: Any) -> dict[str, Any]:
    return geometry.to_dict()["plates"]  # type: ignore[no-any-return]


def test_coach_reads_the_geometry_in_use(client: TestClient, tokens: Tokens, station: Any) -> None:
    assert client.get("/api/v1/calibration", headers=tokens.coach_h).status_code == 403
    r = client.get("/api/v1/geometry", headers=tokens.coach_h)
    assert r.status_code == 200, r.text
    assert r.json()["plates"] == _plates(station.acquisition.calibration.geometry)
    assert client.get("/api/v1/geometry").status_code == 401  # a token is still needed


def test_geometry_follows_an_activated_calibration(client: TestClient, tokens: Tokens, station: Any) -> None:
    cal = station.acquisition.calibration
    moved = cal.geometry.to_dict()
    moved["plates"]["left"]["center_mm"] = [-175.0, 4.0]
    moved["plates"]["left"]["cells_mm"]["fl"] = [-290.0, 160.0]
    moved["plates"]["right"]["center_mm"] = [175.0, -4.0]
    data = {**cal.to_dict(), "geometry": moved, "is_default": False}
    new_id = station.store.save_calibration(kind="calibration", data=data, created_by="test")
    r = client.post(f"/api/v1/calibration/{new_id}/activate", headers=tokens.admin_h)
    assert r.status_code == 200, r.text
    assert station.acquisition.calibration.id == new_id
    body = client.get("/api/v1/geometry", headers=tokens.coach_h).json()
    assert body["calibration_id"] == new_id
    assert body["plates"] == moved["plates"] == _plates(station.acquisition.calibration.geometry)
    assert body["plates"]["left"]["center_mm"] == [-175.0, 4.0]
    # the live stream's first message carries the same geometry
    with client.websocket_connect(f"/api/v1/live?token={tokens.coach}") as ws:
        hello = ws.receive_json()
    assert hello["type"] == "hello"
    assert hello["geometry"]["plates"] == moved["plates"]
    assert Calibration.from_dict({**data, "id": new_id}).geometry.to_dict()["plates"] == hello["geometry"]["plates"]


@pytest.fixture
def camera_client(tmp_path: Path) -> Iterator[tuple[TestClient, Tokens, Station]]:
    """A station with the simulated camera (real encoder, real sidecar)."""
    settings = make_settings(tmp_path / "data", camera="sim", camera_width=160, camera_height=120, camera_fps=15)
    station = Station(settings)
    station.start()
    try:
        assert station.camera is not None, station.camera_error
        app = create_app(settings, station=station)
        with TestClient(app, raise_server_exceptions=False) as client:
            coach, _ = station.store.create_token(name="tablet-coach", role="coach")
            admin, _ = station.store.create_token(name="head-admin", role="admin")
            yield client, Tokens(coach=coach, admin=admin, revoked=""), station
    finally:
        station.stop()


def test_trial_detail_gives_the_video_offset(camera_client: tuple[TestClient, Tokens, Station]) -> None:
    client, tokens, station = camera_client
    h = tokens.coach_h
    athlete = client.post("/api/v1/athletes", json={"name": "Vi Deo", "body_mass_kg": 70}, headers=h).json()
    station.source.set_scenario("quiet_stance")  # type: ignore[attr-defined]
    body = {"athlete_id": athlete["id"], "protocol": "bilateral_stance", "options": {**QUICK, "video": True}}
    r = client.post("/api/v1/recording/start", json=body, headers=h)
    assert r.status_code == 202, r.text
    st = wait_state(client, h, {"saved", "failed", "aborted"}, timeout_s=60)
    assert st["state"] == "saved", st
    trial = client.get(f"/api/v1/trials/{st['trial_id']}", headers=h).json()
    video = trial["video"]
    assert video is not None and video["timestamps_path"]
    frames_t_ns = read_timestamps(video["timestamps_path"])
    t_ns = station.store.load_samples(trial["id"])[0]  # type: ignore[union-attr]
    expected = (int(frames_t_ns[0]) - int(t_ns[0])) / 1e9
    assert video["offset_s"] == pytest.approx(expected, abs=1e-9)
    # the camera starts with the force recording: within a frame period or so
    assert abs(video["offset_s"]) < 0.5


def test_video_offset_is_null_without_a_sidecar(client: TestClient, tokens: Tokens, store: Any,
                                                athlete: dict[str, Any], settings: Any) -> None:
    import numpy as np

    t = store.create_trial(athlete_id=athlete["id"], protocol="bilateral_stance", sample_rate_hz=80.0)
    n = 100
    store.append_samples(t["id"], (5 * 10**9 + np.arange(n) * 12_500_000).astype(np.int64),
                         np.zeros((n, 8), np.int64), np.zeros(n, np.int32))
    store.finish_trial(t["id"], status="saved")
    path = settings.data_dir / "videos" / "gone.mp4"
    store.add_video(t["id"], path=str(path), fps=30.0, n_frames=0, size_bytes=0,
                    timestamps_path=str(path.with_suffix(".frames.csv")))
    body = client.get(f"/api/v1/trials/{t['id']}", headers=tokens.coach_h).json()
    assert body["video"]["offset_s"] is None
    # and with a sidecar written 0.2 s after the first sample
    from hardware.video_file import write_timestamps

    path.parent.mkdir(parents=True, exist_ok=True)
    write_timestamps(path.with_suffix(".frames.csv"), np.array([5_200_000_000, 5_266_000_000]))
    body = client.get(f"/api/v1/trials/{t['id']}", headers=tokens.coach_h).json()
    assert body["video"]["offset_s"] == pytest.approx(0.2)
