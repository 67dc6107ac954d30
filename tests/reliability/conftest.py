"""In-process fixtures: a real Station (paced simulator at 80 Hz, real SQLite file, real
acquisition and recorder threads) behind the real app. The TestClient connects from
loopback, as the kiosk does, so no token is needed (auth is tested separately)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from station.runtime import Station
from station.testing.servers import make_settings


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    st = Station(make_settings(tmp_path / "data"), camera=False)
    st.start()
    assert st.acquisition is not None and st.source is not None
    # The simulator's true calibration: forces are physics, so the numbers can be checked.
    st.acquisition.set_calibration(st.source.cells.true_calibration(st.geometry))  # type: ignore[attr-defined]
    try:
        yield st
    finally:
        st.stop()


@pytest.fixture
def kiosk(station: Station) -> Iterator[TestClient]:
    app = create_app(station.settings, station=station)
    with TestClient(app, client=("127.0.0.1", 50000), raise_server_exceptions=False) as c:
        yield c
