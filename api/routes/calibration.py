"""Calibration: the guided workflow (start, tare, capture, fit, verify, activate, cancel),
the calibration in use, its history, re-activation of an earlier one and a manual
re-zero. Admin only: a calibration changes every measurement that follows.

The workflow captures automatically when the requested mass is in place and still;
``GET /calibration/workflow`` shows the step, the live reading and what to do next.
A refused step answers 422 with the reason and what to check (``detail``/``hint``); a
step that does not fit the workflow's state answers 409.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api import API_PREFIX
from api.auth import Principal
from api.deps import audit, get_calibration_service, get_store, require_role
from api.routes.common import PathId
from station.calibration_service import CalibrationService

router = APIRouter(prefix=API_PREFIX, tags=["calibration"], dependencies=[Depends(require_role("admin"))])

Admin = Annotated[Principal, Depends(require_role("admin"))]
StoreDep = Annotated[Any, Depends(get_store)]


ServiceDep = Annotated[CalibrationService, Depends(get_calibration_service)]
CalibrationId = PathId


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mass_kg: float = Field(default=20.0, ge=1, le=200, allow_inf_nan=False,
                           description="the known mass placed at each position (kg)")
    linearity_mass_kg: float | None = Field(default=None, ge=1, le=200, allow_inf_nan=False,
                                            description="a second mass at each plate's centre (linearity check)")
    verify_mass_kg: float | None = Field(default=None, ge=1, le=200, allow_inf_nan=False,
                                         description="mass for the verification points (default: mass_kg)")
    verify_only: bool = Field(
        default=False,
        description="only verify the calibration in use (tare, verification points); the report is "
        "stored with it by the activate step",
    )
    geometry: dict[str, Any] | None = Field(
        default=None,
        description='plate centres and cell positions (mm), {"plates": {"left": {"center_mm": [x, y], '
        '"cells_mm": {"fl": [x, y], ...}}, "right": {...}}}; default: the geometry in use',
    )


class CaptureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anyway: bool = Field(
        default=False,
        description="capture although the reading does not match the expected mass/position (only "
        "stillness is checked): when the mass is surely in place, to let the fit name a faulty cell",
    )


@router.get("/calibration", summary="The calibration in use, drift since the last calibration, auto re-zero rule")
def current(svc: ServiceDep) -> dict[str, Any]:
    return svc.current()


@router.get("/calibration/history", summary="Calibrations, verifications and re-zeros, newest first")
def history(
    svc: ServiceDep,
    kind: Literal["calibration", "rezero", "camera_roll"] | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> dict[str, Any]:
    return {"items": svc.history(limit=limit, kind=kind)}


@router.get("/calibration/workflow", summary="Workflow state, current step, live reading and next action")
def workflow_status(svc: ServiceDep) -> dict[str, Any]:
    svc.poll()
    return svc.workflow_status()


@router.post("/calibration/workflow/start", summary="Start a guided calibration (409 if one runs or a trial records)")
def workflow_start(body: StartBody, svc: ServiceDep, store: StoreDep, who: Admin) -> dict[str, Any]:
    status: dict[str, Any] = svc.start_workflow(
        mass_kg=body.mass_kg, linearity_mass_kg=body.linearity_mass_kg, verify_mass_kg=body.verify_mass_kg,
        geometry=body.geometry, actor=who.name, verify_only=body.verify_only,
    )
    audit(store, who, "calibration.start", "calibration workflow")
    return status


@router.post("/calibration/workflow/tare", summary="Zero the empty plates (422 when not empty or not still)")
def workflow_tare(svc: ServiceDep, who: Admin) -> dict[str, Any]:
    return svc.tare()


@router.post("/calibration/workflow/capture", summary="Capture the current step now (normally automatic)")
def workflow_capture(svc: ServiceDep, who: Admin, body: CaptureBody | None = None) -> dict[str, Any]:
    return svc.capture(anyway=bool(body and body.anyway))


@router.post("/calibration/workflow/fit", summary="Fit the gains (422 naming the cell when the fit is clearly wrong)")
def workflow_fit(svc: ServiceDep, who: Admin) -> dict[str, Any]:
    return svc.fit()


@router.post("/calibration/workflow/verify", summary="Zero the empty plates again and start the verification points")
def workflow_verify(svc: ServiceDep, who: Admin) -> dict[str, Any]:
    return svc.verify()


@router.post("/calibration/workflow/activate",
             summary="Store the verified calibration and make it active (verify-only: store the verification)")
def workflow_activate(svc: ServiceDep, store: StoreDep, who: Admin) -> dict[str, Any]:
    status: dict[str, Any] = svc.activate(actor=who.name)
    audit(store, who, "calibration.activate", f"calibration {status.get('calibration_id')}")
    return status


@router.post("/calibration/workflow/cancel", summary="Cancel the workflow; the active calibration stays as it was")
def workflow_cancel(svc: ServiceDep, who: Admin) -> dict[str, Any]:
    return svc.cancel(actor=who.name)


@router.post("/calibration/rezero", summary="Re-zero now (plates empty and still; 409 during a trial)")
def rezero(svc: ServiceDep, store: StoreDep, who: Admin) -> dict[str, Any]:
    out: dict[str, Any] = svc.rezero_now(actor=who.name)
    audit(store, who, "calibration.rezero", f"calibration {out['id']}")
    return out


@router.get("/calibration/{calibration_id}", summary="One stored calibration with its fit report and verification")
def get_one(calibration_id: CalibrationId, svc: ServiceDep) -> dict[str, Any]:
    return svc.get(calibration_id)


@router.post("/calibration/{calibration_id}/activate", summary="Make an earlier full calibration active again")
def activate_existing(calibration_id: CalibrationId, svc: ServiceDep, store: StoreDep, who: Admin) -> dict[str, Any]:
    out: dict[str, Any] = svc.activate_existing(calibration_id, actor=who.name)
    audit(store, who, "calibration.activate", f"calibration {calibration_id}")
    return out
