"""Access control, enumerated from the app itself: a new route that forgets auth fails here."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app, route_table
from tests.api.conftest import Tokens, make_settings

#: Routes anyone may call: they carry no athlete data.
PUBLIC = {("GET", "/healthz"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"), ("GET", "/")}
#: Routes that change or reveal everything and need the admin role (coach gets 403).
ADMIN = {
    ("DELETE", "/api/v1/athletes/{athlete_id}"),
    ("GET", "/api/v1/athletes/{athlete_id}/export"),
    ("DELETE", "/api/v1/trials/{trial_id}"),
}


#: Whole areas for admins only, reads included: calibration and the camera view change
#: the numbers of every later trial.
ADMIN_PREFIXES = ("/api/v1/calibration", "/api/v1/camera")


def _is_admin_route(method: str, path: str) -> bool:
    return (method, path) in ADMIN or path.startswith(ADMIN_PREFIXES)


def http_routes(app: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p in route_table(app) if m != "WS"]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    return client.request(method, concrete(path), headers=headers or {}, json={} if method in {"POST", "PATCH", "PUT"} else None)


def test_route_list_is_not_empty(app: Any) -> None:
    paths = {p for _, p in http_routes(app)}
    # The enumeration must see the real routers, otherwise the checks below prove nothing.
    for expected in ("/api/v1/athletes", "/api/v1/trials", "/api/v1/recording/start", "/healthz"):
        assert expected in paths


@pytest.mark.parametrize("kind", ["missing", "wrong", "revoked", "malformed"])
def test_every_data_route_refuses_bad_credentials(client: TestClient, app: Any, tokens: Tokens, kind: str) -> None:
    headers = {
        "missing": {},
        "wrong": tokens.h("not-a-real-token-" + "x" * 20),
        "revoked": tokens.h(tokens.revoked),
        "malformed": {"Authorization": f"Basic {tokens.admin}"},
    }[kind]
    checked = 0
    for method, path in http_routes(app):
        if (method, path) in PUBLIC:
            continue
        r = call(client, method, path, headers)
        assert r.status_code == 401, f"{method} {path} with {kind} token gave {r.status_code}: {r.text}"
        body = r.json()
        assert body["detail"] and body["hint"], body
        assert r.headers.get("www-authenticate") == "Bearer"
        checked += 1
    assert checked >= 15


def test_admin_routes_refuse_a_coach_and_coach_routes_admit_one(client: TestClient, app: Any, tokens: Tokens) -> None:
    n_admin = 0
    for method, path in http_routes(app):
        if (method, path) in PUBLIC:
            continue
        r = call(client, method, path, tokens.coach_h)
        if _is_admin_route(method, path):
            assert r.status_code == 403, f"{method} {path} let a coach through: {r.status_code}"
            assert "admin" in r.json()["detail"]
            n_admin += 1
        else:
            assert r.status_code not in (401, 403), f"{method} {path} refused a coach: {r.text}"
        # An admin is never refused for lack of rights.
        r = call(client, method, path, tokens.admin_h)
        assert r.status_code not in (401, 403), f"{method} {path} refused an admin: {r.text}"
    assert n_admin >= len(ADMIN) + 10  # with the calibration and camera routes


def test_websocket_routes_refuse_without_token(client: TestClient, app: Any, tokens: Tokens) -> None:
    ws_paths = [p for m, p in route_table(app) if m == "WS"]
    assert "/api/v1/live" in ws_paths
    for path in ws_paths:
        for query in ("", "?token=wrong", f"?token={tokens.revoked}"):
            with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(path + query) as ws:
                ws.receive_json()
            assert exc.value.code == 1008


def test_loopback_kiosk_needs_no_token_unless_disabled(tmp_path: Any, station: Any) -> None:
    settings = make_settings(tmp_path / "d")
    app = create_app(settings, station=station)
    with TestClient(app, client=("127.0.0.1", 5555)) as c:
        assert c.get("/api/v1/athletes").status_code == 200
        # Proxied requests are not trusted as local, whatever their socket address.
        assert c.get("/api/v1/athletes", headers={"X-Forwarded-For": "10.0.0.9"}).status_code == 401
    closed = create_app(make_settings(tmp_path / "e", loopback_without_token=False), station=station)
    with TestClient(closed, client=("127.0.0.1", 5555)) as c:
        assert c.get("/api/v1/athletes").status_code == 401


def test_changes_are_audited_with_the_token_name_and_no_secret(
    client: TestClient, store: Any, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = client.post("/api/v1/athletes", json={"name": "Audit Me"}, headers=tokens.coach_h)
    assert r.status_code == 201
    aid = r.json()["id"]
    client.patch(f"/api/v1/athletes/{aid}", json={"notes": "left knee"}, headers=tokens.coach_h)
    client.delete(f"/api/v1/athletes/{aid}", headers=tokens.admin_h)
    client.get("/api/v1/athletes", headers=tokens.h("wrong-secret-value"))
    rows = store.list_audit(target=f"athlete {aid}")
    assert [(r["actor"], r["action"]) for r in reversed(rows)] == [
        ("tablet-coach", "create"),
        ("tablet-coach", "update"),
        ("head-admin", "delete"),
    ]
    logs = caplog.text
    for secret in (tokens.coach, tokens.admin, "wrong-secret-value"):
        assert secret not in logs
    stored = store.db.execute("SELECT secret_sha256 FROM tokens").fetchall()
    assert all(tokens.coach not in row[0] and len(row[0]) == 64 for row in stored)


def test_cors_closed_by_default_and_opened_by_settings(tmp_path: Any, station: Any, client: TestClient) -> None:
    pre = {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    r = client.options("/api/v1/athletes", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    app = create_app(make_settings(tmp_path / "c", cors_origins=["http://tablet.local"]), station=station)
    with TestClient(app) as c:
        ok = c.options("/api/v1/athletes", headers={**pre, "Origin": "http://tablet.local"})
        assert ok.headers.get("access-control-allow-origin") == "http://tablet.local"
        bad = c.options("/api/v1/athletes", headers=pre)
        assert "access-control-allow-origin" not in bad.headers


def test_revocation_takes_effect_within_the_cache_time(client: TestClient, store: Any, tokens: Tokens) -> None:
    import time

    from api import deps

    assert client.get("/api/v1/athletes", headers=tokens.coach_h).status_code == 200
    store.revoke_token("tablet-coach")
    time.sleep(deps.TOKEN_CACHE_S + 0.1)
    r = client.get("/api/v1/athletes", headers=tokens.coach_h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
