"""The station's database: one SQLite file, one :class:`Store` object.

The parts live in their own modules (connection and errors in ``base``, athletes,
trials and raw samples, sessions, calibrations and tokens in ``admin``); :class:`Store`
combines them. See docs/storage.md for the schema, soft delete and purge.
"""

from __future__ import annotations

from station.storage.admin import AdminMixin
from station.storage.sessions import SessionsMixin


class Store(SessionsMixin, AdminMixin):
    """``Store(path)`` opens (or creates) the database, enables WAL and foreign keys,
    and runs pending migrations. Thread-safe; call :meth:`close` when done."""
