"""An app on a fresh SQLite database with a simulated station (real Store, real
acquisition thread on the seeded simulator, real recorder); requests through
FastAPI's TestClient, whose client address is not loopback, so tokens are needed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from station.core.config import Settings
from station.runtime import Station
from station.testing.servers import make_settings


@dataclass
class Tokens:
    coach: str
    admin: str
    revoked: str

    def h(self, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    @property
    def coach_h(self) -> dict[str, str]:
        return self.h(self.coach)

    @property
    def admin_h(self) -> dict[str, str]:
        return self.h(self.admin)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def station(settings: Settings) -> Iterator[Station]:
    st = Station(settings, camera=False)
    st.start()
    try:
        yield st
    finally:
        st.stop()


@pytest.fixture
def store(station: Station) -> Any:
    return station.store


@pytest.fixture
def app(settings: Settings, station: Station) -> Any:
    return create_app(settings, station=station)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tokens(store: Any) -> Tokens:
    coach, _ = store.create_token(name="tablet-coach", role="coach")
    admin, _ = store.create_token(name="head-admin", role="admin")
    revoked, _ = store.create_token(name="old-tablet", role="admin")
    store.revoke_token("old-tablet")
    return Tokens(coach=coach, admin=admin, revoked=revoked)


@pytest.fixture
def athlete(client: TestClient, tokens: Tokens) -> dict[str, Any]:
    r = client.post("/api/v1/athletes", json={"name": "Ada Runner", "body_mass_kg": 61.5}, headers=tokens.coach_h)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]
