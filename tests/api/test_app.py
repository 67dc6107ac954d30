"""The app factory: without a station passed in, the lifespan builds, starts and stops one."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import make_settings


def test_lifespan_owns_a_station_when_none_is_given(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "own", camera="none")
    app = create_app(settings)
    assert app.state.station is None
    with TestClient(app) as client:
        station = app.state.station
        assert station is not None and station.started
        assert (tmp_path / "own" / "station.sqlite3").is_file()
        deadline = time.monotonic() + 10
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/healthz").json()["ok"] is True
        assert client.get("/docs").status_code == 200
        assert client.get("/openapi.json").json()["info"]["title"] == "Stance Station API"
        assert "Stance Station" in client.get("/").text  # kiosk page or its placeholder
    assert app.state.station is None and not station.started
    assert not station.acquisition.running
