"""The real app in this process: the settings of a simulated station, and a real uvicorn
server on a free loopback port, in a thread (tests and benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from station.core.config import Settings


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """A simulated station (seed 7, no camera) in ``data_dir``; loopback clients need no
    token (FastAPI's TestClient is not loopback unless told to be, so auth still applies
    to it)."""
    values: dict[str, Any] = dict(
        data_dir=data_dir, hardware="sim", camera="none", sim_seed=7, loopback_without_token=True
    )
    values.update(overrides)
    return Settings(**values)


@contextmanager
def serve_in_thread(
    app: Any, *, ws_ping_interval_s: float = 20.0, ws_ping_timeout_s: float = 20.0, log_level: str = "warning"
) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1:<free port>; yield the base URL ``http://127.0.0.1:port``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws_ping_interval=ws_ping_interval_s,
        ws_ping_timeout=ws_ping_timeout_s,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
