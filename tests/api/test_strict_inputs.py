"""Issue 19, bad input that got through: out-of-calendar dates (7), control characters in
stored text (8), ids written as non-integers and unknown metric paths (10). Each class
is checked over every place it can occur (routes taken from the app itself)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import route_table
from station.core.errors import InputError
from tests.api.conftest import Tokens

# -- 7: date-time query parameters -------------------------------------------------------

EDGE_DATES = [
    "9999-12-31", "9999-12-31T23:59:59", "9999-12-31T23:00:00-05:00", "0001-01-01",
    "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59.999999-23:59",
]


def _date_query_routes(app: Any) -> list[tuple[str, str, list[str]]]:
    """Every GET route with a query parameter described as a date or time."""
    schema = app.openapi()
    out = []
    for path, ops in schema["paths"].items():
        op = ops.get("get")
        if not op:
            continue
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"
                 and re.search(r"\bdate\b|\btime\b", p.get("description", ""))]
        if names:
            out.append(("GET", path, names))
    return out


@pytest.mark.parametrize("value", EDGE_DATES)
def test_dates_at_the_ends_of_the_calendar_never_give_500(client: TestClient, app: Any, tokens: Tokens,
                                                          athlete: dict[str, Any], value: str) -> None:
    routes = _date_query_routes(app)
    assert ("GET", "/api/v1/trials", ["since", "until"]) in routes
    for _, path, names in routes:
        url = re.sub(r"\{[^}]+\}", str(athlete["id"]), path)
        for name in names:
            r = client.get(url, params={name: value}, headers=tokens.coach_h)
            assert r.status_code in (200, 422), (path, name, value, r.status_code, r.text)
            if r.status_code == 422:
                assert name in r.json()["detail"]
        # both bounds at once, each at its far end
        r = client.get(url, params={"since": "0001-01-01T00:00:00+01:00", "until": value}, headers=tokens.coach_h)
        assert r.status_code in (200, 422), r.text


def test_far_bounds_are_clamped_and_include_everything(client: TestClient, tokens: Tokens, store: Any,
                                                       athlete: dict[str, Any]) -> None:
    store.create_trial(athlete_id=athlete["id"], protocol="bilateral_stance", sample_rate_hz=80.0)
    r = client.get("/api/v1/trials", params={"since": "0001-01-01T00:00:00+01:00", "until": "9999-12-31"},
                   headers=tokens.coach_h)
    assert r.status_code == 200 and r.json()["total"] == 1
    r = client.get("/api/v1/trials", params={"since": "9999-12-31T23:00:00-05:00"}, headers=tokens.coach_h)
    assert r.status_code == 200 and r.json()["total"] == 0
    r = client.get("/api/v1/trials", params={"since": "9999-12-31", "until": "2026-01-01"}, headers=tokens.coach_h)
    assert r.status_code == 422 and "since" in r.json()["detail"]


# -- 8: control characters in stored text --------------------------------------------------

CONTROL_NAMES = ["\u0000x", "abc\u0000", "a\u0007b", "tab\there", "new\nline", "esc\u001b[31m", "del\u007f",
                 "c1\u0085x", "sep\u2028x"]


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_control_characters_in_a_name_are_refused_naming_the_field(client: TestClient, tokens: Tokens,
                                                                    athlete: dict[str, Any], name: str) -> None:
    before = client.get("/api/v1/athletes", headers=tokens.coach_h).json()["total"]
    r = client.post("/api/v1/athletes", json={"name": name}, headers=tokens.coach_h)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "name" and "control character" in r.json()["detail"]
    r = client.patch(f"/api/v1/athletes/{athlete['id']}", json={"name": name}, headers=tokens.coach_h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name", r.text
    assert client.get("/api/v1/athletes", headers=tokens.coach_h).json()["total"] == before
    assert client.get(f"/api/v1/athletes/{athlete['id']}", headers=tokens.coach_h).json()["name"] == athlete["name"]


def test_notes_may_have_lines_but_no_other_control_characters(client: TestClient, tokens: Tokens) -> None:
    r = client.post("/api/v1/athletes", json={"name": "Notes", "notes": "line 1\nline 2\tok"}, headers=tokens.coach_h)
    assert r.status_code == 201 and r.json()["notes"] == "line 1\nline 2\tok"
    r = client.post("/api/v1/athletes", json={"name": "Notes", "notes": "bad\u0000"}, headers=tokens.coach_h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "notes"


def test_the_store_refuses_control_characters_from_any_caller(store: Any) -> None:
    for fields in ({"name": "x\u0000"}, {"name": "ok", "notes": "\u0000"}):
        with pytest.raises(InputError, match=list(fields)[-1]):
            store.create_athlete(**fields)
    assert store.list_athletes()[1] == 0


# -- 10: strict path and query types ---------------------------------------------------------

NOT_WHOLE = ["1.0", "1e0", "+1", " 1", "1 ", "0x1", "１"]  # the last: a full-width digit one


def _id_routes(app: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p in route_table(app) if m != "WS" and re.search(r"\{\w+_id\}", p)]


@pytest.mark.parametrize("value", NOT_WHOLE)
def test_every_id_in_every_path_must_be_a_whole_number(client: TestClient, app: Any, tokens: Tokens,
                                                       athlete: dict[str, Any], value: str) -> None:
    """A fuzzed DELETE /athletes/1.0 deleted athlete 1."""
    assert athlete["id"] == 1
    routes = _id_routes(app)
    assert len(routes) >= 12
    for method, path in routes:
        url = re.sub(r"\{\w+_id\}", value, path)
        r = client.request(method, url, headers=tokens.admin_h, json={} if method in ("POST", "PATCH") else None)
        assert r.status_code == 422, (method, url, r.status_code, r.text)
        assert "whole number" in r.json()["detail"], r.text
    assert client.get("/api/v1/athletes/1", headers=tokens.coach_h).status_code == 200  # still there


@pytest.mark.parametrize("value", ["1.0", "2e1", "1.5"])
def test_integer_query_parameters_must_be_whole_numbers(client: TestClient, tokens: Tokens, value: str) -> None:
    for url in ("/api/v1/athletes", "/api/v1/trials"):
        for name in ("limit", "offset"):
            r = client.get(url, params={name: value}, headers=tokens.coach_h)
            assert r.status_code == 422 and name in r.json()["detail"], r.text
    r = client.get("/api/v1/trials", params={"athlete_id": value}, headers=tokens.coach_h)
    assert r.status_code == 422 and "athlete_id" in r.json()["detail"]


def test_unknown_metric_path_is_422_listing_the_stored_ones(client: TestClient, tokens: Tokens, store: Any,
                                                            athlete: dict[str, Any]) -> None:
    aid = athlete["id"]
    # a station that has analysed nothing yet cannot tell: empty, not an error
    r = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": "sway.ml_rms_mm"}, headers=tokens.coach_h)
    assert r.status_code == 200 and r.json()["points"] == []
    other = store.create_athlete(name="Other")
    trial = store.create_trial(athlete_id=other["id"], protocol="single_leg_stance", leg="left", sample_rate_hz=80.0)
    store.finish_trial(trial["id"], status="saved", metrics={"sway": {"ml_rms_mm": 3.5, "ap_rms_mm": 4.0},
                                                           "single_leg": {"time_to_touchdown_s": 2.0, "leg": "left"}})
    for metric in ("single_leg.duration_s", "sway.nope", "sway", "single_leg.leg"):
        r = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": metric}, headers=tokens.coach_h)
        assert r.status_code == 422, (metric, r.text)
        detail = r.json()["detail"]
        assert metric in detail and "sway.ml_rms_mm" in detail and "single_leg.time_to_touchdown_s" in detail
        r = client.get(f"/api/v1/athletes/{aid}/symmetry", params={"metric": metric, "protocol": "single_leg_stance"},
                       headers=tokens.coach_h)
        assert r.status_code == 422, (metric, r.text)
    # a known metric this athlete has no value of: an empty history, not an error
    r = client.get(f"/api/v1/athletes/{aid}/history", params={"metric": "sway.ml_rms_mm"}, headers=tokens.coach_h)
    assert r.status_code == 200 and r.json()["points"] == []
