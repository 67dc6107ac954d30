"""Security on the real service (subprocess, tokens required even on loopback, debug
logging): tokens made with the real CLI work, wrong/revoked/under-privileged ones are
refused, the secrets never appear in the database file (stored hashed) nor in the
service's log, whatever the request did with them.

(tests/api/test_auth.py enumerates every route from the app and checks it refuses
missing, wrong, revoked and under-privileged tokens; this file does not repeat that.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from station.storage import Store
from station.testing.service import ROOT, running_service

pytestmark = pytest.mark.slow


def token_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "station", "token", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_tokens_hashed_refused_when_bad_and_never_logged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Store(data_dir / "station.sqlite3").close()  # the service makes it at its first start
    made = {name: token_cli(data_dir, "create", name, "--role", role)
            for name, role in (("coach-tab", "coach"), ("boss", "admin"), ("old-tab", "coach"))}
    for p in made.values():
        assert p.returncode == 0, p.stderr
    secrets = {name: p.stdout.split()[0] for name, p in made.items()}
    assert all(len(s) >= 32 for s in secrets.values())
    assert token_cli(data_dir, "revoke", "old-tab").returncode == 0
    listed = token_cli(data_dir, "list")
    assert "coach-tab" in listed.stdout and not any(s in listed.stdout + listed.stderr for s in secrets.values())
    wrong = "Zz" + secrets["boss"][2:]  # one character off: as good as a guess

    env = {"STATION_LOOPBACK_WITHOUT_TOKEN": "false"}
    with running_service(data_dir, env=env, log_level="debug") as svc:
        def get(path: str, secret: str | None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            return svc.http.get(path, headers=headers)

        assert get("/api/v1/athletes", None).status_code == 401  # loopback needs a token too now
        assert get("/api/v1/athletes", secrets["coach-tab"]).status_code == 200
        assert get("/api/v1/athletes", wrong).status_code == 401
        r = get("/api/v1/athletes", secrets["old-tab"])
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        # under-privileged: a coach may not delete; an admin may
        a = svc.http.post("/api/v1/athletes", json={"name": "Sec"},
                          headers={"Authorization": f"Bearer {secrets['coach-tab']}"}).json()
        r = svc.http.delete(f"/api/v1/athletes/{a['id']}", headers={"Authorization": f"Bearer {secrets['coach-tab']}"})
        assert r.status_code == 403 and "admin" in r.json()["detail"]
        r = svc.http.delete(f"/api/v1/athletes/{a['id']}", headers={"Authorization": f"Bearer {secrets['boss']}"})
        assert r.status_code == 204
        # secrets in odd places: query strings, WebSocket URLs, a Basic header, a body
        svc.http.get(f"/api/v1/athletes?token={secrets['boss']}")
        svc.http.get("/api/v1/athletes", headers={"Authorization": f"Basic {secrets['boss']}"})
        svc.http.post("/api/v1/athletes", json={"name": secrets["old-tab"][:100]},
                      headers={"Authorization": f"Bearer {wrong}"})

        async def live(secret: str) -> str:
            url = svc.base_url.replace("http://", "ws://") + f"/api/v1/live?token={secret}"
            try:
                async with websockets.connect(url, open_timeout=10) as ws:
                    return str(await asyncio.wait_for(ws.recv(), 10))[:40]
            except websockets.exceptions.ConnectionClosed as exc:
                return f"refused (closed {exc.rcvd.code if exc.rcvd else None})"

        assert "hello" in asyncio.run(live(secrets["coach-tab"]))
        assert asyncio.run(live(secrets["old-tab"])) == "refused (closed 1008)"
        assert asyncio.run(live(wrong)) == "refused (closed 1008)"
        assert svc.http.get("/healthz").status_code in (200, 503)
    log = svc.log_text()
    assert "refused an unknown or revoked token" in log  # the log did see these requests
    for name, secret in {**secrets, "wrong": wrong}.items():
        assert secret not in log, f"the secret of {name} is in the service log"
    # stored hashed: no secret in the database file, its WAL or shared memory
    raw = b"".join(p.read_bytes() for p in data_dir.glob("station.sqlite3*"))
    for name, secret in secrets.items():
        assert secret.encode() not in raw, f"the secret of {name} is in the database file"
    assert b"coach-tab" in raw  # the right file was searched: the token's name is there


def _memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def test_an_unauthenticated_body_costs_the_server_no_memory(tmp_path: Path) -> None:
    """Issue 19 (12): an unauthenticated 15 MB JSON of empty objects was parsed before
    the token check: the service's peak memory grew by 374 MB (144 -> 518 MB here)."""
    env = {"STATION_LOOPBACK_WITHOUT_TOKEN": "false"}
    with running_service(tmp_path / "data", env=env) as svc:
        assert svc.proc is not None
        _, peak_before = _memory_mb(svc.proc.pid)
        body = b"[" + b"{}," * 5_000_000 + b"{}]"
        r = svc.http.post("/api/v1/athletes", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 401 and r.json()["hint"]
        now, peak_after = _memory_mb(svc.proc.pid)
        assert peak_after - peak_before < 20, f"peak memory {peak_before:.0f} -> {peak_after:.0f} MB"
        assert svc.http.get("/healthz").status_code in (200, 503)
