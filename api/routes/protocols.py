"""``GET /api/v1/protocols``: the test protocols, their rules, options and the
instructions read to the athlete (from :mod:`station.core.protocols`, so the kiosk asks
instead of repeating them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api import API_PREFIX
from api.deps import require_role
from station.core.protocols import OPTION_LIMITS, PROTOCOLS, WINDOWS

router = APIRouter(prefix=API_PREFIX, tags=["recording"], dependencies=[Depends(require_role("coach"))])


def protocol_info(name: str) -> dict[str, Any]:
    p = PROTOCOLS[name]
    return {
        "name": p.name,
        "needs_leg": p.needs_leg,
        "default_duration_s": p.default_duration_s,
        "end_condition": p.end_condition,
        "single_leg": p.single_leg,
        "window": p.window,
        "result_blocks": list(p.result_blocks),
        "symmetry_metric": p.symmetry_metric,
        "label_key": p.label_key,
        "instructions": dict(p.instructions),
    }


@router.get("/protocols", summary="List the test protocols with their rules, instructions and options")
def list_protocols() -> dict[str, Any]:
    return {
        "protocols": [protocol_info(name) for name in PROTOCOLS],
        "windows": dict(WINDOWS),
        "options": {
            key: {"type": kind.__name__, "min": lo, "max": hi} if kind is not bool else {"type": "bool"}
            for key, (kind, lo, hi) in OPTION_LIMITS.items()
        },
    }
