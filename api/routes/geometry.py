"""``GET /api/v1/geometry``: the plate geometry in use, for any signed-in user.

The geometry (plate centres and load-cell positions, mm) is part of the active
calibration, whose full record is admin-only (``GET /calibration``). Coaches need
the geometry itself to draw the plates to scale, so it is served here on its own. The
live stream's first (``hello``) message carries the same object. A recorded trial's
plot series come with that trial's own geometry from ``GET /trials/{id}/plot``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api import API_PREFIX
from api.deps import get_acquisition, require_role

router = APIRouter(prefix=API_PREFIX, tags=["calibration"], dependencies=[Depends(require_role("coach"))])


def geometry_in_use(acquisition: Any) -> dict[str, Any]:
    """``{"plates": {...}, "calibration_id": id | None}`` of the calibration the
    acquisition applies now (``calibration_id`` None: the default calibration)."""
    cal = acquisition.calibration
    out: dict[str, Any] = cal.geometry.to_dict()
    out["calibration_id"] = None if getattr(cal, "is_default", False) else getattr(cal, "id", None)
    return out


@router.get("/geometry", summary="The plate geometry in use (plate centres and cell positions, mm)")
async def get_geometry(acquisition: Annotated[Any, Depends(get_acquisition)]) -> dict[str, Any]:
    return geometry_in_use(acquisition)
