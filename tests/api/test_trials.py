"""Trials over HTTP: filters, pages, detail, metric history, left/right symmetry, delete."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from station.core.calibration import Calibration
from tests.api.conftest import Tokens


def add_trial(store: Any, athlete_id: int, protocol: str, leg: str | None, metrics: dict[str, Any] | None, *, n: int = 40) -> int:
    t = store.create_trial(athlete_id=athlete_id, protocol=protocol, leg=leg, sample_rate_hz=80.0)
    rng = np.random.default_rng(t["id"])
    t_ns = (np.arange(n) * 12_500_000).astype(np.int64)
    store.append_samples(t["id"], t_ns, rng.integers(-5000, 5000, (n, 8)), np.zeros(n, np.int32))
    store.finish_trial(t["id"], status="saved", metrics=metrics, events=[{"kind": "contact_on", "t_s": 0.1}])
    return int(t["id"])


@pytest.fixture
def trials(store: Any, athlete: dict[str, Any]) -> dict[str, Any]:
    aid = athlete["id"]
    other = store.create_athlete(name="Other Athlete")["id"]
    ids = {
        "l1": add_trial(store, aid, "single_leg_stance", "left", {"sway": {"ml_rms_mm": 6.0}}),
        "r1": add_trial(store, aid, "single_leg_stance", "right", {"sway": {"ml_rms_mm": 2.0}}),
        "l2": add_trial(store, aid, "single_leg_stance", "left", {"sway": {"ml_rms_mm": 10.0}}),
        "r2": add_trial(store, aid, "single_leg_stance", "right", {"sway": {"ml_rms_mm": 6.0}}),
        "bil": add_trial(store, aid, "bilateral_stance", None, {"sway": {"ml_rms_mm": 1.5}}),
        "oth": add_trial(store, other, "single_leg_stance", "left", {"sway": {"ml_rms_mm": 99.0}}),
    }
    return {"athlete_id": aid, "other_id": other, **ids}


def test_list_filters_and_pages(client: TestClient, tokens: Tokens, trials: dict[str, Any]) -> None:
    h = tokens.coach_h
    everything = client.get("/api/v1/trials", headers=h).json()
    assert everything["total"] == 6
    mine = client.get("/api/v1/trials", params={"athlete_id": trials["athlete_id"]}, headers=h).json()
    assert mine["total"] == 5
    lefts = client.get("/api/v1/trials", params={"athlete_id": trials["athlete_id"], "leg": "left"}, headers=h).json()
    assert {t["id"] for t in lefts["items"]} == {trials["l1"], trials["l2"]}
    bil = client.get("/api/v1/trials", params={"protocol": "bilateral_stance"}, headers=h).json()
    assert [t["id"] for t in bil["items"]] == [trials["bil"]]
    p1 = client.get("/api/v1/trials", params={"limit": 4}, headers=h).json()
    p2 = client.get("/api/v1/trials", params={"limit": 4, "offset": 4}, headers=h).json()
    ids = [t["id"] for t in p1["items"] + p2["items"]]
    assert len(ids) == 6 and len(set(ids)) == 6  # pages do not overlap or skip
    assert client.get("/api/v1/trials", params={"since": "2000-01-01", "until": "2999-01-01"}, headers=h).json()["total"] == 6
    assert client.get("/api/v1/trials", params={"until": "2000-01-01"}, headers=h).json()["total"] == 0
    assert client.get("/api/v1/trials", params={"status": "saved"}, headers=h).json()["total"] == 6
    assert client.get("/api/v1/trials", params={"status": "interrupted"}, headers=h).json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 201},
        {"limit": -1},
        {"offset": -1},
        {"protocol": "moonwalk"},
        {"leg": "both"},
        {"status": "done"},
        {"since": "yesterday"},
        {"since": "2026-02-01", "until": "2026-01-01"},
        {"athlete_id": 0},
    ],
)
def test_list_refuses_bad_filters(client: TestClient, tokens: Tokens, params: dict[str, Any]) -> None:
    r = client.get("/api/v1/trials", params=params, headers=tokens.coach_h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_detail_has_metrics_and_events(client: TestClient, tokens: Tokens, trials: dict[str, Any]) -> None:
    r = client.get(f"/api/v1/trials/{trials['l1']}", headers=tokens.coach_h)
    assert r.status_code == 200
    t = r.json()
    assert t["metrics"]["sway"]["ml_rms_mm"] == 6.0
    assert t["events"] == [{"kind": "contact_on", "t_s": 0.1}]
    assert t["n_samples"] == 40 and t["leg"] == "left"
    assert client.get("/api/v1/trials/424242", headers=tokens.coach_h).status_code == 404


def test_metric_history(client: TestClient, tokens: Tokens, trials: dict[str, Any]) -> None:
    aid = trials["athlete_id"]
    r = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": "sway.ml_rms_mm", "protocol": "single_leg_stance"}, headers=tokens.coach_h)
    assert r.status_code == 200
    assert [p["value"] for p in r.json()["points"]] == [6.0, 2.0, 10.0, 6.0]  # oldest first, other athlete excluded
    left = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": "sway.ml_rms_mm", "leg": "left"}, headers=tokens.coach_h).json()
    assert [p["trial_id"] for p in left["points"]] == [trials["l1"], trials["l2"]]
    for bad in ("", "sway..x", "sway.ml'; DROP TABLE trials;--", "$.x"):
        r = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": bad}, headers=tokens.coach_h)
        assert r.status_code == 422, bad
    assert client.get("/api/v1/athletes/9999/history", params={"metric": "a"}, headers=tokens.coach_h).status_code == 404


def test_metric_history_gives_the_symmetry_per_day(client: TestClient, tokens: Tokens, trials: dict[str, Any]) -> None:
    """The kiosk's symmetry-over-time plot draws these (it computes no LSI itself)."""
    aid = trials["athlete_id"]
    body = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": "sway.ml_rms_mm"}, headers=tokens.coach_h).json()
    days = body["symmetry_by_day"]
    day = body["points"][0]["started_at"][:10]
    # left 6 and 10, right 2 and 6 (the bilateral trial has no leg): means 8 and 4
    assert days == [{"date": day, "left": 8.0, "right": 4.0, "symmetry_index_pct": pytest.approx(100 * 4 / 6)}]
    one_leg = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": "sway.ml_rms_mm", "leg": "left"},
                         headers=tokens.coach_h).json()
    assert one_leg["symmetry_by_day"] == []  # needs both legs on a day


