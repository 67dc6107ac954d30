"""Schema migrations, registered in code and recorded in the database.

Each migration has a version number, a name and a function that changes the
schema. :func:`run_migrations` applies the ones not yet recorded in the
``migrations`` table, each in its own transaction, in version order, at start-up.
A database written by a newer station (a version this code does not know) is
refused rather than half-understood.

To change the schema: add a new ``@migration(N, "what it does")`` function below;
never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from station.core.errors import StorageError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]


MIGRATIONS: list[Migration] = []


def migration(version: int, name: str) -> Callable[[Callable[[sqlite_utils.Database], None]], Callable[[sqlite_utils.Database], None]]:
    """Register a schema change as migration ``version``."""

    def register(fn: Callable[[sqlite_utils.Database], None]) -> Callable[[sqlite_utils.Database], None]:
        if any(m.version == version for m in MIGRATIONS):
            raise RuntimeError(f"migration {version} registered twice")
        MIGRATIONS.append(Migration(version, name, fn))
        MIGRATIONS.sort(key=lambda m: m.version)
        return fn

    return register


def _script(db: sqlite_utils.Database, sql: str) -> None:
    # executescript() would COMMIT the migration's transaction; run statement by statement.
    for stmt in sql.split(";"):
        if stmt.strip():
            db.execute(stmt)


@migration(1, "initial schema: athletes, trials, events, samples, calibrations, tokens, audit, videos")
def _initial(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
        CREATE TABLE athletes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL CHECK (length(trim(name)) > 0),
            birth_year INTEGER,
            body_mass_kg REAL,
            dominant_leg TEXT CHECK (dominant_leg IN ('left', 'right')),
            notes TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT,
            deleted_by TEXT
        );
        CREATE INDEX athletes_name ON athletes (name COLLATE NOCASE);

        CREATE TABLE calibrations (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            created_by TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('calibration', 'rezero', 'camera_roll')),
            active INTEGER NOT NULL DEFAULT 0,
            data TEXT NOT NULL,
            verification TEXT
        );
        CREATE INDEX calibrations_kind_active ON calibrations (kind, active);

        CREATE TABLE trials (
            id INTEGER PRIMARY KEY,
            athlete_id INTEGER NOT NULL REFERENCES athletes (id) ON DELETE CASCADE,
            protocol TEXT NOT NULL,
            leg TEXT CHECK (leg IN ('left', 'right')),
            options TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL CHECK (status IN
                ('recording', 'analysing', 'saved', 'aborted', 'failed', 'interrupted')),
            started_at TEXT NOT NULL,
            ended_at TEXT,
            sample_rate_hz REAL,
            calibration_id INTEGER REFERENCES calibrations (id),
            software_version TEXT NOT NULL,
            n_samples INTEGER NOT NULL DEFAULT 0,
            metrics TEXT,
            message TEXT,
            deleted_at TEXT,
            deleted_by TEXT
        );
        CREATE INDEX trials_athlete_started ON trials (athlete_id, started_at);
        CREATE INDEX trials_started ON trials (started_at);
        CREATE INDEX trials_protocol_started ON trials (protocol, started_at);

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            t_s REAL,
            data TEXT NOT NULL
        );
        CREATE INDEX events_trial ON events (trial_id);

        CREATE TABLE sample_chunks (
            id INTEGER PRIMARY KEY,
            trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
            chunk INTEGER NOT NULL,
            n INTEGER NOT NULL,
            first_t_ns INTEGER,
            last_t_ns INTEGER,
            data BLOB NOT NULL,
            sha256 TEXT NOT NULL,
            UNIQUE (trial_id, chunk)
        );

        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('coach', 'admin')),
            secret_sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked_at IS NULL;

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL
        );

        CREATE TABLE videos (
            trial_id INTEGER PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            fps REAL,
            n_frames INTEGER,
            size_bytes INTEGER,
            timestamps_path TEXT,
            created_at TEXT NOT NULL
        )
        """,
    )


@migration(2, "trials.zero_offsets: the zero (counts per channel) the recording was made with")
def _zero_offsets(db: sqlite_utils.Database) -> None:
    # Stored so a trial can be re-analysed under another calibration's gains while
    # keeping the zero that was valid on the day (the zero drifts; the gains hardly).
    db.execute("ALTER TABLE trials ADD COLUMN zero_offsets TEXT")


@migration(3, "partial indexes of the trials not deleted, for the list, its count and the history")
def _live_trial_indexes(db: sqlite_utils.Database) -> None:
    # Every list and history query filters on "deleted_at IS NULL", a column the old
    # indexes lack: SQLite then read each candidate row (metrics JSON included) to test
    # it, also for rows skipped by OFFSET and for the count. These partial indexes hold
    # only live trials, so the filter, the order (newest first, ties by id), the
    # offset and count(*) are answered from the index alone.
    _script(
        db,
        """
        CREATE INDEX trials_live_started ON trials (started_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX trials_live_athlete ON trials (athlete_id, started_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX trials_live_protocol ON trials (protocol, started_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX trials_live_leg ON trials (leg, started_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX trials_live_status ON trials (status, started_at, id) WHERE deleted_at IS NULL
        """,
    )



@migration(4, "sessions: the trials of one visit; trials.session_id (existing trials: none)")
def _sessions(db: sqlite_utils.Database) -> None:
    # A session groups the trials of one visit (a hip screen: each leg's stance and
    # squats). Trials keep working on their own: session_id is nullable, and every
    # trial stored before this migration belongs to no session. Deleting a session row
    # (purge) leaves its trials, detached (ON DELETE SET NULL).
    _script(
        db,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            athlete_id INTEGER NOT NULL REFERENCES athletes (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (length(trim(kind)) > 0),
            notes TEXT,
            started_at TEXT NOT NULL,
            created_by TEXT,
            deleted_at TEXT,
            deleted_by TEXT
        );
        CREATE INDEX sessions_live_athlete ON sessions (athlete_id, started_at, id) WHERE deleted_at IS NULL;
        ALTER TABLE trials ADD COLUMN session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL;
        CREATE INDEX trials_session ON trials (session_id, started_at, id) WHERE session_id IS NOT NULL
        """,
    )

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def applied_versions(db: sqlite_utils.Database) -> list[int]:
    if not db["migrations"].exists():
        return []
    return [r[0] for r in db.execute("SELECT version FROM migrations ORDER BY version").fetchall()]


def run_migrations(db: sqlite_utils.Database, migrations: list[Migration] | None = None) -> list[int]:
    """Apply pending migrations; return the versions applied now."""
    known = migrations if migrations is not None else MIGRATIONS
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = set(applied_versions(db))
    newest_known = max((m.version for m in known), default=0)
    if done and max(done) > newest_known:
        raise StorageError(
            f"the database has schema version {max(done)}, newer than this station understands "
            f"({newest_known})",
            hint="Update the station software, or restore a backup made by this version.",
        )
    applied: list[int] = []
    for m in sorted(known, key=lambda m: m.version):
        if m.version in done:
            continue
        with db.atomic():
            m.apply(db)
            db.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [m.version, m.name, _now()],
            )
        applied.append(m.version)
    return applied
