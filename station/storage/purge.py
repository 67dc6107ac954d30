"""Erase soft-deleted athletes and trials for good (the ``station purge`` command).

Deleting in the app only hides data (soft delete) so a mistake can be undone by an
admin; :func:`purge` removes what was deleted more than ``older_than_days`` ago, with
its raw samples, events and video files, then compacts the file so the erased bytes
do not linger on disk. The command's arguments and messages live in
``station/cli/purge.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from station.storage.opening import open_store

#: Deleted data is kept this long, so an admin can still undo a mistaken delete.
DEFAULT_GRACE_DAYS = 30.0


@dataclass(frozen=True)
class PurgeResult:
    athletes: int
    trials: int
    video_files: int
    #: Data deleted at or before this time (ISO 8601, UTC) was erased.
    cutoff: str
    vacuumed: bool


def purge(
    data_dir: Path | None,
    *,
    older_than_days: float = DEFAULT_GRACE_DAYS,
    vacuum: bool = True,
    actor: str = "purge",
    on_vacuum: Callable[[], None] | None = None,
) -> PurgeResult:
    """Erase what was soft-deleted more than ``older_than_days`` ago in the station
    database of ``data_dir`` (``None``: the configured one).

    The file is compacted (VACUUM) when ``vacuum`` is set and something was erased;
    ``on_vacuum`` is called first, as VACUUM rewrites the whole file and can take a
    while. A missing database or a negative grace period is an
    :class:`~station.core.errors.InputError`.
    """
    store = open_store(data_dir)
    try:
        result = store.purge_deleted(older_than_days=older_than_days, actor=actor)
        compact = vacuum and bool(result["athletes"] or result["trials"])
        if compact:
            if on_vacuum is not None:
                on_vacuum()
            store.vacuum()
    finally:
        store.close()
    return PurgeResult(
        athletes=int(result["athletes"]),
        trials=int(result["trials"]),
        video_files=int(result["video_files"]),
        cutoff=str(result["cutoff"]),
        vacuumed=compact,
    )
