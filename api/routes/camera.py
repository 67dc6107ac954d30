"""Camera view calibration: the roll in use and a new measurement. Admin only: the roll
corrects the pelvic drop of every squat recorded after it.

``POST /camera/roll`` captures about half a second from the station's camera while the
operator holds the level bar with the magenta and cyan markers (or a plumb line,
``reference="vertical"``), measures the roll (:mod:`calibration.camera_roll`) and stores
it as the active ``camera_roll`` calibration. Refused with the reason and what to do:
503 without a camera, 409 while a trial records, 422 when the markers are not seen,
moved, or the camera is rolled by more than 15 degrees (the previous roll stays active).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api import API_PREFIX
from api.auth import Principal
from api.deps import audit, get_camera_view, get_station, get_store, require_role
from calibration.camera_view import (
    DEFAULT_FRAMES,
    MAX_FRAMES,
    CameraViewCalibration,
    current_camera_roll,
)
from station.runtime import Station

router = APIRouter(prefix=API_PREFIX, tags=["camera"], dependencies=[Depends(require_role("admin"))])

Admin = Annotated[Principal, Depends(require_role("admin"))]
StoreDep = Annotated[Any, Depends(get_store)]
StationDep = Annotated[Station, Depends(get_station)]


ViewDep = Annotated[CameraViewCalibration, Depends(get_camera_view)]


class RollBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Literal["level", "vertical"] = Field(
        default="level", description="'level': a levelled bar with the two pelvis markers; 'vertical': a plumb line"
    )
    frames: int = Field(default=DEFAULT_FRAMES, ge=5, le=MAX_FRAMES, description="frames to capture")


@router.get("/camera/roll", summary="The camera roll in use (calibrated false: a level camera is assumed)")
def get_roll(station: StationDep, store: StoreDep) -> dict[str, Any]:
    out = current_camera_roll(store)
    out["camera"] = {"available": station.camera is not None, "error": station.camera_error}
    return out


@router.post("/camera/roll", summary="Measure the camera roll now from a level bar or plumb line and make it active")
def measure_roll(view: ViewDep, store: StoreDep, who: Admin, body: RollBody | None = None) -> dict[str, Any]:
    body = body or RollBody()
    out = view.calibrate(reference=body.reference, n_frames=body.frames, actor=who.name)
    audit(store, who, "camera.roll", f"calibration {out['id']}")
    return out
