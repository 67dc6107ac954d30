"""``WebSocket /api/v1/live``: forces, CoP and recording state as they happen.

Each client gets its own bounded :class:`~station.acquisition.Subscription`: when a
client reads slowly the oldest samples are dropped (and counted in ``dropped``),
so it never holds memory or slows acquisition or the other clients. A client whose
socket stays blocked for :data:`SEND_TIMEOUT_S` is disconnected. Samples are sent
in batches, at most ``max_hz`` messages per second (default 50, i.e. every sample
of an 80 Hz source arrives within about 20 ms).

Auth: ``Authorization: Bearer <token>`` or ``?token=<token>`` (browsers cannot set
WebSocket headers); loopback clients need none when configured so. A connection
without a valid token (or with a bad ``max_hz``) is closed with code 1008 (policy
violation) and the reason; while the station is still starting, or when it cannot
check the token (e.g. the database fails), with 1013 (try again later). Refused connections are accepted first and then closed: a socket closed
before its handshake reaches a browser as code 1006 with no reason, which a tablet
cannot tell from a dropped network.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api import API_PREFIX
from api.auth import authenticate, check_role
from api.routes.geometry import geometry_in_use
from station.core.errors import AuthError, ForbiddenError, StationError
from station.recording import Recorder
from station.runtime import Station

log = logging.getLogger(__name__)
router = APIRouter(prefix=API_PREFIX, tags=["live"])

#: Samples a client may have queued before the oldest are dropped (1.5 s at 80 Hz).
QUEUE_SAMPLES = 120
#: A client whose socket does not take a message for this long is disconnected.
SEND_TIMEOUT_S = 5.0
#: Close codes (RFC 6455, section 7.4.1).
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013
#: A close frame's reason is at most 123 bytes.
CLOSE_REASON_BYTES = 123

#: How often the recording state is refreshed from the recorder (shared by all clients).
STATE_TTL_S = 0.02
#: The recording state each live message carries.
STATE_KEYS = ("state", "trial_id", "protocol", "leg", "elapsed_s", "duration_s", "reps", "message")


class RecordingState:
    """One recorder's status as the live view sends it, refreshed at most every
    :data:`STATE_TTL_S` (10 clients, one call). Kept on the app's state, one per recorder."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder
        self._at = -float("inf")
        self._state: dict[str, Any] | None = None

    def get(self) -> dict[str, Any] | None:
        if self.recorder is None:
            return None
        now = time.monotonic()
        if now - self._at < STATE_TTL_S:
            return self._state
        try:
            status = self.recorder.status()
            self._state = {k: status.get(k) for k in STATE_KEYS}
        except Exception:  # the live view must survive a recorder hiccup
            log.exception("recorder status failed")
            self._state = None
        self._at = now
        return self._state


def recording_state(app_state: Any, recorder: Recorder | None) -> RecordingState:
    """The shared :class:`RecordingState` of ``recorder`` (a new one when the app's
    station, and so its recorder, changed)."""
    cached: RecordingState | None = getattr(app_state, "live_recording_state", None)
    if cached is None or cached.recorder is not recorder:
        cached = app_state.live_recording_state = RecordingState(recorder)
    return cached


@router.websocket("/live")
async def live(websocket: WebSocket, max_hz: float = 50.0) -> None:
    """Stream ``{"type": "samples", "samples": [...], "recording": {...}, "dropped": n}``."""
    station: Station | None = getattr(websocket.app.state, "station", None)
    settings = websocket.app.state.settings
    refusal: tuple[int, str] | None = None
    if station is None or station.acquisition is None:
        refusal = (CLOSE_TRY_AGAIN_LATER, "the station is not running yet")
    else:
        try:
            principal = authenticate(websocket, station.store, loopback_without_token=settings.loopback_without_token)
            check_role(principal, "coach")
        except (AuthError, ForbiddenError) as exc:
            refusal = (CLOSE_POLICY_VIOLATION, exc.message)
        except StationError as exc:  # e.g. the database could not check the token: not the client's fault
            refusal = (CLOSE_TRY_AGAIN_LATER, exc.message)
    if refusal is None and not 1.0 <= max_hz <= 200.0:
        refusal = (CLOSE_POLICY_VIOLATION, "max_hz must be between 1 and 200")
    if refusal is not None:
        code, reason = refusal
        await websocket.accept()
        await websocket.close(code=code, reason=reason.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore"))
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    assert station is not None and station.acquisition is not None
    acquisition = station.acquisition
    shared_state = recording_state(websocket.app.state, station.recorder)
    sub = acquisition.subscribe(QUEUE_SAMPLES, loop=loop)
    closed = asyncio.Event()

    async def watch_client() -> None:
        # Read (and ignore) what the client sends, to notice when it goes away.
        try:
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            closed.set()

    watcher = asyncio.create_task(watch_client())
    min_interval = 1.0 / max_hz
    last_sent = 0.0
    sent_dropped = 0
    try:
        await websocket.send_text(
            json.dumps({"type": "hello", "rate_hz": acquisition.source.rate_hz, "max_hz": max_hz, "user": principal.name,
                        # coaches cannot read /calibration: the plates as the station sees them
                        "geometry": geometry_in_use(acquisition)})
        )
        while not closed.is_set():
            if not await sub.wait_async(timeout=0.5):
                continue  # nothing yet: check that the client is still there
            wait = min_interval - (time.monotonic() - last_sent)
            if wait > 0:
                await asyncio.sleep(wait)  # collect more samples into this batch
            samples = sub.drain()
            if not samples:
                continue
            dropped = sub.dropped - sent_dropped
            sent_dropped = sub.dropped
            message = {
                "type": "samples",
                "samples": [s.as_dict() for s in samples],
                "recording": shared_state.get(),
                "dropped": dropped,
            }
            last_sent = time.monotonic()
            await asyncio.wait_for(websocket.send_text(json.dumps(message)), SEND_TIMEOUT_S)
    except TimeoutError:
        log.warning("live client %s stopped reading; disconnecting it", principal.name)
        with contextlib.suppress(Exception):
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason="too slow")
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        acquisition.unsubscribe(sub)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
