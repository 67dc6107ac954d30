"""Recording control over HTTP on the real recorder and the simulated plates."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Tokens

#: Start recording at once (no zeroing, no wait for stillness) for 1.2 s of samples.
QUICK = {"tare": False, "wait_still": False, "duration_s": 1.2, "video": False}


def wait_state(client: TestClient, h: dict[str, str], states: set[str], timeout_s: float = 20.0) -> dict[str, Any]:
    end = time.monotonic() + timeout_s
    while True:
        st = client.get("/api/v1/recording/status", headers=h).json()
        if st["state"] in states or time.monotonic() > end:
            return st  # type: ignore[no-any-return]
        time.sleep(0.05)


def test_protocols_list_instructions(client: TestClient, tokens: Tokens) -> None:
    body = client.get("/api/v1/protocols", headers=tokens.coach_h).json()
    names = [p["name"] for p in body["protocols"]]
    assert "single_leg_stance" in names and "single_leg_squat" in names
    sls = next(p for p in body["protocols"] if p["name"] == "single_leg_stance")
    assert sls["needs_leg"] is True and "touches down" in sls["instructions"]["en"]
    assert body["options"]["duration_s"]["max"] == 300.0


def test_record_stop_and_conflicting_start(client: TestClient, tokens: Tokens, athlete: dict[str, Any], station: Any) -> None:
    h = tokens.coach_h
    station.source.set_scenario("quiet_stance")  # someone stands on both plates
    assert client.get("/api/v1/recording/status", headers=h).json()["state"] == "idle"
    body = {"athlete_id": athlete["id"], "protocol": "bilateral_stance", "options": {**QUICK, "duration_s": 30.0}}
    r = client.post("/api/v1/recording/start", json=body, headers=h)
    assert r.status_code == 202, r.text
    assert r.json()["state"] in ("armed", "recording")
    st = wait_state(client, h, {"recording"})
    assert st["state"] == "recording" and st["protocol"] == "bilateral_stance"
    # A second start while busy: 409 naming the current state; nothing else changes.
    again = client.post("/api/v1/recording/start", json=body, headers=tokens.admin_h)
    assert again.status_code == 409
    assert "recording" in again.json()["detail"] and again.json()["hint"]
    assert client.get("/api/v1/trials", headers=h).json()["total"] == 1
    time.sleep(1.6)  # the analysis needs at least 1 s
    r = client.post("/api/v1/recording/stop", headers=h)
    assert r.status_code == 200, r.text
    st = wait_state(client, h, {"saved", "failed"})
    assert st["state"] == "saved", st["message"]
    trial = client.get(f"/api/v1/trials/{st['trial_id']}", headers=h).json()
    assert trial["status"] == "saved"
    # every frame recorded is stored: about 80 per second of recording
    assert trial["n_samples"] == pytest.approx(80 * st["elapsed_s"], abs=3)
    acts = [(a["actor"], a["action"]) for a in station.store.list_audit(limit=20)]
    assert ("tablet-coach", "recording.start") in acts and ("tablet-coach", "recording.stop") in acts


def test_protocol_ends_by_itself_and_abort_keeps_the_trial(
    client: TestClient, tokens: Tokens, athlete: dict[str, Any], station: Any
) -> None:
    h = tokens.coach_h
    station.source.set_scenario("quiet_stance")
    body = {"athlete_id": athlete["id"], "protocol": "weight_shift", "leg": "left", "options": QUICK}
    assert client.post("/api/v1/recording/start", json=body, headers=h).status_code == 202
    st = wait_state(client, h, {"saved", "failed", "aborted"})
    assert st["state"] == "saved", st["message"]  # ended by its 1.2 s duration, not by us
    first = st["trial_id"]
    assert client.post("/api/v1/recording/start", json={**body, "options": {**QUICK, "duration_s": 60.0}}, headers=h).status_code == 202
    wait_state(client, h, {"recording"})
    r = client.post("/api/v1/recording/abort", headers=h)
    assert r.status_code == 200
    st = wait_state(client, h, {"aborted"})
    assert st["state"] == "aborted" and st["trial_id"] != first
    assert client.get(f"/api/v1/trials/{st['trial_id']}", headers=h).json()["status"] == "aborted"
    # nothing is running now: stop and abort are refused with the state named
    for action in ("stop", "abort"):
        r = client.post(f"/api/v1/recording/{action}", headers=h)
        assert r.status_code == 409 and "aborted" in r.json()["detail"]


@pytest.mark.parametrize(
    ("change", "code", "word"),
    [
        ({"protocol": "moonwalk"}, 422, "protocol"),
        ({"protocol": "single_leg_stance"}, 422, "leg"),
        ({"leg": "left"}, 422, "both legs"),
        ({"leg": "middle", "protocol": "single_leg_stance"}, 422, "leg"),
        ({"options": {"duration_s": 0}}, 422, "duration_s"),
        ({"options": {"duration_s": 1e6}}, 422, "duration_s"),
        ({"options": {"duration_s": "long"}}, 422, "duration_s"),
        ({"options": {"reps": 5}}, 422, "reps"),
        ({"protocol": "single_leg_squat", "leg": "left", "options": {"reps": 31}}, 422, "reps"),
        ({"options": {"arm_timeout_s": 0.5}}, 422, "arm_timeout_s"),
        ({"options": {"turbo": True}}, 422, "turbo"),
        ({"athlete_id": 0}, 422, "athlete_id"),
        ({"athlete_id": 987654}, 404, "987654"),
        ({"extra": 1}, 422, "extra"),
    ],
)
def test_bad_starts_are_refused_and_write_nothing(
    client: TestClient, tokens: Tokens, athlete: dict[str, Any], change: dict[str, Any], code: int, word: str
) -> None:
    body = {"athlete_id": athlete["id"], "protocol": "bilateral_stance", "options": QUICK, **change}
    r = client.post("/api/v1/recording/start", json=body, headers=tokens.coach_h)
    assert r.status_code == code, r.text
    assert word in r.json()["detail"]
    assert client.get("/api/v1/recording/status", headers=tokens.coach_h).json()["state"] == "idle"
    assert client.get("/api/v1/trials", headers=tokens.coach_h).json()["total"] == 0
