"""Trials: list with filters and pages, detail with metrics and events, the series its
plots draw, metric history per athlete, left/right comparison (limb symmetry index),
soft delete (admin), recompute."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api import API_PREFIX
from api.auth import Principal
from api.deps import audit, get_recorder, get_station, get_store, require_role
from api.routes.common import MAX_ID, MAX_PAGE, Page, PathId, WholeNumber
from station.analysis.plot import COP_SERIES, CopName, trial_plot
from station.core.calibration import Calibration
from station.core.errors import InputError
from station.core.protocols import PROTOCOL_NAMES, PROTOCOLS
from station.export.common import trial_loads
from station.runtime import Station
from station.storage.trials import iso_bound
from station.video_sync import video_offset_s

router = APIRouter(prefix=API_PREFIX, tags=["trials"], dependencies=[Depends(require_role("coach"))])

Coach = Annotated[Principal, Depends(require_role("coach"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
StoreDep = Annotated[Any, Depends(get_store)]
TrialId = PathId
AthleteId = PathId
ProtocolName = Literal[PROTOCOL_NAMES]  # type: ignore[valid-type]
Leg = Literal["left", "right"]
Status = Literal["recording", "analysing", "saved", "aborted", "failed", "interrupted"]
#: A dotted path into a trial's metrics, e.g. "sway.ml_rms_mm".
MetricPath = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")]

#: The limb symmetry index this API reports (one of many in the literature; stated here
#: and in every response): 100 * |L - R| / ((L + R) / 2), in percent, 0 = symmetric.
LSI_FORMULA = "100 * |L - R| / ((L + R) / 2)"


DateQuery = Annotated[str | None, Query(max_length=40, description="ISO date or time (UTC if no zone)")]


# The list and history routes are ``async`` on purpose: their query takes about a
# millisecond on an index (store migration 3) from a read-only pooled connection
# that never waits for the recorder's writes, which costs less than the hop to
# FastAPI's thread pool and back (and the GIL contention between those threads
# and the event loop, which also feeds the live stream). Routes that write, or
# read whole trials, stay synchronous in the thread pool.
@router.get("/trials", summary="List trials (filters: athlete, protocol, leg, status, date range)")
async def list_trials(
    store: StoreDep,
    athlete_id: Annotated[WholeNumber | None, Query(ge=1, le=MAX_ID)] = None,
    protocol: ProtocolName | None = None,
    leg: Leg | None = None,
    status: Status | None = None,
    since: DateQuery = None,
    until: DateQuery = None,
    limit: Annotated[WholeNumber, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[WholeNumber, Query(ge=0, le=10**9)] = 0,
) -> Page:
    # Normalised to UTC strings of one form, clamped to the calendar (they compare as text).
    since_utc = None if since is None else iso_bound(since, "since")
    until_utc = None if until is None else iso_bound(until, "until")
    if since_utc is not None and until_utc is not None and since_utc > until_utc:
        raise InputError("since must not be after until", hint="Swap the two dates.")
    items, total = store.list_trials(
        athlete_id=athlete_id,
        protocol=protocol,
        leg=leg,
        status=status,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/trials/{trial_id}", summary="One trial with its metrics and events")
def get_trial(trial_id: TrialId, store: StoreDep) -> dict[str, Any]:
    trial: dict[str, Any] = store.get_trial(trial_id)
    if trial.get("video"):
        # trial time = video time + offset_s (the kiosk lines the CoP up with the video)
        trial["video"] = {**trial["video"], "offset_s": video_offset_s(store, trial_id, trial["video"])}
    return trial


Num = float | None  # None: no value there (a CoP below the contact threshold)


class CopSeries(BaseModel):
    x_mm: list[Num]
    y_mm: list[Num]


class PlateForces(BaseModel):
    left: list[float]
    right: list[float]
    total: list[float]


class CopSeriesSet(BaseModel):
    left: CopSeries
    right: CopSeries
    combined: CopSeries


class EllipseOut(BaseModel):
    centre_mm: tuple[float, float]
    semi_axes_mm: tuple[float, float] = Field(description="major, minor")
    angle_rad: float = Field(description="major axis from +x (ML) towards +y (AP)")
    area_mm2: float
    outline_mm: list[tuple[float, float]]


class RepOut(BaseModel):
    start_s: float
    bottom_s: float
    end_s: float


class TrialPlotOut(BaseModel):
    """What the results page draws, computed here with the trial's own calibration and geometry."""

    trial_id: int
    calibration_id: int | None = Field(description="the calibration the samples were converted with; None: uncalibrated")
    geometry: dict[str, Any] = Field(description="the plate geometry of the trial (plates, mm)")
    n_samples: int = Field(description="samples in the trial (the series below are decimated)")
    decimation: str
    t_s: list[float]
    fz_n: PlateForces
    cop_mm: CopSeriesSet
    window_s: tuple[float, float] | None = Field(description="the analysis window, as stored")
    sway_cop: CopName | None = Field(description="the CoP series the sway measures and the ellipse describe")
    ellipse95: EllipseOut | None
    reps: list[RepOut]
    warnings: list[str]


