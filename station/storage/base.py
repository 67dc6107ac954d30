"""The database connection shared by the store's parts: opening, locking, error mapping.

One writing ``sqlite3`` connection (``check_same_thread=False``) guarded by a
re-entrant lock, so the API's worker threads, the recorder's writer thread and the
analysis thread can all use one :class:`~station.storage.Store`. Reads from a thread
that is not writing use a small pool of read-only connections instead: in WAL mode
readers see the last committed state and never wait for the writer, so the API's
lists do not queue behind the recorder's sample chunks (nor behind each other).
SQLite errors that mean
"the disk or the file is the problem" become :class:`StorageError` with a message
telling the user what to do; they never surface as tracebacks.
"""

from __future__ import annotations

import json
import math
import queue
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from station.core.errors import InputError, StorageError
from station.storage.migrations import run_migrations


def now_iso() -> str:
    """Current time as an ISO-8601 UTC string (millisecond precision)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _plain(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None (SQLite's JSON rejects NaN)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


#: Control characters (C0, DEL, C1) and the Unicode line/paragraph separators: never in a
#: stored text; a NUL cut names short in SQLite's C API and the others break CSV exports,
#: logs and the kiosk's layout. Newline and tab are allowed where a text may have lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def check_text(field: str, value: str, *, multiline: bool = False) -> str:
    """``value`` if it holds no control character (``multiline``: newlines and tabs are
    allowed), else :class:`InputError` naming ``field`` and the first one."""
    m = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value)
    if m is not None:
        raise InputError(
            f"{field} must not contain control characters; found U+{ord(m.group()):04X} at position {m.start() + 1}",
            hint="Remove the invisible character (it often comes from a copy and paste).",
        )
    return value


def to_json(obj: Any) -> str:
    return json.dumps(_plain(obj), allow_nan=False, separators=(",", ":"))


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def storage_error(exc: sqlite3.Error, path: Path) -> StorageError:
    """Translate a SQLite error into a StorageError that says what to do."""
    msg = str(exc)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return StorageError(
            f"the database {path} is locked by another process",
            hint="Close other programs using it (a second station, a sqlite3 shell, a backup in progress) and retry.",
        )
    if "disk is full" in low:  # SQLite says "database or disk is full"
        return StorageError(
            f"the disk holding {path} is full",
            hint="Free disk space (export and purge old trials, delete old videos) and retry.",
        )
    if "disk i/o" in low and isinstance(exc, sqlite3.OperationalError):
        # A failed write (the disk or a file-size/quota limit full, or a failing card):
        # SQLite rolled the transaction back and the file is intact - no restore needed.
        return StorageError(
            f"could not write to the disk holding {path} ({msg}): it may be full or failing",
            hint="Free disk space (export and purge old trials, delete old videos) and retry; "
            "if it repeats with free space, check the storage card.",
        )
    if "malformed" in low or "not a database" in low or "disk i/o" in low or "corrupt" in low:
        return StorageError(
            f"the database {path} is damaged or unreadable ({msg})",
            hint="Stop the station and restore the latest backup (see docs/storage.md).",
        )
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        return StorageError(
            f"cannot write the database {path} ({msg})",
            hint="Check that the data directory exists and the station user may write to it.",
        )
    return StorageError(f"database error on {path}: {msg}", hint="Retry; if it persists, check the logs and the disk.")


#: Idle read-only connections kept open (the API's thread pool rarely has more
#: requests reading at the same instant on 2 cores); extra ones are closed after use.
MAX_IDLE_READERS = 8


class StoreBase:
    """Connection, lock and transaction helpers; the table-specific parts build on it."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._busy_timeout_s = busy_timeout_s
        self._idle_readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the data directory {self.path.parent}: {exc.strerror}",
                hint="Set STATION_DATA_DIR to a writable directory.",
            ) from None
        try:
            conn = sqlite3.connect(str(self.path), timeout=busy_timeout_s, check_same_thread=False)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from None
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self.conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            self.db.enable_wal()
            # FULL in WAL mode fsyncs the log at every commit: a power cut then loses
            # only what was not yet committed (the recorder commits every second).
            conn.execute("PRAGMA synchronous = FULL")
            self.migrations_applied = run_migrations(self.db)
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(exc, self.path) from None
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.conn.close()
            self._close_idle_readers()

    def _close_idle_readers(self) -> None:
        while True:
            try:
                self._idle_readers.get_nowait().close()
            except queue.Empty:
                break

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------
    def _open_reader(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path), timeout=self._busy_timeout_s, check_same_thread=False, isolation_level=None
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        conn.execute("PRAGMA query_only = ON")  # a reader that tries to write fails loudly
        return conn

    def _writer_for_read(self) -> bool:
        """Whether a read must use the writing connection (under the lock) rather than
        a pooled reader: when this thread holds the lock (it may be inside its own
        transaction and must see its own writes), or when the writing connection has a
        transaction open that nobody holds the lock for (statements run directly on
        ``store.conn`` open one implicitly; only that connection sees them). A read
        never waits for another thread's write transaction: it reads the last
        committed state from the pool instead."""
        owned = getattr(self._lock, "_is_owned", None)
        if self._closed or owned is None or owned():
            return True
        if not self.conn.in_transaction:
            return False
        if not self._lock.acquire(blocking=False):
            return False  # another thread is writing: its changes are not committed yet
        try:
            return self.conn.in_transaction
        finally:
            self._lock.release()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads, with error mapping: a pooled read-only one, or the
        writing connection under the lock (see :meth:`_writer_for_read`)."""
        if self._writer_for_read():
            with self._lock:
                try:
                    yield self.conn
                except sqlite3.Error as exc:
                    raise storage_error(exc, self.path) from None
            return
        try:
            try:
                conn = self._idle_readers.get_nowait()
            except queue.Empty:
                conn = self._open_reader()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from None
        try:
            yield conn
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from None
        finally:
            # Keep a few for the next reads; a closed store keeps none.
            if self._closed or self._idle_readers.qsize() >= MAX_IDLE_READERS:
                conn.close()
            else:
                self._idle_readers.put(conn)
                if self._closed:  # close() ran meanwhile: do not leave this one open
                    self._close_idle_readers()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all or nothing (an error rolls everything back)."""
        with self._lock:
            try:
                if self.conn.in_transaction:  # nested: a savepoint
                    with self.db.atomic():
                        yield self.conn
                else:
                    # IMMEDIATE takes the write lock first, waiting up to busy_timeout for
                    # another process to let go; a deferred BEGIN that reads and then writes
                    # gets SQLITE_BUSY at once without waiting (the lock would fail a recording).
                    self.conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self.conn
                    except BaseException:
                        if self.conn.in_transaction:
                            self.conn.rollback()
                        raise
                    try:
                        self.conn.execute("COMMIT")
                    except BaseException:
                        if self.conn.in_transaction:
                            self.conn.rollback()
                        raise
            except sqlite3.IntegrityError as exc:
                raise storage_error(exc, self.path) from None
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path) from None

    def _rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        with self._read() as conn:
            cur = conn.execute(sql, params)
            keys = [d[0] for d in cur.description]
            return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]

    def _one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _audit(self, conn: sqlite3.Connection, actor: str | None, action: str, target: str) -> None:
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, target) VALUES (?, ?, ?, ?)",
            (now_iso(), actor or "unknown", action, target),
        )

    def log_change(self, *, actor: str | None, action: str, target: str) -> None:
        """Record who changed what (the API calls this for every data-changing request)."""
        with self._tx() as conn:
            self._audit(conn, actor, action, target)

    def list_audit(self, *, limit: int = 100, target: str | None = None) -> list[dict[str, Any]]:
        if target is None:
            return self._rows("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        return self._rows(
            "SELECT * FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?", (target, limit)
        )

    def vacuum(self) -> None:
        """Rewrite the file without free pages (after a purge: erased data leaves the disk)."""
        with self._lock, self._read() as conn:  # the lock: VACUUM writes, on the writing connection
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def schema_version(self) -> int:
        row = self._one("SELECT max(version) AS v FROM migrations")
        return int(row["v"]) if row and row["v"] is not None else 0

    def ping(self) -> bool:
        """Cheap health check for /healthz."""
        try:
            self._one("SELECT 1 AS ok")
            return True
        except StorageError:
            return False
