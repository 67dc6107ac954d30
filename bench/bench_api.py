"""HTTP API under load, against the real service (`station serve` in a subprocess, on
loopback, simulated hardware) and a database of 10,000 trials from 500 athletes:

- trial list and athlete history: p50/p99 latency one request at a time, and requests
  per second with 8 concurrent clients (targets: p99 < 50 ms, > 300 req/s), sent by a
  lean keep-alive client (:class:`LeanClient`; httpx used more CPU than the service);
- live stream: latency from the sample's acquisition time stamp (CLOCK_MONOTONIC, the
  same clock in every process) to its arrival at each of 10 WebSocket clients during a
  recording (target p99 < 50 ms), first alone, then while 20 "tablets" poll the status
  and lists; failed requests, samples a client missed and frames the recording lost
  are counted.

Every figure depends on what else runs on the 2 cores: the load average at start and
end is in the report.

Database bytes per minute of recording are measured by the storage benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
import websockets

from bench.report import Report
from station.core.protocols import PROTOCOLS
from station.storage import Store

N_ATHLETES = 500
N_TRIALS = 10_000
LATENCY_REQUESTS = 400      # per route, one at a time
THROUGHPUT_S = 8.0          # per route, 8 concurrent clients
CONCURRENCY = 8
LIVE_S = 10.0
LIVE_CLIENTS = 10
POLLERS = 20
SECTION = "api"


def build_database(path: Path) -> str:
    """Fill a fresh station database with bulk inserts; return an admin token secret."""
    store = Store(path)
    rng = random.Random(5)
    now = time.time()
    athletes = [
        {
            "id": i,
            "name": f"Athlete {i:03d}",
            "birth_year": rng.randint(1960, 2012),
            "body_mass_kg": round(rng.uniform(45, 110), 1),
            "dominant_leg": rng.choice(["left", "right"]),
            "created_at": "2025-01-01T00:00:00.000+00:00",
            "updated_at": "2025-01-01T00:00:00.000+00:00",
        }
        for i in range(1, N_ATHLETES + 1)
    ]
    protocols = list(PROTOCOLS.values())
    trials = []
    for i in range(1, N_TRIALS + 1):
        p = rng.choice(protocols)
        started = now - rng.uniform(0, 365 * 86400)
        metrics = {
            "protocol": p.name,
            "sway": {"ml_rms_mm": round(rng.uniform(2, 12), 2), "ap_rms_mm": round(rng.uniform(3, 15), 2),
                     "mean_velocity_mm_s": round(rng.uniform(5, 40), 2)},
            "body_weight_n": round(rng.uniform(450, 1100), 1),
            "warnings": [],
        }
        trials.append({
            "id": i,
            "athlete_id": rng.randint(1, N_ATHLETES),
            "protocol": p.name,
            "leg": rng.choice(["left", "right"]) if p.needs_leg else None,
            "options": "{}",
            "status": "saved",
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(started)),
            "ended_at": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(started + 30)),
            "sample_rate_hz": 80.0,
            "software_version": "bench",
            "n_samples": 2400,
            "metrics": json.dumps(metrics),
        })
    store.db["athletes"].insert_all(athletes, batch_size=1000)
    store.db["trials"].insert_all(trials, batch_size=1000)
    secret, _ = store.create_token(name="bench", role="admin")
    store.close()
    return secret


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "STATION_CONFIG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "station", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--hardware", "sim", "--camera", "none", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("station serve exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code in (200, 503):
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("station serve did not come up within 60 s")


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _routes(rng: random.Random) -> dict[str, Any]:
    def trial_list() -> tuple[str, dict[str, Any]]:
        if rng.random() < 0.5:
            return "/api/v1/trials", {"athlete_id": rng.randint(1, N_ATHLETES), "limit": 50}
        return "/api/v1/trials", {"limit": 50, "offset": rng.randint(0, 2000), "protocol": "single_leg_stance"}

    def history() -> tuple[str, dict[str, Any]]:
        return f"/api/v1/athletes/{rng.randint(1, N_ATHLETES)}/history", {"metric": "sway.ml_rms_mm"}

    return {"trial list": trial_list, "athlete history": history}


class LeanClient:
    """A minimal HTTP/1.1 keep-alive GET client for the load phases.

    The server and the load generator share the 2 cores: httpx spends about 3 ms of
    CPU per request here, more than the service itself, so with it the benchmark
    measured mostly the client. This one writes the request line and reads the
    status and ``Content-Length`` body (uvicorn answers JSON with a length, keep-alive);
    every body is still parsed and checked, so a wrong answer counts as failed.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        target = f"{path}?{urlencode(params)}" if params else path
        self._writer.write(f"GET {target} HTTP/1.1\r\n{self._head}\r\n".encode())
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(int(v) for k, _, v in (ln.partition(":") for ln in lines[1:]) if k.lower() == "content-length")
        body = json.loads(await self._reader.readexactly(length))
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()


