"""Access control, enumerated from the app itself: a new route that forgets auth fails here."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app, route_table
from api.auth import FailedAuthLimiter
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
    # every route in a row from one address: more failures than the limiter allows
    # (tested on its own below), so this test gives its client a larger allowance
    app.state.auth_limiter = FailedAuthLimiter(burst=10_000)
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


# -- issue 19 (12): the token and role are checked before the body is read ----------------


def _asgi_request(app: Any, method: str, path: str, headers: dict[str, str], body: bytes,
                  client: tuple[str, int] = ("10.0.0.5", 40000)) -> tuple[int, int]:
    """Send one request straight to the ASGI app; return (status, body bytes the app read)."""
    import asyncio

    read = 0
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal read, sent
        if sent:
            await asyncio.sleep(3600)  # the client waits for the answer
        sent = True
        read += len(body)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "client": client,
        "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in
                    {**headers, "content-type": "application/json", "content-length": str(len(body))}.items()],
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    return status, read


def test_bodies_are_not_read_before_the_token_and_role_are_checked(app: Any, tokens: Tokens) -> None:
    """An unauthenticated 15 MB JSON was parsed in full before the 401 (issue 19, 12)."""
    app.state.auth_limiter = FailedAuthLimiter(burst=10_000)
    body = b"[" + b"{}," * 1000 + b"{}]"
    checked = 0
    for method, path in http_routes(app):
        if method in ("GET", "HEAD") or (method, path) in PUBLIC:
            continue
        url = concrete(path)
        for headers in ({}, tokens.h("not-a-real-token-" + "x" * 20), tokens.h(tokens.revoked)):
            status, read = _asgi_request(app, method, url, headers, body)
            assert (status, read) == (401, 0), f"{method} {path}: {status}, read {read} bytes"
        if _is_admin_route(method, path):
            status, read = _asgi_request(app, method, url, tokens.coach_h, body)
            assert (status, read) == (403, 0), f"{method} {path} as coach: {status}, read {read} bytes"
        checked += 1
    assert checked >= 15
    # and an authorised caller's body is read as before (the route answers on it)
    status, read = _asgi_request(app, "POST", "/api/v1/athletes", tokens.coach_h, b'{"name": "Read"}')
    assert (status, read) == (201, 16)


def test_json_bodies_have_their_own_smaller_limit(client: TestClient, tokens: Tokens) -> None:
    from api.middleware import MAX_JSON_BYTES

    notes = "n" * (MAX_JSON_BYTES + 10)
    r = client.post("/api/v1/athletes", json={"name": "Big", "notes": notes}, headers=tokens.coach_h)
    assert r.status_code == 413 and str(MAX_JSON_BYTES) in r.json()["detail"]
    r = client.post("/api/v1/athletes", content=b'{"name": "x"}' + b" " * (MAX_JSON_BYTES + 1), headers=tokens.coach_h)
    assert r.status_code == 413  # no content type: parsed as JSON, so limited as JSON


# -- issue 19 (15): failed token attempts are rate-limited per client, logged in summary --


def test_failed_tokens_are_rate_limited_per_client(app: Any, tokens: Tokens, caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    limiter = app.state.auth_limiter = FailedAuthLimiter(burst=10, per_s=10 / 60, clock=lambda: now[0],
                                                         log_interval_s=3600)
    caplog.set_level(logging.WARNING, logger="api.auth")
    guesser = TestClient(app, client=("10.0.0.66", 5000), raise_server_exceptions=False)
    other = TestClient(app, client=("10.0.0.77", 5000), raise_server_exceptions=False)
    codes = [guesser.get("/api/v1/athletes", headers=tokens.h(f"guess-{k:04d}-" + "x" * 30)).status_code
             for k in range(50)]
    assert codes == [401] * 10 + [429] * 40
    r = guesser.get("/api/v1/athletes", headers=tokens.h("guess-again-" + "x" * 30))
    assert r.status_code == 429 and r.json()["detail"] and r.json()["hint"]
    assert 1 <= int(r.headers["retry-after"]) <= 6
    # a blocked address's token is not checked at all; other addresses are unaffected
    assert guesser.get("/api/v1/athletes", headers=tokens.coach_h).status_code == 429
    assert other.get("/api/v1/athletes", headers=tokens.coach_h).status_code == 200
    assert other.get("/api/v1/athletes", headers=tokens.h("wrong-" + "x" * 30)).status_code == 401
    # the allowance refills: one attempt per 6 s
    now[0] += 6.5
    assert guesser.get("/api/v1/athletes", headers=tokens.coach_h).status_code == 200
    assert guesser.get("/api/v1/athletes", headers=tokens.h("wrong-" + "x" * 30)).status_code == 401
    assert guesser.get("/api/v1/athletes", headers=tokens.h("wrong-" + "x" * 30)).status_code == 429
    # a body route answers 429 too, before reading the body
    assert _asgi_request(app, "POST", "/api/v1/athletes", tokens.h("w" * 40), b"{}", client=("10.0.0.66", 1)) == (429, 0)
    # the log: one line per client when it starts failing, then one summary for the interval
    lines = [r.getMessage() for r in caplog.records if r.name == "api.auth"]
    assert len(lines) == 2 and all("refused an unknown or revoked token from" in m for m in lines), lines
    limiter.flush()
    summary = [r.getMessage() for r in caplog.records if r.name == "api.auth"][2:]
    assert len(summary) == 1, summary
    assert "refused 12 unknown or revoked token(s) and 44 attempt(s) over the limit" in summary[0], summary
    assert "10.0.0.66 (11 wrong, 44 limited)" in summary[0]


def test_the_limiter_forgets_refilled_clients_and_stays_bounded() -> None:
    now = [0.0]
    limiter = FailedAuthLimiter(burst=2, per_s=1.0, max_clients=100, clock=lambda: now[0], log_interval_s=3600)
    for k in range(1000):
        limiter.failed(f"10.1.{k // 256}.{k % 256}")
        now[0] += 0.01
    assert len(limiter._buckets) <= 101
    limiter.flush()
