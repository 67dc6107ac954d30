"""Athletes over HTTP: CRUD, search, paging limits, bad input, soft delete, privacy export."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Tokens


def test_create_read_update(client: TestClient, tokens: Tokens) -> None:
    body = {"name": "  Bea Hopper ", "birth_year": 1999, "body_mass_kg": 70.2, "dominant_leg": "left", "notes": "ACL 2024"}
    r = client.post("/api/v1/athletes", json=body, headers=tokens.coach_h)
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["name"] == "Bea Hopper" and a["birth_year"] == 1999 and a["dominant_leg"] == "left"
    got = client.get(f"/api/v1/athletes/{a['id']}", headers=tokens.coach_h).json()
    assert got["body_mass_kg"] == pytest.approx(70.2)
    r = client.patch(f"/api/v1/athletes/{a['id']}", json={"body_mass_kg": 71.0}, headers=tokens.coach_h)
    assert r.status_code == 200
    assert r.json()["body_mass_kg"] == 71.0 and r.json()["notes"] == "ACL 2024"  # other fields untouched


def test_search_and_pagination(client: TestClient, tokens: Tokens) -> None:
    names = [f"Runner {i:02d}" for i in range(12)] + ["Zoe 100%_Sprinter"]
    for n in names:
        assert client.post("/api/v1/athletes", json={"name": n}, headers=tokens.coach_h).status_code == 201
    page = client.get("/api/v1/athletes", params={"limit": 5, "offset": 10}, headers=tokens.coach_h).json()
    assert page["total"] == 13 and len(page["items"]) == 3 and page["offset"] == 10
    found = client.get("/api/v1/athletes", params={"q": "runner 0"}, headers=tokens.coach_h).json()
    assert found["total"] == 10
    # LIKE wildcards in the query are literal characters
    pct = client.get("/api/v1/athletes", params={"q": "100%_"}, headers=tokens.coach_h).json()
    assert [a["name"] for a in pct["items"]] == ["Zoe 100%_Sprinter"]
    assert client.get("/api/v1/athletes", params={"q": "%"}, headers=tokens.coach_h).json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "A", "birth_year": 1800}, "birth_year"),
        ({"name": "A", "birth_year": 3000}, "birth_year"),
        ({"name": "A", "body_mass_kg": -5}, "body_mass_kg"),
        ({"name": "A", "body_mass_kg": 1e9}, "body_mass_kg"),
        ({"name": "A", "dominant_leg": "middle"}, "dominant_leg"),
        ({"name": "A", "notes": "n" * 2001}, "notes"),
        ({"name": "A", "shoe_size": 44}, "shoe_size"),
        ({"name": 12}, "name"),
    ],
)
def test_invalid_bodies_name_the_field_and_write_nothing(
    client: TestClient, tokens: Tokens, body: dict[str, Any], field: str
) -> None:
    r = client.post("/api/v1/athletes", json=body, headers=tokens.coach_h)
    assert r.status_code == 422, r.text
    err = r.json()
    assert field in err["detail"] and err["hint"]
    assert "Traceback" not in r.text
    assert client.get("/api/v1/athletes", headers=tokens.coach_h).json()["total"] == 0


def test_not_json_and_bad_ids(client: TestClient, tokens: Tokens) -> None:
    r = client.post("/api/v1/athletes", content=b"{not json", headers={**tokens.coach_h, "Content-Type": "application/json"})
    assert r.status_code == 422
    for bad in ("0", "-3", "abc", str(2**70)):
        assert client.get(f"/api/v1/athletes/{bad}", headers=tokens.coach_h).status_code == 422
    r = client.get("/api/v1/athletes/999", headers=tokens.coach_h)
    assert r.status_code == 404 and "999" in r.json()["detail"]
    assert client.get("/api/v1/athletes", params={"limit": 201}, headers=tokens.coach_h).status_code == 422
    assert client.get("/api/v1/athletes", params={"limit": 0}, headers=tokens.coach_h).status_code == 422
    assert client.patch("/api/v1/athletes/999", json={"notes": "x"}, headers=tokens.coach_h).status_code == 404


def test_soft_delete_is_admin_only_and_hides_the_athlete(
    client: TestClient, tokens: Tokens, athlete: dict[str, Any], store: Any
) -> None:
    aid = athlete["id"]
    assert client.delete(f"/api/v1/athletes/{aid}", headers=tokens.coach_h).status_code == 403
    assert client.delete(f"/api/v1/athletes/{aid}", headers=tokens.admin_h).status_code == 204
    assert client.get(f"/api/v1/athletes/{aid}", headers=tokens.coach_h).status_code == 404
    assert client.get("/api/v1/athletes", headers=tokens.coach_h).json()["total"] == 0
    # Soft: still in the file until purged, and still in the privacy export.
    assert store.get_athlete(aid, include_deleted=True)["deleted_by"] == "head-admin"
    assert client.delete(f"/api/v1/athletes/{aid}", headers=tokens.admin_h).status_code == 404


def test_privacy_export_has_everything_about_one_athlete(
    client: TestClient, tokens: Tokens, athlete: dict[str, Any], store: Any
) -> None:
    aid = athlete["id"]
    other = client.post("/api/v1/athletes", json={"name": "Someone Else"}, headers=tokens.coach_h).json()
    t = store.create_trial(athlete_id=aid, protocol="bilateral_stance", sample_rate_hz=80.0)
    store.create_trial(athlete_id=other["id"], protocol="bilateral_stance", sample_rate_hz=80.0)
    assert client.get(f"/api/v1/athletes/{aid}/export", headers=tokens.coach_h).status_code == 403
    r = client.get(f"/api/v1/athletes/{aid}/export", headers=tokens.admin_h)
    assert r.status_code == 200
    data = r.json()
    assert data["athlete"]["name"] == "Ada Runner"
    assert [tr["id"] for tr in data["trials"]] == [t["id"]]
    assert any(row["actor"] == "tablet-coach" and row["action"] == "create" for row in data["audit_log"])


@pytest.mark.parametrize(
    ("body", "field"),
    [({"birth_year": 3000}, "birth_year"), ({"body_mass_kg": -1}, "body_mass_kg"), ({"name": ""}, "name"),
     ({"dominant_leg": "up"}, "dominant_leg"), ({"id": 5}, "id")],
)
def test_update_refuses_bad_values_and_changes_nothing(
    client: TestClient, tokens: Tokens, athlete: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    r = client.patch(f"/api/v1/athletes/{athlete['id']}", json=body, headers=tokens.coach_h)
    assert r.status_code == 422 and field in r.json()["detail"]
    assert client.get(f"/api/v1/athletes/{athlete['id']}", headers=tokens.coach_h).json() == athlete


def test_every_athlete_answer_carries_the_body_weight(client: TestClient, tokens: Tokens) -> None:
    """body_weight_n = mass * g from the server (the kiosk's live bars use it; g lives only
    in station.core.physics); None without a mass."""
    from station.core.physics import G_M_S2

    h = tokens.coach_h
    a = client.post("/api/v1/athletes", json={"name": "Wes Weight", "body_mass_kg": 80.0}, headers=h).json()
    assert a["body_weight_n"] == pytest.approx(80.0 * G_M_S2)
    assert client.get(f"/api/v1/athletes/{a['id']}", headers=h).json()["body_weight_n"] == pytest.approx(784.532)
    listed = client.get("/api/v1/athletes", params={"q": "Wes"}, headers=h).json()["items"]
    assert [x["body_weight_n"] for x in listed] == [pytest.approx(784.532)]
    changed = client.patch(f"/api/v1/athletes/{a['id']}", json={"body_mass_kg": None}, headers=h).json()
    assert changed["body_mass_kg"] is None and changed["body_weight_n"] is None