def _answer_ok(name: str, status: int, body: Any) -> bool:
    key = "items" if name == "trial list" else "points"
    return status == 200 and isinstance(body, dict) and isinstance(body.get(key), list)


def measure_http(report: Report, base: str, headers: dict[str, str]) -> None:
    rng = random.Random(11)
    host, port = base.removeprefix("http://").split(":")
    for name, make in _routes(rng).items():
        # latency: one request at a time
        async def one_at_a_time(name: str = name, make: Any = make) -> tuple[list[float], int]:
            lat: list[float] = []
            errors = 0
            client = LeanClient(host, int(port), headers)
            try:
                for i in range(LATENCY_REQUESTS):
                    path, params = make()
                    t0 = time.perf_counter()
                    status, body = await client.get(path, params)
                    lat.append((time.perf_counter() - t0) * 1000)
                    errors += not _answer_ok(name, status, body)
                    if i % 100 == 99:
                        print(f"    {name}: {i + 1}/{LATENCY_REQUESTS} requests", flush=True)
            finally:
                await client.close()
            return lat, errors

        lat, errors = asyncio.run(one_at_a_time())
        p99 = _pct(lat, 99)
        report.add(SECTION, f"{name} p50 latency", _pct(lat, 50), "ms")
        report.add(SECTION, f"{name} p99 latency", p99, "ms", target="< 50 ms", ok=p99 < 50)

        # throughput: CONCURRENCY clients (one keep-alive connection each) for THROUGHPUT_S
        async def load(name: str = name, make: Any = make) -> tuple[int, int, list[float]]:
            done = 0
            failed = 0
            lats: list[float] = []
            end = time.perf_counter() + THROUGHPUT_S

            async def worker() -> None:
                nonlocal done, failed
                client = LeanClient(host, int(port), headers)
                try:
                    while time.perf_counter() < end:
                        path, params = make()
                        t0 = time.perf_counter()
                        status, body = await client.get(path, params)
                        lats.append((time.perf_counter() - t0) * 1000)
                        done += 1
                        failed += not _answer_ok(name, status, body)
                finally:
                    await client.close()

            await asyncio.gather(*[worker() for _ in range(CONCURRENCY)])
            return done, failed, lats

        t0 = time.perf_counter()
        done, failed, lats = asyncio.run(load())
        rps = done / (time.perf_counter() - t0)
        report.add(SECTION, f"{name} throughput ({CONCURRENCY} clients)", rps, "req/s", target="> 300 req/s", ok=rps > 300)
        report.add(SECTION, f"{name} p99 latency under load", _pct(lats, 99), "ms")
        report.add(SECTION, f"{name} failed requests", errors + failed, "", target="0", ok=errors + failed == 0)


