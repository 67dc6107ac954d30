"""Storage fixtures: a real SQLite file in a temp directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from station.storage import Store


@pytest.fixture
def fresh_db(tmp_path: Path) -> Iterator[Store]:
    """A Store on a new database file (migrated); closed after the test."""
    store = Store(tmp_path / "station.sqlite3")
    yield store
    store.close()
