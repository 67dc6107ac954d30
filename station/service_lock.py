"""One lock file per data directory: who is using the database right now.

``station serve`` holds it while it runs; ``station restore`` takes it for the time of
the restore, so a restore never overwrites the database under a running service and the
service cannot start in the middle of a restore. It is an advisory ``flock(2)`` lock: the
kernel drops it when the holder exits, even after a crash or ``kill -9``, so a stale
file never blocks anyone.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from station.core.errors import ConflictError, StorageError

LOCK_NAME = "station.lock"


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


def holder(data_dir: Path) -> str | None:
    """Who holds the lock (e.g. ``"pid 812 (station serve)"``), or ``None`` when it is free."""
    path = lock_path(data_dir)
    if not path.exists():
        return None
    try:
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                return fh.read().strip() or "another process"
            fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError:
        return None
    return None


class ServiceLock:
    """Exclusive lock on ``<data_dir>/station.lock``; use as a context manager or call
    :meth:`release`. Raises :class:`ConflictError` naming the holder when it is taken."""

    def __init__(self, data_dir: Path, *, purpose: str) -> None:
        self.path = lock_path(data_dir)
        self._fh: IO[str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+")  # noqa: SIM115 - kept open for the lifetime of the lock
        except OSError as exc:
            raise StorageError(
                f"cannot open the lock file {self.path}: {exc}",
                hint="check that the data directory exists and this user may write to it.",
            ) from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            who = fh.read().strip() or "another process"
            fh.close()
            raise ConflictError(
                f"the data directory {self.path.parent} is in use by {who}",
                hint="stop the service first (sudo systemctl stop station).",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} ({purpose})\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> ServiceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
