"""Shapes shared by several routers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: Largest page any list route returns; bigger requests are refused with 422.
MAX_PAGE = 200


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

#: Largest id accepted in a path (SQLite integers are 64-bit; bigger ones are refused with 422).
MAX_ID = 2**62
