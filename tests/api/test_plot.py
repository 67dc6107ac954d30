"""``GET /api/v1/trials/{id}/plot``: the series the results page draws, computed on the
station with the trial's own calibration and geometry.

Trials are recorded through the API on the simulated station (real recorder, real
SQLite); the plot's 95 % ellipse must be the stored sway metric of that trial, also
when the trial was recorded under a non-default geometry and another one is in use now.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from station.analysis.plot import MAX_PLOT_POINTS
from station.core.calibration import Calibration
from station.core.geometry import Geometry
from station.core.physics import is_loaded
from station.runtime import Station
from tests.api.conftest import Tokens, make_settings
from tests.api.test_recording import wait_state

STANCE = {"duration_s": 7.0, "video": False}  # zeroed on the empty plates first (the default)


def record(client: TestClient, h: dict[str, str], athlete_id: int, protocol: str, leg: str | None, **options: Any) -> int:
    body: dict[str, Any] = {"athlete_id": athlete_id, "protocol": protocol, "options": {**STANCE, **options}}
    if leg is not None:
        body["leg"] = leg
    r = client.post("/api/v1/recording/start", json=body, headers=h)
    assert r.status_code == 202, r.text
    st = wait_state(client, h, {"saved", "failed", "aborted"}, timeout_s=60)
    assert st["state"] == "saved", st["message"]
    return int(st["trial_id"])


def polygon_area_mm2(points: list[list[float]]) -> float:
    """Shoelace area of a closed polygon."""
    p = np.asarray(points, dtype=float)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def moved_geometry() -> dict[str, Any]:
    """A geometry no station uses by default: plates further apart, one shifted forward."""
    g = Geometry().to_dict()
    g["plates"]["left"]["center_mm"] = [-230.0, 40.0]
    g["plates"]["right"]["center_mm"] = [210.0, -15.0]
    g["plates"]["right"]["cells_mm"]["fl"] = [-140.0, 200.0]
    return g


def check_plot(body: dict[str, Any], trial: dict[str, Any]) -> None:
    """The plot agrees with the stored metrics of ``trial`` and with itself."""
    m = trial["metrics"]
    n = len(body["t_s"])
    # drawn from the samples the stored analysis saw (a recorder may store a few more)
    assert 0 < body["n_samples"] == m["recording"]["frames"] <= trial["n_samples"]
    assert 2 <= n <= MAX_PLOT_POINTS
    assert body["t_s"] == sorted(body["t_s"]) and body["t_s"][0] == 0.0
    f = body["fz_n"]
    assert len(f["left"]) == len(f["right"]) == len(f["total"]) == n
    assert np.allclose(np.add(f["left"], f["right"]), f["total"], atol=0.011)
    # a CoP exactly where its plate is loaded (the one contact threshold of station.core.physics)
    for name, fz in (("left", f["left"]), ("right", f["right"]), ("combined", f["total"])):
        x = body["cop_mm"][name]["x_mm"]
        has = [v is not None for v in x]
        loaded = is_loaded(fz)
        # forces are rounded to 0.01 N: a sample within that of the threshold may go either way
        sure = np.abs(np.asarray(fz) - 20.0) > 0.01
        assert (np.asarray(has) == loaded)[sure].all(), name
    assert body["window_s"] == m["analysis_window_s"]
    ell = body["ellipse95"]
    assert ell is not None, body["warnings"]
    assert ell["area_mm2"] == pytest.approx(m["sway"]["ellipse95_area_mm2"], rel=1e-9)
    a, b = ell["semi_axes_mm"]
    assert np.pi * a * b == pytest.approx(ell["area_mm2"], rel=1e-9)
    k = len(ell["outline_mm"])
    assert polygon_area_mm2(ell["outline_mm"]) == pytest.approx(
        ell["area_mm2"] * k / (2 * np.pi) * np.sin(2 * np.pi / k), rel=1e-4)
    assert body["warnings"] == []


@pytest.fixture
def h(tokens: Tokens) -> dict[str, str]:
    return tokens.coach_h


def test_plot_of_a_single_leg_stance_is_its_stored_analysis(
    client: TestClient, h: dict[str, str], athlete: dict[str, Any], station: Station
) -> None:
    tid = record(client, h, athlete["id"], "single_leg_stance", "left")
    trial = client.get(f"/api/v1/trials/{tid}", headers=h).json()
    r = client.get(f"/api/v1/trials/{tid}/plot", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    check_plot(body, trial)
    assert body["sway_cop"] == "left"
    assert body["calibration_id"] is None
    assert body["geometry"]["plates"] == station.geometry.to_dict()["plates"]
    # the ellipse sits on the left plate, where the athlete stood
    cx, _ = body["ellipse95"]["centre_mm"]
    left = station.geometry.plates["left"]
    xs = [left.center_mm[0] + c[0] for c in left.cells_mm.values()]
    assert min(xs) < cx < max(xs)


def test_plot_refuses_what_is_not_a_trial(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/api/v1/trials/4242/plot", headers=tokens.coach_h).status_code == 404
    assert client.get("/api/v1/trials/0/plot", headers=tokens.coach_h).status_code == 422
    assert client.get("/api/v1/trials/1/plot").status_code == 401
    assert client.get("/api/v1/trials/1/plot", headers=tokens.h(tokens.revoked)).status_code == 401


def test_plot_uses_the_geometry_the_trial_was_recorded_with(
    client: TestClient, tokens: Tokens, athlete: dict[str, Any], station: Station
) -> None:
    """Record under a calibration with a moved geometry, then make the standard geometry
    the one in use: the plot still computes with the trial's geometry, so its ellipse is
    still the stored one (computed with the geometry in use it would not be)."""
    h = tokens.coach_h
    moved = moved_geometry()
    # the simulator's true gains and offsets: the trial is zeroed and calibrated as on a real station
    base = station.source.cells.true_calibration(station.geometry)
    cal_id = station.store.save_calibration(
        kind="calibration", data={**base.to_dict(), "geometry": moved, "is_default": False}, created_by="test")
    assert client.post(f"/api/v1/calibration/{cal_id}/activate", headers=tokens.admin_h).status_code == 200
    tid = record(client, h, athlete["id"], "bilateral_stance", None)
    trial = client.get(f"/api/v1/trials/{tid}", headers=h).json()
    assert trial["calibration_id"] == cal_id
    assert not [w for w in trial["metrics"]["warnings"] if "not zeroed" in w or "not calibrated" in w]
    other_id = station.store.save_calibration(
        kind="calibration", data={**base.to_dict(), "is_default": False}, created_by="test")
    assert client.post(f"/api/v1/calibration/{other_id}/activate", headers=tokens.admin_h).status_code == 200
    assert client.get("/api/v1/geometry", headers=h).json()["plates"] != moved["plates"]

    body = client.get(f"/api/v1/trials/{tid}/plot", headers=h).json()
    check_plot(body, trial)
    assert body["sway_cop"] == "combined"
    assert body["calibration_id"] == cal_id
    assert body["geometry"]["plates"] == moved["plates"]

    # The same samples under the geometry in use now give another ellipse: the check above
    # could fail (this is what the kiosk drew when it computed the CoP itself).
    from station.analysis.plot import trial_plot
    from station.export.common import trial_loads

    _, t_s, loads, _, _ = trial_loads(station.store, tid)
    now = trial_plot(t_s, loads, geometry=station.acquisition.calibration.geometry, metrics=trial["metrics"])
    assert now.ellipse is not None
    assert abs(now.ellipse.area_mm2 - trial["metrics"]["sway"]["ellipse95_area_mm2"]) > 1e-3 * now.ellipse.area_mm2
    assert now.warnings  # ... and says so


@pytest.fixture
def geometry_file_client(tmp_path: Path) -> Iterator[tuple[TestClient, Tokens, Station, dict[str, Any]]]:
    moved = moved_geometry()
    path = tmp_path / "geometry.json"
    path.write_text(json.dumps(moved))
    settings = make_settings(tmp_path / "data", geometry_file=path)
    st = Station(settings, camera=False)
    st.start()
    try:
        coach, _ = st.store.create_token(name="coach", role="coach")
        with TestClient(create_app(settings, station=st), raise_server_exceptions=False) as c:
            yield c, Tokens(coach=coach, admin="", revoked=""), st, moved
    finally:
        st.stop()


def test_an_uncalibrated_station_with_a_geometry_file_plots_with_that_geometry(
    geometry_file_client: tuple[TestClient, Tokens, Station, dict[str, Any]],
) -> None:
    client, tokens, station, moved = geometry_file_client
    h = tokens.coach_h
    assert station.acquisition.calibration.is_default
    athlete = client.post("/api/v1/athletes", json={"name": "Geo Metry"}, headers=h).json()
    tid = record(client, h, athlete["id"], "single_leg_stance", "right")
    trial = client.get(f"/api/v1/trials/{tid}", headers=h).json()
    assert trial["calibration_id"] is None
    body = client.get(f"/api/v1/trials/{tid}/plot", headers=h).json()
    check_plot(body, trial)
    assert body["sway_cop"] == "right"
    assert body["geometry"]["plates"] == moved["plates"] != Geometry().to_dict()["plates"]
    assert Calibration(geometry=Geometry.from_dict(moved)).geometry == station.geometry


def test_plot_of_trials_without_an_analysis(client: TestClient, tokens: Tokens, athlete: dict[str, Any], store: Any) -> None:
    """An aborted trial (samples, no metrics) plots its forces without window or ellipse; a
    trial that failed before its first sample plots nothing; a deleted one is gone."""
    from tests.api.test_trials import add_trial

    h = tokens.coach_h
    tid = add_trial(store, athlete["id"], "single_leg_stance", "left", None, n=40)
    body = client.get(f"/api/v1/trials/{tid}/plot", headers=h).json()
    assert body["n_samples"] == len(body["t_s"]) == 40
    assert body["window_s"] is None and body["ellipse95"] is None and body["sway_cop"] is None and body["reps"] == []
    empty = store.create_trial(athlete_id=athlete["id"], protocol="bilateral_stance", leg=None, sample_rate_hz=80.0)["id"]
    store.finish_trial(empty, status="failed", message="no samples were recorded")
    r = client.get(f"/api/v1/trials/{empty}/plot", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["n_samples"] == 0 and r.json()["t_s"] == [] and r.json()["cop_mm"]["combined"]["x_mm"] == []
    assert client.delete(f"/api/v1/trials/{tid}", headers=tokens.admin_h).status_code == 204
    assert client.get(f"/api/v1/trials/{tid}/plot", headers=h).status_code == 404
