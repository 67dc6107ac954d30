"""Athletes: create, search, read, update, soft delete (admin), privacy export (admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api import API_PREFIX
from api.auth import Principal
from api.deps import audit, get_store, require_role
from api.routes.common import MAX_PAGE, Page, PathId, WholeNumber
from station.core.clock import year_at_least
from station.core.physics import G_M_S2
from station.storage.base import check_text

router = APIRouter(prefix=API_PREFIX, tags=["athletes"], dependencies=[Depends(require_role("coach"))])

Coach = Annotated[Principal, Depends(require_role("coach"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
StoreDep = Annotated[Any, Depends(get_store)]
AthleteId = PathId


def with_body_weight(athlete: dict[str, Any]) -> dict[str, Any]:
    """The athlete with ``body_weight_n`` (body mass * g, N; None without a mass), the
    weight the analysis and the kiosk's live bars use (g has one home: the server)."""
    mass = athlete.get("body_mass_kg")
    return {**athlete, "body_weight_n": None if mass is None else float(mass) * G_M_S2}


class AthleteFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    birth_year: int | None = Field(default=None, ge=1900, description="year of birth (not in the future)")
    body_mass_kg: float | None = Field(default=None, ge=15, le=300, allow_inf_nan=False)
    dominant_leg: Literal["left", "right"] | None = None
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("notes")
    @classmethod
    def _notes_text(cls, v: str | None) -> str | None:
        return None if v is None else check_text("notes", v, multiline=True)

    @field_validator("birth_year")
    @classmethod
    def _not_future(cls, v: int | None) -> int | None:
        if v is not None and v > year_at_least():  # a clock in 1970 refuses nobody (core.clock)
            raise ValueError(f"must not be after {year_at_least()}")
        return v


class AthleteCreate(AthleteFields):
    name: str = Field(min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _name_text(cls, v: str) -> str:
        return check_text("name", v)


class AthleteUpdate(AthleteFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _name_text(cls, v: str | None) -> str | None:
        return None if v is None else check_text("name", v)


@router.get("/athletes", summary="List or search athletes (by name)")
async def list_athletes(  # one indexed query from the read pool: on the event loop (see trials.py)
    store: StoreDep,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    limit: Annotated[WholeNumber, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[WholeNumber, Query(ge=0, le=10**9)] = 0,
) -> Page:
    items, total = store.list_athletes(q=q or None, limit=limit, offset=offset)
    return Page(items=[with_body_weight(a) for a in items], total=total, limit=limit, offset=offset)


@router.post("/athletes", status_code=201, summary="Create an athlete")
def create_athlete(body: AthleteCreate, store: StoreDep, who: Coach) -> dict[str, Any]:
    # The store writes the audit row in the same transaction as the change.
    return with_body_weight(store.create_athlete(**body.model_dump(), actor=who.name))


@router.get("/athletes/{athlete_id}", summary="One athlete")
def get_athlete(athlete_id: AthleteId, store: StoreDep) -> dict[str, Any]:
    return with_body_weight(store.get_athlete(athlete_id))


@router.patch("/athletes/{athlete_id}", summary="Change an athlete's fields (only those sent)")
def update_athlete(athlete_id: AthleteId, body: AthleteUpdate, store: StoreDep, who: Coach) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] is None:
        fields.pop("name")  # a name cannot be removed
    return with_body_weight(store.update_athlete(athlete_id, actor=who.name, **fields))


@router.delete("/athletes/{athlete_id}", status_code=204, summary="Soft-delete an athlete (admin)")
def delete_athlete(athlete_id: AthleteId, store: StoreDep, who: Admin) -> Response:
    store.delete_athlete(athlete_id, actor=who.name)  # audited by the store
    return Response(status_code=204)


@router.get("/athletes/{athlete_id}/export", summary="Everything stored about one athlete (admin; privacy requests)")
def export_athlete(athlete_id: AthleteId, store: StoreDep, who: Admin) -> dict[str, Any]:
    data: dict[str, Any] = store.export_athlete(athlete_id)
    audit(store, who, "export", f"athlete {athlete_id}")  # reading everything is worth a trace
    return data