def _values(a: np.ndarray, digits: int) -> list[float | None]:
    """Rounded floats, None for NaN (JSON has no NaN)."""
    return [None if not math.isfinite(v) else v for v in np.round(a.astype(float), digits).tolist()]


def _forces(a: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(a, 2).tolist()]


@router.get("/trials/{trial_id}/plot", summary="The series a trial's results page draws (forces, CoP, window, ellipse, reps)")
def get_trial_plot(
    trial_id: TrialId, store: StoreDep, station: Annotated[Station, Depends(get_station)]
) -> TrialPlotOut:
    trial, t_s, loads, _invalid, cal = trial_loads(store, trial_id, default_geometry=station.geometry)
    plot = trial_plot(t_s, loads, geometry=cal.geometry, metrics=trial.get("metrics") or {})
    ell = plot.ellipse
    return TrialPlotOut(
        trial_id=trial_id,
        calibration_id=trial.get("calibration_id"),
        geometry=cal.geometry.to_dict(),
        n_samples=plot.n_samples,
        decimation="min-max: per bucket of samples, the lowest and highest force of each plate",
        t_s=[float(v) for v in np.round(plot.t_s, 4).tolist()],
        fz_n=PlateForces(left=_forces(plot.fz_n[:, 0]), right=_forces(plot.fz_n[:, 1]), total=_forces(plot.total_fz_n)),
        cop_mm=CopSeriesSet(**{
            name: CopSeries(x_mm=_values(plot.cop_mm[:, k, 0], 2), y_mm=_values(plot.cop_mm[:, k, 1], 2))
            for k, name in enumerate(COP_SERIES)
        }),
        window_s=plot.window_s,
        sway_cop=plot.sway_cop,
        ellipse95=None if ell is None or plot.ellipse_outline_mm is None else EllipseOut(
            centre_mm=ell.centre_mm, semi_axes_mm=ell.semi_axes_mm, angle_rad=ell.angle_rad, area_mm2=ell.area_mm2,
            outline_mm=[(float(x), float(y)) for x, y in np.round(plot.ellipse_outline_mm, 3).tolist()],
        ),
        reps=[RepOut(**r) for r in plot.reps],
        warnings=plot.warnings,
    )


@router.delete("/trials/{trial_id}", status_code=204, summary="Soft-delete a trial (admin)")
def delete_trial(trial_id: TrialId, store: StoreDep, who: Admin) -> Response:
    store.delete_trial(trial_id, actor=who.name)  # the store writes the audit row
    return Response(status_code=204)


class RecomputeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calibration_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="calibration to apply; default: the active one"
    )


