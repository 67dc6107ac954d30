"""Crash test on the real service: `station serve` in a subprocess, a recording started
over HTTP, SIGKILL mid-recording, restart. The trial must come back ``interrupted``
with all but about the last second of its samples, and the database must be intact."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow
RATE_HZ = 80.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def service(data_dir: Path, port: int) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    env = {**os.environ, "STATION_LOOPBACK_WITHOUT_TOKEN": "true"}
    env.pop("STATION_CONFIG", None)
    log = open(data_dir.parent / f"serve-{port}.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "station", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir), "--hardware", "sim", "--camera", "none"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (data_dir.parent / f"serve-{port}.log").read_text()[-3000:]
            try:
                if client.get("/healthz").status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not come up in 60 s"
            time.sleep(0.1)
        yield proc, client
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_sigkill_mid_recording_keeps_all_but_the_last_second(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    with service(data_dir, port) as (proc, http):
        # loopback: the kiosk's access, no token needed
        athlete = http.post("/api/v1/athletes", json={"name": "Crash Test"}).json()
        body: dict[str, Any] = {
            "athlete_id": athlete["id"],
            "protocol": "bilateral_stance",
            "options": {"tare": False, "wait_still": False, "duration_s": 120, "video": False},
        }
        r = http.post("/api/v1/recording/start", json=body)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 30
        while True:
            status = http.get("/api/v1/recording/status").json()
            if status["state"] == "recording" and status["elapsed_s"] >= 3.0:
                break
            assert status["state"] in ("armed", "recording"), status
            assert time.monotonic() < deadline
            time.sleep(0.1)
        elapsed_s = float(status["elapsed_s"])
        trial_id = status["trial_id"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    # the service is dead; the file is as the kill left it
    with service(data_dir, port) as (_, http):
        trial = http.get(f"/api/v1/trials/{trial_id}").json()
        assert trial["status"] == "interrupted", trial
        kept = trial["n_samples"]
        # all but the last second before the kill (status was read just before it)
        assert kept >= (elapsed_s - 1.0) * RATE_HZ, (kept, elapsed_s)
        assert kept <= (elapsed_s + 1.0) * RATE_HZ, (kept, elapsed_s)
        listed = http.get("/api/v1/trials", params={"status": "interrupted"}).json()
        assert [t["id"] for t in listed["items"]] == [trial_id]
        # the recorder is free again
        assert http.get("/api/v1/recording/status").json()["state"] == "idle"
        # and the interrupted trial can still be analysed from its raw counts
        r = http.post(f"/api/v1/trials/{trial_id}/recompute", json={})
        assert r.status_code == 200, r.text
        assert r.json()["metrics"]["duration_s"] >= elapsed_s - 1.0
        assert r.json()["status"] == "interrupted"
    con = sqlite3.connect(data_dir / "station.sqlite3")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (n_stored,) = con.execute("SELECT coalesce(sum(n), 0) FROM sample_chunks WHERE trial_id = ?", (trial_id,)).fetchone()
        assert n_stored == kept
    finally:
        con.close()
