"""Opening the station database of a data folder from a command (export, token, purge, ...)."""

from __future__ import annotations

from pathlib import Path

from station.core.config import load_settings
from station.core.errors import InputError
from station.storage.store import Store


def open_store(data_dir: Path | None) -> Store:
    """The Store of the configured (or given) data folder.

    A missing database is an input error: a wrong ``--data-dir`` must not silently
    create an empty database (only the service creates it, at its first start).
    """
    settings = load_settings(data_dir=data_dir)
    path = settings.db_path
    if not path.is_file():
        raise InputError(
            f"there is no station database at {path}",
            hint="Pass --data-dir with the station's data folder (the one holding station.sqlite3); "
            "on a new station, start the service once (`station serve`): it creates the database.",
        )
    return Store(path)
