"""Exports of one trial: raw CSV, metrics JSON, C3D, and its video (HTTP range requests).

The file formats are written by ``station.export`` (storage part); this router only
checks access, builds the file in a worker thread and names it for download. The
video path comes from the database, never from the URL, and is still refused unless
it lies inside the data directory (no path traversal through a tampered row).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from api import API_PREFIX
from api.deps import get_settings, get_store, require_role
from api.routes.common import PathId
from station.core.config import Settings
from station.core.errors import NotFoundError

router = APIRouter(prefix=API_PREFIX, tags=["exports"], dependencies=[Depends(require_role("coach"))])

StoreDep = Annotated[Any, Depends(get_store)]
TrialId = PathId


def _export(store: Any, trial_id: int, fmt: str) -> bytes:
    """Write the trial with :func:`station.export.export_trial` to a temporary file
    (ezc3d writes only to paths) and return its bytes; a trial is at most a few MB."""
    from station.export import export_trial

    store.get_trial(trial_id)  # 404 before any work
    with tempfile.TemporaryDirectory(prefix="station-export-") as tmp:
        path = export_trial(store, trial_id, fmt, Path(tmp) / f"trial-{trial_id}.{fmt}")
        return path.read_bytes()


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/trials/{trial_id}/export.csv", summary="Raw data of a trial as CSV (time and newtons per cell)")
def export_csv(trial_id: TrialId, store: StoreDep) -> Response:
    return _download(_export(store, trial_id, "csv"), "text/csv", f"trial-{trial_id}.csv")


@router.get("/trials/{trial_id}/export.json", summary="Metrics and events of a trial as JSON")
def export_json(trial_id: TrialId, store: StoreDep) -> Response:
    return _download(_export(store, trial_id, "json"), "application/json", f"trial-{trial_id}.json")


@router.get("/trials/{trial_id}/export.c3d", summary="A trial as C3D (force platforms and analog channels)")
def export_c3d(trial_id: TrialId, store: StoreDep) -> Response:
    return _download(_export(store, trial_id, "c3d"), "application/octet-stream", f"trial-{trial_id}.c3d")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


@router.get(
    "/trials/{trial_id}/video",
    summary="The trial's video (MP4), with HTTP range requests for seeking",
    response_class=FileResponse,
    responses={206: {"description": "part of the file (Range request)"}},
)
def video(
    trial_id: TrialId, request: Request, store: StoreDep, settings: Annotated[Settings, Depends(get_settings)]
) -> FileResponse:
    store.get_trial(trial_id)
    row = store.get_video(trial_id)
    if row is None:
        raise NotFoundError(f"trial {trial_id} has no video", hint="Video is recorded only when a camera is present.")
    path = Path(row["path"])
    if not path.is_absolute():
        path = settings.data_dir / path
    if not _inside(path, settings.data_dir):
        # A path outside the data directory means a tampered or foreign row: refuse it.
        raise NotFoundError(f"the video of trial {trial_id} is not in the data directory")
    if not path.is_file():
        raise NotFoundError(f"the video file of trial {trial_id} is missing", hint="It may have been purged.")
    return FileResponse(path, media_type="video/mp4", filename=f"trial-{trial_id}.mp4")
