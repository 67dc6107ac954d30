"""The live WebSocket: physics in the numbers, every sample delivered to every client,
and a client that never reads neither blocks others nor holds memory."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes import live
from station.runtime import Station
from station.testing.load import slow_client
from station.testing.servers import serve_in_thread
from tests.api.conftest import Tokens

G = 9.80665


def calibrate_to_truth(station: Any) -> None:
    """Give the acquisition the simulator's true calibration, so forces are physics."""
    station.acquisition.set_calibration(station.source.cells.true_calibration(station.geometry))


def test_stream_carries_the_load_that_was_placed(client: TestClient, station: Any, tokens: Tokens) -> None:
    calibrate_to_truth(station)
    station.source.place_mass(70.0, (-150.0, 20.0))  # centre of the left plate, 20 mm forward
    time.sleep(0.3)  # let the queue hold only loaded frames
    samples: list[dict[str, Any]] = []
    with client.websocket_connect(f"/api/v1/live?token={tokens.coach}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["rate_hz"] == 80.0
        while len(samples) < 60:
            msg = ws.receive_json()
            assert msg["type"] == "samples"
            assert msg["recording"]["state"] == "idle"
            samples += msg["samples"]
    loaded = samples[-40:]
    for s in loaded:
        fz_l, fz_r = s["fz_n"]
        assert fz_l == pytest.approx(70.0 * G, rel=0.01)
        assert abs(fz_r) < 5.0
        assert s["cop_left_mm"] == pytest.approx([-150.0, 20.0], abs=3.0)
        assert s["cop_right_mm"] is None  # an empty plate has no CoP
        assert s["cop_mm"] == pytest.approx([-150.0, 20.0], abs=3.0)
    seqs = [s["seq"] for s in samples]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # nothing lost, nothing repeated


def test_bad_rate_parameter_is_refused(client: TestClient, tokens: Tokens) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(f"/api/v1/live?token={tokens.coach}&max_hz=0") as ws:
        ws.receive_json()
    assert exc.value.code == 1008


async def _close_of(url: str) -> tuple[int | None, str]:
    """Connect as a browser would and return the close code and reason."""
    try:
        async with websockets.connect(url, open_timeout=10) as ws:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.exceptions.ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
    raise AssertionError(f"{url} was not closed")


def test_refusals_reach_a_real_client_with_their_code_and_reason(
    settings: Any, station: Any, tokens: Tokens
) -> None:
    """Over a real server (not the in-process test client): a socket closed before
    its handshake reaches browsers as 1006 with no reason, so refusals are accepted
    first and then closed with their code and reason."""
    unstarted = Station(settings, camera=False)  # no acquisition yet, as while starting up
    tablets_only = settings.model_copy(update={"loopback_without_token": False})
    for app_station, query, code, words in [
        (station, "?token=wrong", 1008, "token"),
        (station, "", 1008, "token"),
        (station, f"?token={tokens.coach}&max_hz=0", 1008, "max_hz"),
        (unstarted, f"?token={tokens.coach}", 1013, "not running"),
    ]:
        with serve_in_thread(create_app(tablets_only, station=app_station)) as base:
            got_code, reason = asyncio.run(_close_of(base.replace("http", "ws") + "/api/v1/live" + query))
        assert got_code == code, (query, got_code, reason)
        assert words in reason, (query, reason)


async def _collect(url: str, duration_s: float) -> list[dict[str, Any]]:
    messages = []
    async with websockets.connect(url) as ws:
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    return messages


def test_ten_clients_and_a_client_that_never_reads(app: Any, station: Any, tokens: Tokens, monkeypatch: Any) -> None:
    monkeypatch.setattr(live, "SEND_TIMEOUT_S", 1.0)
    # A client that never reads never answers pings either: short pings end it quickly.
    with serve_in_thread(app, ws_ping_interval_s=1.0, ws_ping_timeout_s=1.0) as base:
        port = int(base.rsplit(":", 1)[1])
        path = f"/api/v1/live?token={tokens.coach}"
        slow = slow_client(port, path)
        try:
            time.sleep(0.3)
            assert station.acquisition.subscriber_count == 1
            url = base.replace("http", "ws") + path

            async def many() -> list[list[dict[str, Any]]]:
                return await asyncio.gather(*[_collect(url, 2.0) for _ in range(10)])

            results = asyncio.run(many())
            for messages in results:
                batches = [m for m in messages if m["type"] == "samples"]
                seqs = [s["seq"] for m in batches for s in m["samples"]]
                assert len(seqs) >= 80  # about 2 s at 80 Hz, minus start-up
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a client lost samples"
                assert all(m["dropped"] == 0 for m in batches)
            # The slow client's queue stays bounded while it does not read ...
            subs = list(station.acquisition._subs)
            assert all(len(s) <= live.QUEUE_SAMPLES for s in subs)
            # ... and once it misses its pings (or its socket is full), it is dropped.
            deadline = time.monotonic() + 30
            while station.acquisition.subscriber_count > 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert station.acquisition.subscriber_count == 0
        finally:
            slow.close()


def test_tokens_in_websocket_urls_stay_out_of_the_server_log(app: Any, tokens: Tokens) -> None:
    import logging

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    with serve_in_thread(app, log_level="info") as base:
        logging.getLogger("uvicorn.error").addHandler(handler)
        try:
            url = base.replace("http", "ws") + f"/api/v1/live?token={tokens.coach}&max_hz=20"
            messages = asyncio.run(_collect(url, 0.3))
            assert messages[0]["type"] == "hello"
            time.sleep(0.2)
        finally:
            logging.getLogger("uvicorn.error").removeHandler(handler)
    ws_lines = [line for line in lines if "WebSocket" in line]
    assert ws_lines, lines  # the connection was logged ...
    assert all(tokens.coach not in line for line in lines)  # ... without the secret
    assert any("token=***" in line for line in ws_lines)


def test_pollers_and_viewers_during_a_recording(app: Any, station: Any, tokens: Tokens, athlete: dict[str, Any]) -> None:
    """Small-size load (make bench runs the large one): tablets polling and live viewers
    while a recording runs. No failed request, no sample missed by a viewer, no frame
    lost by the recording."""
    import httpx

    h = tokens.coach_h
    with serve_in_thread(app) as base:
        with httpx.Client(base_url=base, headers=h, timeout=10) as c:
            body = {"athlete_id": athlete["id"], "protocol": "bilateral_stance",
                    "options": {"tare": False, "wait_still": False, "duration_s": 30.0, "video": False}}
            assert c.post("/api/v1/recording/start", json=body).status_code == 202
        url = base.replace("http", "ws") + f"/api/v1/live?token={tokens.coach}"

        async def poller(codes: list[int]) -> None:
            async with httpx.AsyncClient(base_url=base, headers=h, timeout=10) as ac:
                end = time.monotonic() + 3.0
                while time.monotonic() < end:
                    for path in ("/api/v1/recording/status", "/api/v1/trials?limit=20", "/api/v1/athletes"):
                        codes.append((await ac.get(path)).status_code)
                    await asyncio.sleep(0.2)

        async def run() -> tuple[list[int], list[list[dict[str, Any]]]]:
            codes: list[int] = []
            viewers = [_collect(url, 3.0) for _ in range(3)]
            results = await asyncio.gather(*viewers, *[poller(codes) for _ in range(5)])
            return codes, [r for r in results if r is not None]

        codes, views = asyncio.run(run())
        with httpx.Client(base_url=base, headers=h, timeout=10) as c:
            status = c.get("/api/v1/recording/status").json()
            assert c.post("/api/v1/recording/abort").status_code == 200
    assert len(codes) >= 30 and set(codes) == {200}
    assert status["state"] == "recording" and status["frames_lost"] == 0
    assert status["frames"] >= 80  # flushed to the database while all this went on
    for messages in views:
        seqs = [s["seq"] for m in messages if m["type"] == "samples" for s in m["samples"]]
        assert len(seqs) >= 100 and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
