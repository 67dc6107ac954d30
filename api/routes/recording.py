"""Recording control: start, stop, abort, status. One station, one recording at a time:
a start while busy answers 409 naming the current state."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api import API_PREFIX
from api.auth import Principal
from api.deps import audit, get_recorder, get_store, require_role
from api.routes.common import MAX_ID
from station.core.errors import InputError
from station.core.protocols import OPTION_LIMITS, PROTOCOL_NAMES, check_options
from station.recording import Recorder

router = APIRouter(prefix=API_PREFIX, tags=["recording"], dependencies=[Depends(require_role("coach"))])

Coach = Annotated[Principal, Depends(require_role("coach"))]
RecorderDep = Annotated[Recorder, Depends(get_recorder)]
StoreDep = Annotated[Any, Depends(get_store)]


def _limited(key: str, description: str) -> Any:
    """A numeric option's field, its bounds from :data:`OPTION_LIMITS` (their one home)."""
    _, lo, hi = OPTION_LIMITS[key]
    return Field(default=None, ge=lo, le=hi, allow_inf_nan=False, description=description)


class RecordingOptions(BaseModel):
    """Per-trial options; anything left out takes the protocol's default. The limits are
    :data:`station.core.protocols.OPTION_LIMITS` (the recorder checks them again)."""

    model_config = ConfigDict(extra="forbid")

    duration_s: float | None = _limited("duration_s", "maximum length")
    reps: int | None = _limited("reps", "repetitions of a protocol that ends after N reps (single_leg_squat)")
    video: bool | None = Field(default=None, description="record video when a camera is present (default yes)")
    tare: bool | None = Field(default=None, description="zero the empty plates before arming (default yes)")
    wait_still: bool | None = Field(default=None, description="start once the athlete stands still")
    arm_timeout_s: float | None = _limited("arm_timeout_s", "give up arming after this long")
    end_on_touchdown: bool | None = Field(default=None, description="single_leg_stance: end at touch-down")


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    athlete_id: int = Field(ge=1, le=MAX_ID)
    protocol: Literal[PROTOCOL_NAMES]  # type: ignore[valid-type]
    leg: Literal["left", "right"] | None = Field(default=None, description="stance leg of single-leg protocols")
    options: RecordingOptions = Field(default_factory=RecordingOptions)
    session_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                   description="the session (of the same athlete) the trial joins")

    @model_validator(mode="after")
    def _fits_protocol(self) -> StartBody:
        # the protocol's own rules (leg, which options apply), as the recorder applies them
        try:
            check_options(self.protocol, self.leg, self.options.model_dump(exclude_none=True))
        except InputError as exc:
            raise ValueError(exc.message) from None
        return self


@router.post("/recording/start", status_code=202, summary="Start a recording (409 when one is running)")
def start(body: StartBody, recorder: RecorderDep, store: StoreDep, who: Coach) -> dict[str, Any]:
    store.get_athlete(body.athlete_id)  # 404 before arming the station
    options = body.options.model_dump(exclude_none=True)
    status = recorder.start(
        athlete_id=body.athlete_id, protocol=body.protocol, leg=body.leg, options=options, actor=who.name,
        session_id=body.session_id,
    )
    audit(store, who, "recording.start", f"athlete {body.athlete_id}")
    return status


@router.post("/recording/stop", summary="Stop the recording early and keep it (analysed and saved)")
def stop(recorder: RecorderDep, store: StoreDep, who: Coach) -> dict[str, Any]:
    status = recorder.stop()
    audit(store, who, "recording.stop", f"trial {status.get('trial_id')}")
    return status


@router.post("/recording/abort", summary="Abort the recording (the trial is kept as 'aborted')")
def abort(recorder: RecorderDep, store: StoreDep, who: Coach) -> dict[str, Any]:
    status = recorder.abort()
    audit(store, who, "recording.abort", f"trial {status.get('trial_id')}")
    return status


@router.get("/recording/status", summary="The recorder's state")
async def status(recorder: RecorderDep) -> dict[str, Any]:  # lock-free snapshot: on the event loop
    return recorder.status()
