"""Online backup and restore of the station's SQLite database.

Backups use SQLite's online backup API (https://www.sqlite.org/backup.html, exposed as
:meth:`sqlite3.Connection.backup`), which copies a consistent snapshot page by page while
the service keeps writing: a plain file copy of a live WAL database can miss the
``-wal`` file or tear a page. The copy is taken inside one read transaction on the
source, so in WAL mode it is the snapshot of the moment the backup started, the writer
is never blocked, and the copy does not restart when the service commits (SQLite
restarts a step-wise backup only when the source changes under a *new* read
transaction). Nothing here depends on the schema.

Each copy is checked with ``PRAGMA integrity_check``, converted to a single
self-contained file (``journal_mode=DELETE``), fsync'ed and only then renamed to its
final name ``station-NNNNNN-YYYYmmddTHHMMSSZ.sqlite3``, so a power cut leaves either a
whole backup or a ``.partial`` file that the next run removes. ``NNNNNN`` is a sequence
number, one more than the highest in the folder; the time (UTC, from the clock) is only
a label for people and for grouping by day.

Rotation walks the backups newest first *by sequence number* and keeps the first one of
each day label it meets, for ``keep`` different days. Ordering by the wall clock instead
would let a clock jump delete good backups: a backup made with the clock set back
would look oldest and be rotated away at once, and after a clock that ran a year ahead
is corrected, every correctly dated backup would look older than the wrong ones. The
backup just made has the highest number, so it is never deleted. Names from before the
sequence numbers (``station-YYYYmmddTHHMMSSZ[-N].sqlite3``) count as older than every
numbered backup.

Restore (``station restore FILE``) checks the backup, saves the current database as
``pre-restore-<time>.sqlite3`` beside the backups (not rotated: remove it by hand), then
writes the backup into the live database file through the same backup API, which keeps
SQLite's journal files consistent (replacing the file on disk would not).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from station.core.errors import ConflictError, InputError, NotFoundError, StorageError

#: ``progress(done_pages, total_pages)`` after each step of a backup or restore.
ProgressFn = Callable[[int, int], None]

BACKUP_DIR_NAME = "backups"
#: ``station-<sequence>-<UTC time>.sqlite3``; the older form without the sequence number
#: (``station-<UTC time>[-<n>].sqlite3``) is still recognised, as older than any numbered one.
_BACKUP_NAME = re.compile(r"^station-(?:(\d{6,})-)?(\d{8})T(\d{6})Z(?:-(\d+))?\.sqlite3$")
_SQLITE_HEADER = b"SQLite format 3\x00"
# Pages copied, and flushed to disk, per step: 1 MB with 4 KiB pages. Small flushes keep
# the service's commits fast during a backup (bench/bench_pi.py: worst commit about the
# same as without a backup; with 4 MB steps it doubled, with one final fsync it was 10x).
PAGES_PER_STEP = 256


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    pages: int
    seconds: float
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreResult:
    db_path: Path
    size_bytes: int
    pages: int
    seconds: float
    previous_copy: Path | None


def default_backup_dir(data_dir: Path) -> Path:
    return Path(data_dir) / BACKUP_DIR_NAME


def list_backups(backup_dir: Path) -> list[Path]:
    """Backups made by :func:`backup_database` in ``backup_dir``, oldest first."""
    if not Path(backup_dir).is_dir():
        return []
    found = [p for p in Path(backup_dir).iterdir() if p.is_file() and _BACKUP_NAME.match(p.name)]
    return sorted(found, key=_backup_sort_key)


def _backup_sort_key(path: Path) -> tuple[int, str, str, int]:
    """(sequence, day, time, same-second counter): the sequence number first, so the order
    is the order the backups were made in, whatever the clock said."""
    m = _BACKUP_NAME.match(path.name)
    assert m is not None
    return int(m.group(1) or 0), m.group(2), m.group(3), int(m.group(4) or 0)


def _day_of(path: Path) -> str:
    return _backup_sort_key(path)[1]


def rotate_backups(backup_dir: Path, *, keep: int) -> list[Path]:
    """Keep the newest backup (by sequence number) of each of ``keep`` days; delete the rest.

    Newest first by sequence number, the first backup met of each day label is kept
    until ``keep`` days are kept; the newest backup is therefore always kept, whatever
    the clock said when it or the others were made (see the module docstring). Only
    files named like our backups are touched; ``pre-restore-*`` copies and anything else
    in the directory are left alone. Returns the deleted paths.
    """
    if keep < 1:
        raise InputError(f"keep must be at least 1, got {keep}")
    kept_days: set[str] = set()
    removed = []
    for path in reversed(list_backups(backup_dir)):  # newest first
        day = _day_of(path)
        if day not in kept_days and len(kept_days) < keep:
            kept_days.add(day)
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return sorted(removed, key=_backup_sort_key)


def check_integrity(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` is an SQLite database that passes
    ``PRAGMA integrity_check``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file", hint="give the path of a backup file.")
    with open(path, "rb") as fh:
        header = fh.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise InputError(
            f"{path} is not an SQLite database (its first bytes are {header[:16]!r})",
            hint="pick a station-*.sqlite3 file from the backups folder.",
        )
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path} is damaged: {exc}", hint="use an older backup.") from None
    if rows != ["ok"]:
        raise InputError(
            f"{path} failed the integrity check: {'; '.join(rows[:5])}", hint="use an older backup."
        )


def _new_backup_path(backup_dir: Path, now: datetime) -> Path:
    """The next backup's name: one more than the highest sequence number in the folder
    (called under the folder's lock, so two backups never share a number)."""
    existing = list_backups(backup_dir)
    seq = (_backup_sort_key(existing[-1])[0] if existing else 0) + 1
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return backup_dir / f"station-{seq:06d}-{stamp}.sqlite3"


def _db_bytes(db_path: Path) -> int:
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _check_free_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed * 1.1 + 1_000_000:
        raise StorageError(
            f"not enough free space in {directory}: {free / 1e6:.1f} MB free, "
            f"about {needed / 1e6:.1f} MB needed",
            hint="delete old backups or videos, or back up to another disk with --dest.",
        )


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _match_owner(path: Path, like: Path) -> None:
    """When run as root (``sudo station backup``), give files the data directory's owner,
    so the service user can still read, write and rotate them."""
    if os.geteuid() != 0 or not path.exists():
        return
    st = like.stat()
    os.chown(path, st.st_uid, st.st_gid)


def _copy(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    progress: ProgressFn | None,
    *,
    flush: Callable[[], None] | None = None,
) -> int:
    """Copy ``src`` into ``dst`` with the backup API; returns the page count.
    ``flush`` runs after each step."""
    total = 0

    def step(status: int, remaining: int, pages: int) -> None:
        nonlocal total
        total = pages
        if flush is not None:
            flush()
        if progress is not None:
            progress(pages - remaining, pages)

    src.backup(dst, pages=PAGES_PER_STEP, progress=step, sleep=0.05)
    if total == 0:  # the progress callback is not called for an empty database
        total = int(dst.execute("PRAGMA page_count").fetchone()[0])
    return total


def _snapshot_copy(db_path: Path, dest: Path, progress: ProgressFn | None) -> int:
    """Copy the live database into the new file ``dest`` as one consistent snapshot."""
    src = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    try:
        # One read transaction for the whole copy: a fixed snapshot that does not restart
        # when the service commits between steps (see the module docstring).
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        dst = sqlite3.connect(dest, isolation_level=None)
        fd = -1
        try:
            # The copy is a new file that is thrown away if anything fails, so it needs no
            # journal and no syncs of its own. Instead it is flushed to disk after every
            # step: one fsync of the whole copy at the end stalls the service's own
            # commits for a quarter of a second (bench/bench_pi.py measures it).
            dst.execute("PRAGMA journal_mode=OFF")
            dst.execute("PRAGMA synchronous=OFF")
            fd = os.open(dest, os.O_RDONLY)
            pages = _copy(src, dst, progress, flush=lambda: os.fdatasync(fd))
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            if fd >= 0:
                os.close(fd)
            dst.close()
        src.execute("COMMIT")
    finally:
        src.close()
    return pages


def backup_database(
    db_path: Path,
    backup_dir: Path,
    *,
    keep: int | None = 14,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
) -> BackupResult:
    """Copy the live database ``db_path`` into ``backup_dir`` and rotate old backups.

    Parameters
    ----------
    db_path
        The station's database (``<data_dir>/station.sqlite3``); it may be in use.
    backup_dir
        Where backups go; created if missing.
    keep
        Days of backups to keep (see :func:`rotate_backups`); ``None`` keeps all.
    progress
        Called with ``(done_pages, total_pages)`` after each step.
    now
        Time used for the file name (default: now).

    Raises
    ------
    NotFoundError
        No database at ``db_path``.
    StorageError
        Not enough space, the disk failed, or the copy failed its integrity check.
    """
    db_path = Path(db_path)
    backup_dir = Path(backup_dir)
    if keep is not None and keep < 1:
        raise InputError(f"keep must be at least 1, got {keep}")
    if not db_path.is_file():
        raise NotFoundError(
            f"there is no database at {db_path}",
            hint="check --data-dir (or STATION_DATA_DIR); the service creates the database when it first starts.",
        )
    t0 = time.perf_counter()
    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the backup folder {backup_dir}: {exc}") from None
    _check_free_space(backup_dir, _db_bytes(db_path))
    with _exclusive(backup_dir / ".backup.lock"):
        return _backup_locked(db_path, backup_dir, keep=keep, progress=progress, now=now, t0=t0)


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One backup at a time per folder (the nightly timer and a manual run could meet)."""
    with open(lock_file, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError(
                f"another backup into {lock_file.parent} is running", hint="wait for it to finish."
            ) from None
        yield


def _backup_locked(
    db_path: Path,
    backup_dir: Path,
    *,
    keep: int | None,
    progress: ProgressFn | None,
    now: datetime | None,
    t0: float,
) -> BackupResult:
    for stale in backup_dir.glob("*.partial"):  # left by a power cut during an earlier backup
        stale.unlink(missing_ok=True)
    final = _new_backup_path(backup_dir, now or datetime.now(UTC))
    partial = final.with_name(final.name + ".partial")
    try:
        pages = _snapshot_copy(db_path, partial, progress)
        try:
            check_integrity(partial)
        except InputError as exc:
            raise StorageError(
                f"the backup copy failed its integrity check: {exc.message}",
                hint="the database itself may be damaged: run `sqlite3 station.sqlite3 'PRAGMA integrity_check'`.",
            ) from None
        _fsync_file(partial)
        os.replace(partial, final)
        _fsync_dir(backup_dir)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"backup of {db_path} failed: {exc}", hint="see the message; then try again.") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _match_owner(final, backup_dir.parent if backup_dir.parent.exists() else backup_dir)
    size = final.stat().st_size
    removed = rotate_backups(backup_dir, keep=keep) if keep is not None else []
    assert final not in removed  # the newest backup is never rotated away
    return BackupResult(
        path=final,
        size_bytes=size,
        pages=pages,
        seconds=time.perf_counter() - t0,
        removed=removed,
    )


def restore_database(
    backup_file: Path,
    db_path: Path,
    *,
    safety_dir: Path | None = None,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
) -> RestoreResult:
    """Replace the contents of ``db_path`` with ``backup_file``.

    The caller makes sure the service is stopped (``station restore`` does). The current
    database, if any, is first saved as ``pre-restore-<time>.sqlite3`` in ``safety_dir``
    (default: the ``backups`` folder beside it), so a wrong restore can be undone by
    restoring that file.

    Raises
    ------
    InputError
        ``backup_file`` is missing, not an SQLite database, or damaged.
    StorageError
        Writing the database failed.
    """
    backup_file = Path(backup_file)
    db_path = Path(db_path)
    check_integrity(backup_file)
    if backup_file.resolve() == db_path.resolve():
        raise InputError(f"{backup_file} is the live database itself", hint="pick a file from the backups folder.")
    t0 = time.perf_counter()
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {db_path.parent}: {exc}") from None
    _check_free_space(db_path.parent, backup_file.stat().st_size * 2)
    previous: Path | None = None
    existed = db_path.is_file()
    if existed:
        safety = Path(safety_dir) if safety_dir is not None else default_backup_dir(db_path.parent)
        safety.mkdir(parents=True, exist_ok=True)
        stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        previous = safety / f"pre-restore-{stamp}.sqlite3"
        try:
            _snapshot_copy(db_path, previous, None)
        except sqlite3.Error as exc:
            raise StorageError(
                f"could not save the current database before restoring: {exc}",
                hint="nothing was changed; see the message, then try again.",
            ) from None
    try:
        src = sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        try:
            dst = sqlite3.connect(db_path, isolation_level=None, timeout=30)
            try:
                mode = str(dst.execute("PRAGMA journal_mode").fetchone()[0]) if existed else "wal"
                if mode == "wal":
                    # A WAL destination cannot change page size during a backup, so leave
                    # WAL for the copy when we can (not while another connection has the
                    # file open: --force with the service running) and set it again after.
                    with contextlib.suppress(sqlite3.OperationalError):
                        dst.execute("PRAGMA journal_mode=DELETE")
                pages = _copy(src, dst, progress)
                if str(dst.execute("PRAGMA journal_mode").fetchone()[0]) != mode:
                    dst.execute(f"PRAGMA journal_mode={mode}")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StorageError(
            f"restore into {db_path} failed: {exc}",
            hint=f"the database from before is saved as {previous}." if previous else None,
        ) from None
    try:
        check_integrity(db_path)
    except InputError as exc:
        raise StorageError(f"the restored database failed its integrity check: {exc.message}") from None
    for suffix in ("", "-wal", "-shm"):
        _match_owner(db_path.with_name(db_path.name + suffix), db_path.parent)
    if previous is not None:
        _match_owner(previous, db_path.parent)
    return RestoreResult(
        db_path=db_path,
        size_bytes=db_path.stat().st_size,
        pages=pages,
        seconds=time.perf_counter() - t0,
        previous_copy=previous,
    )
