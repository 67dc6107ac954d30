"""A real ``station serve`` in a subprocess, on a free loopback port with its own data
directory: what the reliability tests kill, lock, starve of disk and flood with requests.

Only loopback traffic; every wait is bounded. The service's stderr (its log) goes to a
file the tests read (no secrets in logs, tracebacks, clear messages).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from hardware.sim import SimLoadCellSource
from station.storage import Store

#: The source tree (the service runs from it, with it first on PYTHONPATH).
ROOT = Path(__file__).resolve().parents[2]
#: A fresh service (imports, database migrations, simulator) must answer within this.
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StationService:
    """``python -m station serve`` on 127.0.0.1:<port>, simulated sensors and no camera
    unless ``hardware`` / ``camera`` say otherwise."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        file_size_limit_bytes: int | None = None,
        log_level: str = "info",
        hardware: str = "sim",
        camera: str = "none",
    ) -> None:
        self.data_dir = data_dir
        self.hardware = hardware
        self.camera = camera
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        self.env = env or {}
        self.file_size_limit_bytes = file_size_limit_bytes
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: httpx.Client | None = None

    def _preexec(self) -> Callable[[], None] | None:
        limit = self.file_size_limit_bytes
        if limit is None:
            return None

        def apply() -> None:
            # A size-limited disk, per file: writes past it fail with EFBIG (Python
            # ignores SIGXFSZ), which SQLite reports as "database or disk is full".
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return apply

    def start(self) -> StationService:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "STATION_LOOPBACK_WITHOUT_TOKEN": "true", **self.env}
        env.pop("STATION_CONFIG", None)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it; closed below
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "station", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--data-dir", str(self.data_dir), "--hardware", self.hardware, "--camera", self.camera,
                 "--log-level", self.log_level],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, preexec_fn=self._preexec(),
            )
        finally:
            log.close()
        self.client = httpx.Client(base_url=self.base_url, timeout=15)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"station serve exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                if self.client.get("/healthz").status_code in (200, 503):
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"station serve did not answer within {START_TIMEOUT_S:g} s")
            time.sleep(0.1)

    @property
    def http(self) -> httpx.Client:
        assert self.client is not None, "start() the service first"
        return self.client

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a power cut leaves the files."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._close_client()

    def stop(self) -> int | None:
        """SIGTERM and wait (bounded); returns the exit code."""
        self._close_client()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def _close_client(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


@contextmanager
def running_service(data_dir: Path, **kwargs: Any) -> Iterator[StationService]:
    svc = StationService(data_dir, **kwargs).start()
    try:
        yield svc
    finally:
        svc.stop()


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (bounded); return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


BUSY = ("armed", "recording", "analysing")


def quick_options(duration_s: float) -> dict[str, Any]:
    """Recording options that skip zeroing and the stand-still wait (the simulated athlete
    stands on the plates from the start), and record no video."""
    return {"tare": False, "wait_still": False, "duration_s": duration_s, "video": False}


def seed_calibration(data_dir: Path) -> int:
    """An active calibration before the service first starts (the simulator's true one,
    seed 1 as the service uses)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = SimLoadCellSource(seed=1, paced=False)
    store = Store(data_dir / "station.sqlite3")
    try:
        return store.save_calibration(
            kind="calibration", data=source.cells.true_calibration(source.geometry).to_dict(),
            created_by="seed", activate=True,
        )
    finally:
        store.close()