def test_symmetry_index(client: TestClient, tokens: Tokens, trials: dict[str, Any]) -> None:
    aid = trials["athlete_id"]
    q = {"metric": "sway.ml_rms_mm", "protocol": "single_leg_stance"}
    last = client.get(f"/api/v1/athletes/{aid}/symmetry", params=q, headers=tokens.coach_h).json()
    # latest left 10, latest right 6: 100 * |10 - 6| / ((10 + 6) / 2) = 50 %
    assert last["left"]["value"] == 10.0 and last["right"]["value"] == 6.0
    assert last["symmetry_index_pct"] == pytest.approx(50.0)
    assert last["formula"] == "100 * |L - R| / ((L + R) / 2)"
    both = client.get(f"/api/v1/athletes/{aid}/symmetry", params={**q, "last": 2}, headers=tokens.coach_h).json()
    # means: left 8, right 4 -> 100 * 4 / 6
    assert both["symmetry_index_pct"] == pytest.approx(100 * 4 / 6)
    assert both["left"]["n_trials"] == 2
    # a metric no trial has is a mistake (issue 19, 10): 422 listing the stored ones
    r = client.get(f"/api/v1/athletes/{aid}/symmetry", params={**q, "metric": "sway.nothing"}, headers=tokens.coach_h)
    assert r.status_code == 422 and "sway.nothing" in r.json()["detail"]
    none = client.get(f"/api/v1/athletes/{aid}/symmetry", params={**q, "protocol": "hop_and_stick"},
                      headers=tokens.coach_h).json()  # a known metric, but no trials of that protocol
    assert none["symmetry_index_pct"] is None and none["note"]
    r = client.get(f"/api/v1/athletes/{aid}/symmetry", params={**q, "protocol": "bilateral_stance"}, headers=tokens.coach_h)
    assert r.status_code == 422 and "single-leg" in r.json()["detail"]


