"""The calibration endpoints against a real station: real SQLite, a real acquisition
thread on an unpaced simulator (simulated time runs fast, so the whole guided flow takes
seconds), the simulated operator placing the masses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hardware.sim import SimCells, SimLoadCellSource
from station.core.config import Settings
from station.runtime import Station

BASE = "/api/v1/calibration"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(data_dir=tmp_path / "data", hardware="sim", camera="none", sim_seed=4,
                        loopback_without_token=False)
    # Unpaced, the acquisition thread runs simulated time as fast as it can, so how much
    # passes between two requests depends on the machine: leave the zero drift out here
    # (the drift has its own tests) so the verification cannot fail by chance.
    cells = SimCells.random(4, drift_counts_per_h=0.0, drift_walk_counts_per_sqrt_h=0.0)
    source = SimLoadCellSource(seed=4, rate_hz=80.0, paced=False, cells=cells)
    station = Station(settings, source=source, camera=False)
    station.start()
    assert station.store is not None
    admin, _ = station.store.create_token(name="head-admin", role="admin")
    coach, _ = station.store.create_token(name="tablet-coach", role="coach")
    app = create_app(settings, station=station)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield {"client": client, "station": station, "source": source,
                   "admin": {"Authorization": f"Bearer {admin}"}, "coach": {"Authorization": f"Bearer {coach}"}}
    finally:
        station.stop()


def _until(fn: Callable[[], Any], timeout_s: float = 60.0, every_s: float = 0.05) -> Any:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        out = fn()
        if out:
            return out
        time.sleep(every_s)
    raise AssertionError("timed out")


def test_calibration_needs_admin(env: dict[str, Any]) -> None:
    c = env["client"]
    assert c.get(BASE).status_code == 401
    assert c.get(BASE, headers=env["coach"]).status_code == 403
    r = c.post(f"{BASE}/workflow/start", json={}, headers=env["coach"])
    assert r.status_code == 403
    assert c.get(f"{BASE}/workflow", headers=env["coach"]).status_code == 403


def test_guided_calibration_over_http(env: dict[str, Any]) -> None:
    c, h, station = env["client"], env["admin"], env["station"]
    cur = c.get(BASE, headers=h).json()
    assert cur["uncalibrated"] is True and "never been calibrated" in cur["warning"]

    r = c.post(f"{BASE}/workflow/start", json={"mass_kg": 20, "linearity_mass_kg": 40}, headers=h)
    assert r.status_code == 200, r.text
    st = r.json()
    assert st["state"] == "tare" and st["started_by"] == "head-admin" and len(st["steps"]) == 12
    assert c.post(f"{BASE}/workflow/start", json={}, headers=h).status_code == 409
    assert c.post(f"{BASE}/workflow/fit", headers=h).status_code == 409  # wrong state

    def tared() -> Any:
        rr = c.post(f"{BASE}/workflow/tare", headers=h)
        return rr.json() if rr.status_code == 200 else None

    st = _until(tared)
    assert st["state"] == "capture" and st["step"]["instruction"].startswith("Place 20 kg on the left plate")

    def all_captured() -> Any:
        s = c.get(f"{BASE}/workflow", headers=h).json()
        assert s["state"] == "capture", s
        return s if s["step_index"] == len(s["steps"]) else None

    st = _until(all_captured)
    r = c.post(f"{BASE}/workflow/fit", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "fitted"

    def verifying() -> Any:
        rr = c.post(f"{BASE}/workflow/verify", headers=h)
        return rr.json() if rr.status_code == 200 else None

    _until(verifying)
    st = _until(lambda: (s := c.get(f"{BASE}/workflow", headers=h).json())["state"] == "verified" and s)
    assert st["verification"]["passed"], st["verification"]
    r = c.post(f"{BASE}/workflow/activate", headers=h)
    assert r.status_code == 200, r.text
    cid = r.json()["calibration_id"]

    # Applied, stored with report and verification, listed in the history, audited.
    assert station.acquisition.calibration.id == cid
    hidden = 1.0 / env["source"].cells.gains_counts_per_n
    assert np.abs(np.asarray(station.acquisition.calibration.gains_n_per_count) / hidden - 1).max() < 0.005
    cur = c.get(BASE, headers=h).json()
    assert cur["calibration"]["id"] == cid and cur["uncalibrated"] is False
    row = c.get(f"{BASE}/{cid}", headers=h).json()
    assert row["created_by"] == "head-admin" and row["verification"]["passed"] is True
    assert "linearity" in row["data"]["fit"]["plates"]["left"]
    hist = c.get(f"{BASE}/history", params={"kind": "calibration"}, headers=h).json()["items"]
    assert [x["id"] for x in hist] == [cid]
    actions = {(a["actor"], a["action"]) for a in station.store.list_audit(limit=50)}
    assert ("head-admin", "calibration.activate") in actions


def test_cancel_and_bad_requests(env: dict[str, Any]) -> None:
    c, h, station = env["client"], env["admin"], env["station"]
    before = station.acquisition.calibration
    assert c.post(f"{BASE}/workflow/start", json={"mass_kg": 0}, headers=h).status_code == 422
    r = c.post(f"{BASE}/workflow/start", json={"mass_kg": 20, "colour": "red"}, headers=h)
    assert r.status_code == 422
    r = c.post(f"{BASE}/workflow/start", json={"geometry": {"plates": {"left": {}}}}, headers=h)
    assert r.status_code == 422 and "geometry" in r.json()["detail"]
    assert c.post(f"{BASE}/workflow/cancel", headers=h).status_code == 409  # nothing to cancel
    assert c.post(f"{BASE}/workflow/start", json={}, headers=h).status_code == 200
    r = c.post(f"{BASE}/workflow/cancel", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert station.acquisition.calibration == before
    assert c.get(f"{BASE}/999", headers=h).status_code == 404
    assert c.get(f"{BASE}/0", headers=h).status_code == 422
    assert c.post(f"{BASE}/999/activate", headers=h).status_code == 404


def test_manual_rezero_over_http(env: dict[str, Any]) -> None:
    c, h, station = env["client"], env["admin"], env["station"]
    time.sleep(0.3)  # a few simulated seconds of empty plates
    r = c.post(f"{BASE}/rezero", headers=h)
    assert r.status_code == 200, r.text
    rid = r.json()["id"]
    assert station.acquisition.calibration.id == rid
    # A re-zero cannot be activated as a calibration.
    r = c.post(f"{BASE}/{rid}/activate", headers=h)
    assert r.status_code == 422 and "not a full calibration" in r.json()["detail"]
    env["source"].place_mass(30.0, (150.0, 0.0))
    time.sleep(0.3)
    r = c.post(f"{BASE}/rezero", headers=h)
    assert r.status_code == 422 and "not empty" in r.json()["detail"]
