"""Shared fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_DATA = Path(__file__).parent / "data" / "real"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def real_data() -> Path:
    return REAL_DATA


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def fresh_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A :class:`station.storage.Store` on a new SQLite file in ``tmp_path`` (closed afterwards)."""
    from station.storage import Store

    store = Store(tmp_path / "station.sqlite3")
    yield store
    store.close()
