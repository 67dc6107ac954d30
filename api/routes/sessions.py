"""Sessions: the trials of one visit. Create, list per athlete, one with its left/right
summary and reference bands, attach a trial, the PDF report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api import API_PREFIX
from api.auth import Principal
from api.deps import get_station, get_store, require_role
from api.routes.common import MAX_ID, MAX_PAGE, Page, PathId, WholeNumber
from station.analysis.summary import session_summary
from station.core.reference import BANDS
from station.report.pdf import session_report_pdf
from station.runtime import Station
from station.storage.base import check_text
from station.storage.sessions import KIND_PATTERN, MAX_SESSION_NOTES

router = APIRouter(prefix=API_PREFIX, tags=["sessions"], dependencies=[Depends(require_role("coach"))])

Coach = Annotated[Principal, Depends(require_role("coach"))]
StoreDep = Annotated[Any, Depends(get_store)]
SessionId = PathId
#: The kiosk's translations, read for the report's labels (their one home).
I18N_DIR = Path(__file__).resolve().parent.parent / "static" / "i18n"


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    athlete_id: int = Field(ge=1, le=MAX_ID)
    kind: str = Field(default="hip_screen", pattern=KIND_PATTERN.pattern, description="e.g. hip_screen")
    notes: str | None = Field(default=None, max_length=MAX_SESSION_NOTES)

    @field_validator("notes")
    @classmethod
    def _notes_text(cls, v: str | None) -> str | None:
        return None if v is None else check_text("notes", v, multiline=True)


class AttachBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trial_id: int = Field(ge=1, le=MAX_ID)


def summary_of(session: dict[str, Any]) -> dict[str, Any]:
    """The session's left/right summary with the bands shown beside its rows."""
    summary = session_summary(session["trials"])
    summary["bands"] = [dataclasses.asdict(b) for b in BANDS]
    return summary


@router.post("/sessions", status_code=201, summary="Open a session (a visit) for an athlete")
def create_session(body: SessionCreate, store: StoreDep, who: Coach) -> dict[str, Any]:
    session: dict[str, Any] = store.create_session(
        athlete_id=body.athlete_id, kind=body.kind, notes=body.notes, actor=who.name)
    return session


@router.get("/sessions", summary="An athlete's sessions, newest first")
def list_sessions(
    store: StoreDep,
    athlete_id: Annotated[WholeNumber, Query(ge=1, le=MAX_ID)],
    limit: Annotated[WholeNumber, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[WholeNumber, Query(ge=0, le=10**9)] = 0,
) -> Page:
    items, total = store.list_sessions(athlete_id=athlete_id, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/sessions/{session_id}", summary="One session with its trials and left/right summary")
def get_session(session_id: SessionId, store: StoreDep) -> dict[str, Any]:
    session: dict[str, Any] = store.get_session(session_id)
    session["summary"] = summary_of(session)
    return session


@router.post("/sessions/{session_id}/trials", summary="Make a trial part of a session")
def attach_trial(session_id: SessionId, body: AttachBody, store: StoreDep, who: Coach) -> dict[str, Any]:
    trial: dict[str, Any] = store.attach_trial(session_id, body.trial_id, actor=who.name)
    return trial


def labels(lang: str) -> dict[str, str]:
    """The kiosk's labels in ``lang`` over the English ones (a key missing in a language
    falls back to English)."""
    out: dict[str, str] = json.loads((I18N_DIR / "en.json").read_text(encoding="utf-8"))
    if lang != "en":
        out.update(json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8")))
    return out


@router.get(
    "/sessions/{session_id}/report.pdf",
    summary="The session's report as a PDF (en or nl)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def session_report(
    session_id: SessionId,
    store: StoreDep,
    station: Annotated[Station, Depends(get_station)],
    lang: Literal["en", "nl"] = "en",
) -> Response:
    session: dict[str, Any] = store.get_session(session_id)
    pdf = session_report_pdf(
        store, session, summary_of(session), labels=labels(lang), lang=lang, default_geometry=station.geometry,
        calibration_row=store.active_calibration("calibration"),
    )
    return Response(
        pdf, media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="session-{session_id}.pdf"'},
    )