def measure_live(report: Report, base: str, headers: dict[str, str], token: str, *, pollers: int) -> None:
    ws_url = base.replace("http", "ws") + f"/api/v1/live?token={token}"
    label = f"{LIVE_CLIENTS} clients" + (f" + {pollers} polling tablets" if pollers else "")
    with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
        r = c.post("/api/v1/recording/start", json={
            "athlete_id": 1, "protocol": "bilateral_stance",
            "options": {"tare": False, "wait_still": False, "duration_s": LIVE_S + 10, "video": False},
        })
        r.raise_for_status()

    async def viewer(latencies: list[float], gaps: list[int]) -> None:
        async with websockets.connect(ws_url, max_size=2**22) as ws:
            end = time.monotonic() + LIVE_S
            last_seq = None
            while time.monotonic() < end:
                msg = json.loads(await ws.recv())
                now = time.monotonic_ns()
                for s in msg.get("samples", []):
                    latencies.append((now - s["t_ns"]) / 1e6)
                    if last_seq is not None and s["seq"] != last_seq + 1:
                        gaps.append(s["seq"] - last_seq - 1)
                    last_seq = s["seq"]

    async def poller(ac: httpx.AsyncClient, counts: dict[str, int], lats: list[float]) -> None:
        rng = random.Random()
        async with ac:
            end = time.monotonic() + LIVE_S
            while time.monotonic() < end:
                path = rng.choice(["/api/v1/recording/status", "/api/v1/trials?limit=20", "/api/v1/athletes?limit=20"])
                t0 = time.perf_counter()
                try:
                    r = await ac.get(path)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                lats.append((time.perf_counter() - t0) * 1000)
                counts["requests"] += 1
                counts["failed"] += not ok
                await asyncio.sleep(0.5)  # a tablet refreshing twice a second

    async def run() -> tuple[list[float], list[int], dict[str, int], list[float]]:
        latencies: list[float] = []
        gaps: list[int] = []
        counts = {"requests": 0, "failed": 0}
        poll_lats: list[float] = []
        # The tablets' clients exist before the measurement starts: creating an httpx
        # client takes ~45 ms of CPU (its SSL context), and 20 of them inside the run
        # stalled this process's event loop for about a second, which the viewers then
        # counted as live latency and the pollers as request latency.
        clients = [httpx.AsyncClient(base_url=base, headers=headers, timeout=10) for _ in range(pollers)]
        tasks = [viewer(latencies, gaps) for _ in range(LIVE_CLIENTS)]
        tasks += [poller(ac, counts, poll_lats) for ac in clients]
        await asyncio.gather(*tasks)
        return latencies, gaps, counts, poll_lats

    print(f"    live: {LIVE_CLIENTS} viewers and {pollers} pollers for {LIVE_S:.0f} s during a recording", flush=True)
    latencies, gaps, counts, poll_lats = asyncio.run(run())
    with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
        status = c.get("/api/v1/recording/status").json()
        c.post("/api/v1/recording/abort")
    p99 = _pct(latencies, 99)
    report.add(SECTION, f"live latency p50 ({label})", _pct(latencies, 50), "ms")
    report.add(SECTION, f"live latency p99 ({label})", p99, "ms", target="< 50 ms", ok=p99 < 50)
    report.add(SECTION, f"live samples received ({label})", len(latencies), "")
    report.add(SECTION, f"live samples missed by a client ({label})", int(sum(gaps)), "", target="0", ok=sum(gaps) == 0)
    if pollers:
        report.add(SECTION, f"polling requests during recording ({pollers} tablets)", counts["requests"], "")
        report.add(SECTION, "polling requests failed", counts["failed"], "", target="0", ok=counts["failed"] == 0)
        report.add(SECTION, "polling p99 latency during recording", _pct(poll_lats, 99), "ms")
    lost = int(status.get("frames_lost", -1))
    report.add(SECTION, f"frames the recording lost ({label})", lost, "", target="0", ok=lost == 0)


def run(report: Report) -> None:
    # Other work on the machine skews every latency here: record how busy it was.
    report.add(SECTION, "machine load average (1 min) at start", os.getloadavg()[0], "", note="2 cores")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        print(f"    building a database of {N_TRIALS} trials from {N_ATHLETES} athletes ...", flush=True)
        secret = build_database(data_dir / "station.sqlite3")
        report.add(SECTION, "bulk-load 10,000 trials", time.perf_counter() - t0, "s")
        port = _free_port()
        proc = start_service(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {secret}"}
        try:
            measure_http(report, base, headers)
            measure_live(report, base, headers, secret, pollers=0)
            time.sleep(1.0)  # let the aborted recording settle
            measure_live(report, base, headers, secret, pollers=POLLERS)
            report.add(SECTION, "machine load average (1 min) at end", os.getloadavg()[0], "")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
