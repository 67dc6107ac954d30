"""Tablet load on a running service: pollers (status and lists, as the tablets' pages
poll), live WebSocket viewers and clients that never read, for a bounded time, on
loopback only. Shared by tests/reliability/test_load.py (small) and
bench/bench_reliability.py (larger); ``slow_client`` also by tests/api/test_live.py."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import websockets

#: What a tablet's pages poll, in turn.
POLL_PATHS = ("/api/v1/recording/status", "/api/v1/athletes?limit=20", "/api/v1/trials?limit=20")
#: Between two polls of one tablet (a page refreshing four times a second).
POLL_INTERVAL_S = 0.25


@dataclass
class LoadResult:
    requests: int = 0
    failed: int = 0  # status >= 400 or transport error
    failures: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    sent_at_s: list[float] = field(default_factory=list)  # each request's start, from the load's start
    t0: float = field(default_factory=time.monotonic)
    ws_messages: list[int] = field(default_factory=list)  # per viewer
    ws_samples: list[int] = field(default_factory=list)
    ws_seq_gaps: list[int] = field(default_factory=list)  # samples missing in each viewer's sequence
    ws_dropped: list[int] = field(default_factory=list)  # the server's own count of dropped samples
    ws_errors: list[str] = field(default_factory=list)
    ws_connected_s: list[float] = field(default_factory=list)  # per viewer, from its hello to the end

    def percentile_ms(self, q: float, *, after_s: float = 0.0) -> float:
        """Latency percentile of the requests sent ``after_s`` into the load or later
        (the clients connecting make the first second slower)."""
        lat = [x for x, t in zip(self.latencies_ms, self.sent_at_s, strict=True) if t >= after_s]
        return float(np.percentile(lat, q)) if lat else float("nan")

    def summary(self) -> str:
        return (
            f"{self.requests} requests, {self.failed} failed, latency p50 {self.percentile_ms(50):.1f} ms "
            f"p99 {self.percentile_ms(99):.1f} ms (after the first 2 s: {self.percentile_ms(99, after_s=2):.1f} ms) "
            f"max {max(self.latencies_ms, default=0):.1f} ms; "
            f"{len(self.ws_samples)} viewers got {sum(self.ws_samples)} samples, "
            f"sequence gaps {sum(self.ws_seq_gaps)}, dropped {sum(self.ws_dropped)}"
        )


def slow_client(port: int, path: str = "/api/v1/live") -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # a tiny window fills fast
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return s


async def _poller(c: httpx.AsyncClient, until: float, result: LoadResult, k: int, n: int) -> None:
    async with c:
        # Tablets are switched on at different moments, not in the same millisecond: their
        # polls are spread over the polling interval (all at once, they would stay in step
        # the whole run, 20 requests queued together four times a second).
        await asyncio.sleep(POLL_INTERVAL_S * k / n)
        i = k  # tablets start on different pages
        while time.monotonic() < until:
            path = POLL_PATHS[i % len(POLL_PATHS)]
            i += 1
            sent = time.monotonic() - result.t0
            t0 = time.perf_counter()
            try:
                r = await c.get(path)
                ok = r.status_code < 400
                reason = f"{path} -> {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as exc:
                ok, reason = False, f"{path} -> {type(exc).__name__}: {exc}"
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
            result.sent_at_s.append(sent)
            result.requests += 1
            if not ok:
                result.failed += 1
                result.failures.append(reason)
            await asyncio.sleep(POLL_INTERVAL_S)


async def _viewer(ws_url: str, until: float, result: LoadResult) -> None:
    messages = samples = gaps = dropped = 0
    last_seq: int | None = None
    try:
        async with websockets.connect(ws_url, open_timeout=10, max_size=2**22) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello", hello
            result.ws_connected_s.append(max(0.0, until - time.monotonic()))
            while time.monotonic() < until:
                try:
                    raw = await asyncio.wait_for(ws.recv(), max(0.05, until - time.monotonic()))
                except TimeoutError:
                    break
                msg = json.loads(raw)
                messages += 1
                dropped += int(msg.get("dropped", 0))
                for s in msg["samples"]:
                    if last_seq is not None and s["seq"] != last_seq + 1:
                        gaps += max(0, s["seq"] - last_seq - 1)
                    last_seq = s["seq"]
                    samples += 1
    except Exception as exc:  # reported, and the test fails on it
        result.ws_errors.append(f"{type(exc).__name__}: {exc}")
    result.ws_messages.append(messages)
    result.ws_samples.append(samples)
    result.ws_seq_gaps.append(gaps)
    result.ws_dropped.append(dropped)


async def _run(base_url: str, duration_s: float, pollers: int, viewers: int) -> LoadResult:
    # The tablets' clients exist before the clock starts: creating an httpx client takes
    # ~40 ms of CPU (its SSL context), and 20 of them inside the run blocked this one event
    # loop, which stands in for 20 tablets, for most of a second: up to 0.7 s that the
    # first requests then counted as the service's latency.
    clients = [httpx.AsyncClient(base_url=base_url, timeout=10) for _ in range(pollers)]
    result = LoadResult()
    until = time.monotonic() + duration_s

    ws_url = base_url.replace("http://", "ws://") + "/api/v1/live"
    tasks = [_poller(c, until, result, k, pollers) for k, c in enumerate(clients)]
    tasks += [_viewer(ws_url, until, result) for _ in range(viewers)]
    await asyncio.wait_for(asyncio.gather(*tasks), duration_s + 30)
    return result


def run_load(base_url: str, *, duration_s: float, pollers: int = 20, viewers: int = 10, slow: int = 1) -> LoadResult:
    """Run the load for ``duration_s`` (bounded); ``slow`` clients connect first and never read."""
    port = int(base_url.rsplit(":", 1)[1])
    stalled = [slow_client(port) for _ in range(slow)]
    try:
        return asyncio.run(_run(base_url, duration_s, pollers, viewers))
    finally:
        for s in stalled:
            s.close()


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def trial_frames_check(trial: dict[str, Any], rate_hz: float) -> tuple[int, int]:
    """(frames stored, frames expected from the trial's duration and rate)."""
    rec = trial["metrics"]["recording"]
    expected = int(round(rec["duration_s"] * rate_hz)) + 1
    return int(trial["n_samples"]), expected
