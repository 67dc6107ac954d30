"""FastAPI dependencies: the running station and its services, the caller, role checks,
and the audit log of changes.

Routes never build a service: :class:`station.runtime.Station` builds and owns them
all, and the ``get_*`` dependencies here hand them out (503 while the station starts).

The cheap ones are ``async`` so FastAPI runs them on the event loop instead of
sending each to the thread pool (a thread hop per dependency costs more than the
work); only a token check that misses the cache touches the database, in a thread.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from api.auth import Principal, authenticate, check_role, token_from
from calibration.camera_view import CameraViewCalibration
from station.acquisition import Acquisition
from station.calibration_service import CalibrationService
from station.core.config import Settings
from station.core.errors import StationError
from station.recording import Recorder
from station.runtime import Station
from station.storage import Store

T = TypeVar("T")

#: A verified token is trusted this long without asking the database again, so a
#: revocation (``station token revoke``, another process) takes effect within it.
TOKEN_CACHE_S = 1.0


class NotReadyError(StationError):
    """The station is starting or stopping (503)."""

    http_status = 503


def station_of(conn: HTTPConnection) -> Station:
    """The running station of a request (503 while it starts or stops)."""
    station = getattr(conn.app.state, "station", None)
    if station is None or station.store is None:
        raise NotReadyError("the station is not running yet", hint="Wait a few seconds and try again.")
    return station


async def get_station(conn: HTTPConnection) -> Station:
    return station_of(conn)


async def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


async def get_store(conn: HTTPConnection) -> Store:
    # Reads the station itself rather than Depends(get_station): every dependency
    # level costs FastAPI a parameter solve per request, and this one is on every route.
    station = station_of(conn)
    assert station.store is not None
    return station.store


def _running(service: T | None, what: str) -> T:
    if service is None:
        raise NotReadyError(f"{what} is not running", hint="Check /healthz and the station log.")
    return service


async def get_acquisition(station: Station = Depends(get_station)) -> Acquisition:
    return _running(station.acquisition, "load-cell acquisition")


async def get_recorder(station: Station = Depends(get_station)) -> Recorder:
    return _running(station.recorder, "the recorder")


async def get_calibration_service(station: Station = Depends(get_station)) -> CalibrationService:
    return _running(station.calibration, "the calibration service")


async def get_camera_view(station: Station = Depends(get_station)) -> CameraViewCalibration:
    return _running(station.camera_view, "the camera view service")


class TokenCache:
    """Recently verified tokens, keyed by the SHA-256 of the secret (the secret itself
    is never kept), each trusted for :data:`TOKEN_CACHE_S`."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def get(self, secret: str) -> Principal | None:
        hit = self._entries.get(self.key(secret))
        if hit is None or time.monotonic() - hit[0] > TOKEN_CACHE_S:
            return None
        return hit[1]

    def put(self, secret: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 1000:  # only valid tokens get here; keep it small anyway
                self._entries.clear()
            self._entries[self.key(secret)] = (time.monotonic(), principal)


def _token_cache(conn: HTTPConnection) -> TokenCache:
    cache = getattr(conn.app.state, "token_cache", None)
    if cache is None:
        cache = conn.app.state.token_cache = TokenCache()
    return cache


async def current_principal(conn: HTTPConnection) -> Principal:
    """The authenticated caller (401 when missing/wrong/revoked). Cached per request."""
    cached = conn.scope.get("station.principal")
    if isinstance(cached, Principal):
        return cached
    station = station_of(conn)
    settings = conn.app.state.settings
    secret = token_from(conn)
    if secret is None:  # loopback or 401: no database needed
        principal = authenticate(conn, None, loopback_without_token=settings.loopback_without_token)
    else:
        cache = _token_cache(conn)
        hit = cache.get(secret)
        if hit is None:
            principal = await run_in_threadpool(
                authenticate, conn, station.store, loopback_without_token=settings.loopback_without_token
            )
            cache.put(secret, principal)
        else:
            principal = hit
    conn.scope["station.principal"] = principal
    return principal


def require_role(role: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller, who must hold ``role`` ("coach" or "admin") or better."""

    async def dependency(conn: HTTPConnection) -> Principal:
        # Calls current_principal itself (it caches the caller in the request scope)
        # instead of Depends(): one dependency level less for FastAPI to solve per request.
        principal = await current_principal(conn)
        check_role(principal, role)
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


def audit(store: Any, principal: Principal, action: str, target: str) -> None:
    """Record a change with the caller's token name (never the secret)."""
    store.log_change(actor=principal.name, action=action, target=target)