def test_delete_is_admin_only_and_soft(client: TestClient, tokens: Tokens, trials: dict[str, Any], store: Any) -> None:
    tid = trials["l1"]
    assert client.delete(f"/api/v1/trials/{tid}", headers=tokens.coach_h).status_code == 403
    assert client.delete(f"/api/v1/trials/{tid}", headers=tokens.admin_h).status_code == 204
    assert client.get(f"/api/v1/trials/{tid}", headers=tokens.coach_h).status_code == 404
    assert client.get("/api/v1/trials", headers=tokens.coach_h).json()["total"] == 5
    assert store.get_trial(tid, include_deleted=True)["deleted_by"] == "head-admin"
    # its samples are still there until a purge
    assert len(store.load_samples(tid, include_deleted=True)[0]) == 40


def test_recompute_applies_another_calibration(client: TestClient, tokens: Tokens, athlete: dict[str, Any], station: Any) -> None:
    """Record with nominal gains (zeroed on the empty plates), then recompute under the
    simulator's true calibration: the body weight the analysis measures becomes the
    simulated athlete's m * g."""
    import time

    h = tokens.coach_h
    truth = station.source.cells.true_calibration(station.geometry)
    # A station zeroed once but never calibrated: true offsets, nominal gains.
    station.acquisition.set_calibration(Calibration(offsets_counts=truth.offsets_counts, geometry=station.geometry))
    station.source.set_scenario("empty")
    options = {"tare": True, "wait_still": True, "duration_s": 1.5, "video": False}
    r = client.post("/api/v1/recording/start", json={"athlete_id": athlete["id"], "protocol": "bilateral_stance", "options": options}, headers=h)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 10
    while "zeroing" in station.recorder.status()["message"] and time.monotonic() < deadline:
        time.sleep(0.05)
    station.source.set_scenario("quiet_stance")  # the athlete steps on after the zero
    status = station.recorder.wait(30)
    assert status["state"] == "saved", status["message"]
    tid = status["trial_id"]
    weight_n = station.source.athlete.weight_n
    before = client.get(f"/api/v1/trials/{tid}", headers=h).json()["metrics"]["measured_body_weight_n"]
    cal_id = station.store.save_calibration(kind="calibration", data=truth.to_dict(), created_by="test")
    time.sleep(0.01)
    r = client.post(f"/api/v1/trials/{tid}/recompute", json={"calibration_id": cal_id}, headers=h)
    assert r.status_code == 200, r.text
    after = r.json()["metrics"]["measured_body_weight_n"]
    assert after == pytest.approx(weight_n, rel=0.01)
    assert after != pytest.approx(before, rel=1e-4)  # the gains really changed the result
    assert r.json()["calibration_id"] == cal_id
    assert any(a["action"] == "recompute" and a["actor"] == "tablet-coach" for a in station.store.list_audit(target=f"trial {tid}"))
    assert client.post("/api/v1/trials/77777/recompute", json={}, headers=h).status_code == 404
    assert client.post(f"/api/v1/trials/{tid}/recompute", json={"calibration_id": 555}, headers=h).status_code == 404
    assert client.post(f"/api/v1/trials/{tid}/recompute", json={"calibration_id": "x"}, headers=h).status_code == 422


@pytest.mark.parametrize("params", [{"last": 0}, {"last": 51}, {"protocol": "nope"}, {"metric": ""}])
def test_symmetry_refuses_out_of_range_parameters(client: TestClient, tokens: Tokens, athlete: dict[str, Any], params: dict[str, Any]) -> None:
    q = {"metric": "sway.ml_rms_mm", "protocol": "single_leg_stance", **params}
    r = client.get(f"/api/v1/athletes/{athlete['id']}/symmetry", params=q, headers=tokens.coach_h)
    assert r.status_code == 422, r.text