@router.post("/trials/{trial_id}/recompute", summary="Re-analyse a trial's raw counts under a calibration")
def recompute_trial(
    trial_id: TrialId,
    store: StoreDep,
    who: Coach,
    recorder: Annotated[Any, Depends(get_recorder)],
    body: RecomputeBody | None = None,
) -> dict[str, Any]:
    store.get_trial(trial_id)  # 404 before any work
    if body is not None and body.calibration_id is not None:
        row = store.get_calibration(body.calibration_id)
        if row.get("kind") != "calibration":
            raise InputError(f"calibration {body.calibration_id} is a {row.get('kind')}, not a full calibration")
        cal = Calibration.from_row(row)
    else:
        cal = recorder.acquisition.calibration
    result = recorder.recompute(trial_id, cal)
    audit(store, who, "recompute", f"trial {trial_id}")
    return result if isinstance(result, dict) else store.get_trial(trial_id)  # type: ignore[no-any-return]


@router.get("/athletes/{athlete_id}/history", summary="One metric over time for an athlete")
async def metric_history(
    athlete_id: AthleteId,
    store: StoreDep,
    metric: MetricPath,
    protocol: ProtocolName | None = None,
    leg: Leg | None = None,
) -> dict[str, Any]:
    points = store.metric_history(athlete_id, metric, protocol=protocol, leg=leg)
    return {"athlete_id": athlete_id, "metric": metric, "protocol": protocol, "leg": leg, "points": points,
            "symmetry_by_day": symmetry_by_day(points)}


def symmetry_by_day(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per UTC day with trials of both legs: the mean value of each leg and their limb
    symmetry index (:data:`LSI_FORMULA`), oldest first."""
    days: dict[str, dict[str, list[float]]] = {}
    for p in points:
        value, leg = p.get("value"), p.get("leg")
        if leg in ("left", "right") and isinstance(value, int | float) and not isinstance(value, bool):
            days.setdefault(str(p["started_at"])[:10], {"left": [], "right": []})[leg].append(float(value))
    out = []
    for day, legs in sorted(days.items()):
        if legs["left"] and legs["right"]:
            left, right = sum(legs["left"]) / len(legs["left"]), sum(legs["right"]) / len(legs["right"])
            out.append({"date": day, "left": left, "right": right, "symmetry_index_pct": symmetry_index_pct(left, right)})
    return out


def symmetry_index_pct(left: float | None, right: float | None) -> float | None:
    """Limb symmetry index, :data:`LSI_FORMULA`; ``None`` when undefined (missing or L + R = 0)."""
    if left is None or right is None:
        return None
    mean = (left + right) / 2.0
    if mean == 0 or not math.isfinite(mean):
        return None
    return 100.0 * abs(left - right) / abs(mean)


@router.get("/athletes/{athlete_id}/symmetry", summary="Left/right comparison of a metric (limb symmetry index)")
def symmetry(
    athlete_id: AthleteId,
    store: StoreDep,
    protocol: ProtocolName,
    metric: MetricPath,
    last: Annotated[WholeNumber, Query(ge=1, le=50, description="average the last N trials of each leg")] = 1,
) -> dict[str, Any]:
    if not PROTOCOLS[protocol].needs_leg:
        raise InputError(f"{protocol} is not a single-leg protocol; compare legs on single-leg protocols")
    points = store.metric_history(athlete_id, metric, protocol=protocol)
    sides: dict[str, dict[str, Any]] = {}
    for leg in ("left", "right"):
        vals = [p for p in points if p.get("leg") == leg and isinstance(p.get("value"), int | float)]
        vals = vals[-last:]  # the store returns them oldest first
        mean = sum(float(p["value"]) for p in vals) / len(vals) if vals else None
        sides[leg] = {"value": mean, "n_trials": len(vals), "trial_ids": [p["trial_id"] for p in vals]}
    lsi = symmetry_index_pct(sides["left"]["value"], sides["right"]["value"])
    return {
        "athlete_id": athlete_id,
        "protocol": protocol,
        "metric": metric,
        "left": sides["left"],
        "right": sides["right"],
        "symmetry_index_pct": lsi,
        "formula": LSI_FORMULA,
        "note": None if lsi is not None else "needs a saved trial of each leg with this metric",
    }
