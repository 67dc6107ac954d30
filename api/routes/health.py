"""``GET /healthz``: is the station fit to record? Hardware, database, disk space.

Answers 200 when everything is fine and 503 otherwise, so a monitor (or systemd's
watchdog script) can poll it. It carries no athlete data, so it needs no token.

``problems`` lists what is wrong in words, each with a ``code`` (the kiosk's translation
key), the server's ``message``, what to check (``hint``), the channels concerned, and a
``severity``: ``error`` makes the answer 503 (load cells, database, disk), ``warn`` does
not (the camera: trials are recorded without video; a clock not synchronised with NTP,
``clock_unsynchronised``: nothing is refused, but trial times are wrong and purging waits).
The kiosk shows each as a banner.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from station.core.clock import clock_status

router = APIRouter(tags=["health"])

#: Below this much free space a recording could fill the disk (about 2 h of video).
MIN_FREE_BYTES = 500 * 1024 * 1024


def _database(station: Any) -> dict[str, Any]:
    store = getattr(station, "store", None)
    if store is None:
        return {"ok": False, "error": "database not open"}
    t0 = time.perf_counter()
    try:
        ok = store.ping() is not False
    except Exception as exc:  # any failure is reported, not raised
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    if not ok:
        return {"ok": False, "error": "the database does not answer", "hint": "See the station log."}
    return {"ok": True, "latency_ms": round((time.perf_counter() - t0) * 1000, 2)}


def _disk(settings: Any) -> dict[str, Any]:
    try:
        usage = shutil.disk_usage(settings.data_dir)
    except OSError as exc:
        return {"ok": False, "error": str(exc)}
    return {
        "ok": usage.free >= MIN_FREE_BYTES,
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "min_free_bytes": MIN_FREE_BYTES,
    }


def _load_cell_problems(hardware: dict[str, Any]) -> list[dict[str, Any]]:
    channels = hardware.get("channels") or []
    dead = [c for c in channels if c.get("state") == "dead"]
    if not hardware.get("running", False) or hardware.get("last_error"):
        return [{
            "code": "load_cells_down", "severity": "error",
            "message": hardware.get("last_error") or "the load-cell reader is not running",
            "hint": hardware.get("hint") or "Check the amplifiers' power and cables; the station keeps trying.",
            "channels": [c["name"] for c in dead],
        }]
    if dead:
        return [{
            "code": "load_cells_dead", "severity": "error",
            "message": "; ".join(c.get("last_error") or f"{c['name']} is dead" for c in dead),
            "hint": "Check the cable and the amplifier board of each channel named.",
            "channels": [c["name"] for c in dead],
        }]
    return []


@router.get(
    "/healthz",
    summary="Station health: hardware, database, disk (200 ok / 503 not ok)",
    responses={503: {"description": "something is wrong; the body says what"}},
)
def healthz(request: Request) -> JSONResponse:
    station = getattr(request.app.state, "station", None)
    settings = request.app.state.settings
    if station is None:
        body: dict[str, Any] = {"status": "starting", "ok": False}
        return JSONResponse(body, status_code=503)
    acq = station.acquisition
    hardware: dict[str, Any] = acq.health() if acq is not None else {"running": False, "healthy": False}
    hardware["backend"] = settings.hardware
    camera = {
        "configured": settings.camera,
        "available": getattr(station, "camera", None) is not None,
        "error": getattr(station, "camera_error", None),
        "hint": getattr(station, "camera_hint", None),
    }
    database = _database(station)
    disk = _disk(settings)
    clock = clock_status()
    ok = bool(hardware.get("healthy")) and database["ok"] and disk["ok"]
    problems = _load_cell_problems(hardware)
    if camera["error"]:
        problems.append({"code": "camera_unavailable", "severity": "warn", "message": camera["error"],
                         "hint": camera["hint"], "channels": []})
    if not clock.synchronised:
        problems.append({"code": "clock_unsynchronised", "severity": "warn", "message": clock.reason,
                         "hint": "Connect the station to a network with a time server (NTP) once, or set the"
                                 " time with timedatectl; recordings work meanwhile but carry this time.",
                         "channels": []})
    if not database["ok"]:
        problems.append({"code": "database", "severity": "error", "message": database.get("error"),
                         "hint": database.get("hint"), "channels": []})
    if not disk["ok"]:
        problems.append({"code": "disk", "severity": "error", "message": disk.get("error") or "disk nearly full",
                         "hint": None, "channels": []})
    body = {
        "status": "ok" if ok else "degraded",
        "ok": ok,
        "problems": problems,
        "hardware": hardware,
        "camera": camera,
        "database": database,
        "disk": disk,
        "clock": {"synchronised": clock.synchronised, "ntp": clock.ntp, "now": clock.now},
    }
    return JSONResponse(body, status_code=200 if ok else 503)
