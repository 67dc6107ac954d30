"""``station serve``: run the service (API, kiosk page, acquisition)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from station.core.config import load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the station service (kiosk page, API, acquisition)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for tablets)")
    p.add_argument("--port", type=int, help="TCP port (default 8000)")
    p.add_argument("--data-dir", type=Path, help="folder for the SQLite file, videos and backups (default ./data)")
    p.add_argument("--hardware", choices=["sim", "pi"], help="load-cell backend (default sim)")
    p.add_argument("--camera", choices=["sim", "picamera2", "none"], help="camera backend (default sim)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        host=args.host, port=args.port, data_dir=args.data_dir, hardware=args.hardware, camera=args.camera
    )
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    from station import watchdog
    from station.runtime import Station
    from station.service_lock import ServiceLock

    # Start the hardware before the web server, so a bad configuration stops here with
    # one clear message instead of a traceback from inside uvicorn's lifespan.
    station = Station(settings)
    # Held for the life of the service, so `station restore` never swaps the database under us.
    lock = ServiceLock(settings.data_dir, purpose="station serve")
    try:
        station.start()

        import uvicorn

        from api.app import create_app

        app = create_app(settings, station=station)

        class NotifyingServer(uvicorn.Server):
            """Tells systemd READY=1 only once the socket listens (Type=notify = serving)."""

            async def startup(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
                await super().startup(sockets)
                if self.started:
                    watchdog.ready(f"serving on {settings.host}:{settings.port}")

        acquisition = station.acquisition
        # The reader turns (frames, or retries while no amplifier answers): a restart would
        # not power an amplifier, and would take away the page that says what to check.
        dog = watchdog.start_watchdog(lambda: acquisition is not None and acquisition.reader_alive())
        print(
            f"Stance Station on http://{settings.host}:{settings.port}/ (API docs at /docs), "
            f"hardware={settings.hardware}, data in {settings.data_dir.resolve()}",
            file=sys.stderr,
            flush=True,
        )
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False
        )
        try:
            NotifyingServer(config).run()
        finally:
            watchdog.stopping()
            if dog is not None:
                dog.stop()
    finally:
        station.stop()
        lock.release()
    return 0
