"""Shapes shared by several routers."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, BeforeValidator

#: Largest page any list route returns; bigger requests are refused with 422.
MAX_PAGE = 200


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

#: Largest id accepted in a path (SQLite integers are 64-bit; bigger ones are refused with 422).
MAX_ID = 2**62

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _whole_number(value: Any) -> Any:
    """Refuse text that is not written as a whole number: pydantic would read "1.0" (or
    "1e0") in a path or query as 1, and a fuzzed ``DELETE /athletes/1.0`` deleted athlete 1."""
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value):
        raise ValueError(f"must be a whole number such as 42, got {value[:40]!r}")
    return value


#: An integer in a path or query, written with digits only (no "1.0", "1e3", " 1").
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
#: Every ``{..._id}`` in a path: a whole number from 1 to :data:`MAX_ID`.
PathId = Annotated[WholeNumber, Path(ge=1, le=MAX_ID)]
