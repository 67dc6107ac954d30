"""Error shape: JSON with detail and hint, never a traceback; body size limit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.app import create_app
from station.core.errors import StorageError
from tests.api.conftest import Tokens, make_settings


def test_unknown_route_and_method(client: TestClient, tokens: Tokens) -> None:
    r = client.get("/api/v1/nothing-here", headers=tokens.coach_h)
    assert r.status_code == 404 and r.json()["hint"]
    r = client.put("/api/v1/athletes", headers=tokens.coach_h)
    assert r.status_code == 405 and r.json()["detail"]


def test_station_errors_map_to_their_status_and_crashes_hide_the_traceback(tmp_path: Any, station: Any) -> None:
    app = create_app(make_settings(tmp_path / "x"), station=station)
    boom = APIRouter()

    @boom.get("/boom/storage")
    def storage() -> None:
        raise StorageError("the disk holding x is full", hint="Free disk space.")

    @boom.get("/boom/bug")
    def bug() -> None:
        raise ZeroDivisionError("secret internals")

    app.include_router(boom)
    # keep the kiosk's catch-all static mount last, as create_app does
    mounts = [r for r in app.router.routes if isinstance(r, Mount)]
    for m in mounts:
        app.router.routes.remove(m)
        app.router.routes.append(m)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom/storage")
        assert r.status_code == 503
        assert r.json() == {"detail": "the disk holding x is full", "hint": "Free disk space."}
        r = c.get("/boom/bug")
        assert r.status_code == 500
        assert "secret internals" not in r.text and "Traceback" not in r.text and r.json()["hint"]


def test_oversized_bodies_are_refused(tmp_path: Any, station: Any, tokens: Tokens) -> None:
    app = create_app(make_settings(tmp_path / "s", max_upload_bytes=2048), station=station)
    with TestClient(app) as c:
        big = {"name": "A", "notes": "x" * 5000}
        r = c.post("/api/v1/athletes", json=big, headers=tokens.coach_h)
        assert r.status_code == 413 and "2048" in r.json()["detail"]

        def chunks() -> Any:  # no Content-Length: the limit applies while streaming
            yield b'{"name": "A", "notes": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        r = c.post("/api/v1/athletes", content=chunks(), headers={**tokens.coach_h, "Content-Type": "application/json"})
        assert r.status_code == 413
        assert station.store.list_athletes()[1] == 0
