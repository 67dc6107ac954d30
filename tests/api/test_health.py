"""/healthz: hardware, database and disk, 200 when fit to record and 503 otherwise."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from api.routes import health


def wait_for_frames(station: Any, n: int = 10, timeout_s: float = 5.0) -> None:
    end = time.monotonic() + timeout_s
    while station.acquisition.frames_read < n and time.monotonic() < end:
        time.sleep(0.02)


def test_healthy_station_answers_200_without_a_token(client: TestClient, station: Any) -> None:
    wait_for_frames(station)
    r = client.get("/healthz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["database"]["ok"] is True
    assert body["hardware"]["running"] is True and body["hardware"]["backend"] == "sim"
    assert [c["name"] for c in body["hardware"]["channels"]][:2] == ["left_fl", "left_fr"]
    assert body["disk"]["free_bytes"] > 0


def test_stopped_acquisition_gives_503(client: TestClient, station: Any) -> None:
    wait_for_frames(station)
    station.acquisition.stop()
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["hardware"]["healthy"] is False and r.json()["status"] == "degraded"


def test_closed_database_and_full_disk_give_503(client: TestClient, station: Any, monkeypatch: Any) -> None:
    wait_for_frames(station)
    monkeypatch.setattr(health, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["disk"]["ok"] is False
    monkeypatch.undo()
    station.store.close()
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["database"]["ok"] is False
