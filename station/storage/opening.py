"""Opening the station database of a data folder from a command (export, token, purge, ...)."""

from __future__ import annotations

from pathlib import Path

from station.core.config import load_settings
from station.core.errors import InputError
from station.storage.store import Store


def open_store(data_dir: Path | None, *, create: bool = False) -> Store:
    """The Store of the configured (or given) data folder.

    Without ``create``, a missing database is an input error (a wrong ``--data-dir``
    must not silently create an empty database).
    """
    settings = load_settings(data_dir=data_dir)
    path = settings.db_path
    if not create and not path.is_file():
        raise InputError(
            f"there is no station database at {path}",
            hint="Pass --data-dir with the station's data folder (the one holding station.sqlite3).",
        )
    return Store(path)
