"""Trials: metadata, raw sample chunks, metrics, events and video references."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from hardware.base import N_CHANNELS
from station import __version__
from station.core.errors import ConflictError, InputError, NotFoundError
from station.core.protocols import check_protocol_leg
from station.storage import samples as codec
from station.storage.athletes import AthletesMixin, _decode_trial, check_page
from station.storage.base import from_json, now_iso, to_json

STATUSES = ("recording", "analysing", "saved", "aborted", "failed", "interrupted")
TERMINAL = ("saved", "aborted", "failed", "interrupted")
#: Which status may follow which (finish_trial); terminal states are final.
TRANSITIONS = {
    "recording": {"analysing", "saved", "aborted", "failed", "interrupted"},
    "analysing": {"saved", "failed", "aborted", "interrupted"},
}
MAX_OPTIONS_JSON = 10_000
_METRIC_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
#: Columns of a trial in lists (metrics can be large; get_trial returns them).
_LIST_COLUMNS = (
    "t.id, t.athlete_id, a.name AS athlete_name, t.protocol, t.leg, t.options, t.status, t.started_at,"
    " t.ended_at, t.sample_rate_hz, t.calibration_id, t.software_version, t.n_samples, t.message"
)


class TrialsMixin(AthletesMixin):
    # -- trials -----------------------------------------------------------------------
    def create_trial(
        self,
        *,
        athlete_id: int,
        protocol: str,
        leg: str | None = None,
        options: dict[str, Any] | None = None,
        sample_rate_hz: float,
        calibration_id: int | None = None,
        software_version: str = __version__,
        zero_offsets: list[float] | tuple[float, ...] | None = None,
        actor: str | None = None,
        session_id: int | None = None,
    ) -> dict[str, Any]:
        """Open a trial in status ``recording``; validates everything before writing.

        ``zero_offsets`` are the per-channel zero (counts) the recording was made with;
        ``session_id`` a session of the same athlete the trial is part of (None: none).
        """
        check_protocol_leg(protocol, leg)
        options = options or {}
        if not isinstance(options, dict):
            raise InputError("options must be an object")
        options_json = to_json(options)
        if len(options_json) > MAX_OPTIONS_JSON:
            raise InputError(f"options are larger than {MAX_OPTIONS_JSON} bytes")
        if isinstance(sample_rate_hz, bool) or not isinstance(sample_rate_hz, int | float) or not 0 < sample_rate_hz <= 10_000:
            raise InputError(f"sample_rate_hz must be between 0 and 10000, got {sample_rate_hz!r}")
        zero_json = None
        if zero_offsets is not None:
            if len(zero_offsets) != N_CHANNELS or not all(np.isfinite(v) for v in zero_offsets):
                raise InputError(f"zero_offsets must be {N_CHANNELS} finite numbers")
            zero_json = to_json([float(v) for v in zero_offsets])
        self.get_athlete(athlete_id)
        if calibration_id is not None and self._one("SELECT 1 FROM calibrations WHERE id = ?", (calibration_id,)) is None:
            raise NotFoundError(f"calibration {calibration_id} does not exist")
        if session_id is not None:
            self.check_session_of(session_id, athlete_id)
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO trials (athlete_id, protocol, leg, options, status, started_at, sample_rate_hz,"
                " calibration_id, software_version, zero_offsets, session_id)"
                " VALUES (?, ?, ?, ?, 'recording', ?, ?, ?, ?, ?, ?)",
                (athlete_id, protocol, leg, options_json, now_iso(), float(sample_rate_hz), calibration_id,
                 software_version, zero_json, session_id),
            )
            trial_id = int(cur.lastrowid or 0)
            if actor is not None:
                self._audit(conn, actor, "record", f"trial {trial_id}")
        return self.get_trial(trial_id)

    def check_session_of(self, session_id: int, athlete_id: int) -> None:
        """:class:`NotFoundError` unless ``session_id`` is a live session; :class:`ConflictError`
        when it is another athlete's (a trial joins only its own athlete's session)."""
        row = self._one("SELECT athlete_id FROM sessions WHERE id = ? AND deleted_at IS NULL", (session_id,))
        if row is None:
            raise NotFoundError(f"session {session_id} does not exist")
        if row["athlete_id"] != athlete_id:
            raise ConflictError(f"session {session_id} is athlete {row['athlete_id']}'s, not athlete {athlete_id}'s")

    def _trial_row(self, trial_id: int, *, include_deleted: bool = False) -> dict[str, Any]:
        row = self._one("SELECT * FROM trials WHERE id = ?", (trial_id,))
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            raise NotFoundError(f"trial {trial_id} does not exist")
        return row

    def get_trial(self, trial_id: int, *, include_deleted: bool = False) -> dict[str, Any]:
        """One trial with its metrics, events and video reference."""
        row = _decode_trial(self._trial_row(trial_id, include_deleted=include_deleted))
        ath = self._one("SELECT name FROM athletes WHERE id = ?", (row["athlete_id"],))
        row["athlete_name"] = ath["name"] if ath else None
        row["events"] = [from_json(e["data"]) for e in self._rows(
            "SELECT data FROM events WHERE trial_id = ? ORDER BY id", (trial_id,))]
        row["video"] = self.get_video(trial_id)
        return row

    def list_trials(
        self,
        *,
        athlete_id: int | None = None,
        protocol: str | None = None,
        leg: str | None = None,
        since: str | None = None,
        until: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Trials newest first (without metrics); ``since``/``until`` are ISO dates or times (UTC)."""
        check_page(limit, offset)
        where = ["t.deleted_at IS NULL"]
        params: list[Any] = []
        for col, val in (("t.athlete_id", athlete_id), ("t.protocol", protocol), ("t.leg", leg), ("t.status", status)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        if status is not None and status not in STATUSES:
            raise InputError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        if since is not None:
            where.append("t.started_at >= ?")
            params.append(iso_bound(since, "since"))
        if until is not None:
            where.append("t.started_at < ?")
            params.append(iso_bound(until, "until", end=True))
        w = " AND ".join(where)
        total = self._one(f"SELECT count(*) AS n FROM trials t WHERE {w}", params)
        # The page's ids come from the partial indexes alone (migration 3): rows skipped
        # by OFFSET are never read; only the page's own rows are, for their columns.
        rows = self._rows(
            f"SELECT {_LIST_COLUMNS} FROM (SELECT t.id FROM trials t WHERE {w}"
            " ORDER BY t.started_at DESC, t.id DESC LIMIT ? OFFSET ?) AS page"
            " JOIN trials t ON t.id = page.id JOIN athletes a ON a.id = t.athlete_id"
            " ORDER BY t.started_at DESC, t.id DESC",
            [*params, limit, offset],
        )
        return [_decode_trial(r) for r in rows], int(total["n"]) if total else 0

    def finish_trial(
        self,
        trial_id: int,
        *,
        status: str,
        metrics: dict[str, Any] | None = None,
        events: list[dict[str, Any]] | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Move a trial on (recording -> analysing -> saved, or aborted/failed/interrupted)."""
        if status not in STATUSES:
            raise InputError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        with self._lock:
            row = self._trial_row(trial_id, include_deleted=True)
            allowed = TRANSITIONS.get(row["status"], set())
            if status not in allowed:
                raise ConflictError(f"trial {trial_id} is {row['status']}; it cannot become {status}")
            with self._tx() as conn:
                ended = now_iso() if status in TERMINAL else None
                conn.execute(
                    "UPDATE trials SET status = ?, ended_at = coalesce(?, ended_at),"
                    " message = coalesce(?, message) WHERE id = ?",
                    (status, ended, message, trial_id),
                )
                if metrics is not None or events is not None:
                    self._write_results(conn, trial_id, metrics, events)
        return self.get_trial(trial_id, include_deleted=True)

    def set_trial_metrics(
        self,
        trial_id: int,
        metrics: dict[str, Any] | None,
        events: list[dict[str, Any]] | None = None,
        *,
        calibration_id: int | None = None,
    ) -> dict[str, Any]:
        """Replace a trial's metrics and events (e.g. after recompute under another calibration)."""
        self._trial_row(trial_id, include_deleted=True)
        if calibration_id is not None and self._one("SELECT 1 FROM calibrations WHERE id = ?", (calibration_id,)) is None:
            raise NotFoundError(f"calibration {calibration_id} does not exist")
        with self._tx() as conn:
            self._write_results(conn, trial_id, metrics, events)
            if calibration_id is not None:
                conn.execute("UPDATE trials SET calibration_id = ? WHERE id = ?", (calibration_id, trial_id))
        return self.get_trial(trial_id, include_deleted=True)

    def _write_results(self, conn: Any, trial_id: int, metrics: dict[str, Any] | None, events: list[dict[str, Any]] | None) -> None:
        if metrics is not None:
            if not isinstance(metrics, dict):
                raise InputError("metrics must be an object")
            conn.execute("UPDATE trials SET metrics = ? WHERE id = ?", (to_json(metrics), trial_id))
        if events is not None:
            conn.execute("DELETE FROM events WHERE trial_id = ?", (trial_id,))
            for ev in events:
                if not isinstance(ev, dict):
                    raise InputError("each event must be an object")
                kind = str(ev.get("kind") or ev.get("type") or "event")
                t_s = ev.get("t_s", ev.get("on_s", ev.get("start_s")))
                t_val = float(t_s) if isinstance(t_s, int | float) and np.isfinite(t_s) else None
                conn.execute(
                    "INSERT INTO events (trial_id, kind, t_s, data) VALUES (?, ?, ?, ?)",
                    (trial_id, kind, t_val, to_json(ev)),
                )

    def mark_interrupted(self) -> list[int]:
        """At start-up: trials left ``recording``/``analysing`` by a crash become ``interrupted``.

        Their samples stay; they can be analysed later (Recorder.recompute).
        """
        with self._tx() as conn:
            rows = conn.execute(
                "UPDATE trials SET status = 'interrupted', ended_at = coalesce(ended_at, ?),"
                " message = 'the station stopped during this trial; samples up to the stop are kept'"
                " WHERE status IN ('recording', 'analysing') RETURNING id",
                (now_iso(),),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    def delete_trial(self, trial_id: int, *, actor: str | None) -> None:
        """Soft delete (see :meth:`purge_deleted`)."""
        row = self._trial_row(trial_id)
        if row["status"] in ("recording", "analysing"):
            raise ConflictError(f"trial {trial_id} is {row['status']}; stop or abort it before deleting")
        with self._tx() as conn:
            conn.execute("UPDATE trials SET deleted_at = ?, deleted_by = ? WHERE id = ?", (now_iso(), actor, trial_id))
            self._audit(conn, actor, "delete", f"trial {trial_id}")

    def metric_history(
        self, athlete_id: int, metric: str, *, protocol: str | None = None, leg: str | None = None
    ) -> list[dict[str, Any]]:
        """Values of one metric (dotted path into the metrics JSON), oldest first (by id)."""
        if not _METRIC_PATH.match(metric or ""):
            raise InputError(f"metric must be a dotted name such as sway.ml_rms_mm, got {metric!r}")
        self.get_athlete(athlete_id)
        where = "athlete_id = ? AND deleted_at IS NULL AND metrics IS NOT NULL"
        params: list[Any] = ["$." + metric, athlete_id]
        if protocol is not None:
            where += " AND protocol = ?"
            params.append(protocol)
        if leg is not None:
            where += " AND leg = ?"
            params.append(leg)
        rows = self._rows(
            f"SELECT id AS trial_id, started_at, protocol, leg, status, json_extract(metrics, ?) AS value"
            f" FROM trials WHERE {where} ORDER BY started_at, id",
            params,
        )
        # Oldest first by id, the order they were stored: a trial recorded while the wall
        # clock was wrong (a Pi booting in 1970) keeps its place, and "the last N of each
        # leg" (symmetry) stays the last recorded. The SQL order is the index's (same
        # order with a right clock), so this sort only moves trials with a wrong time.
        points = sorted((r for r in rows if r["value"] is not None), key=lambda r: int(r["trial_id"]))
        if not points:
            self._check_metric_known(metric)
        return points

    def _check_metric_known(self, metric: str) -> None:
        """Raise InputError when no stored trial has a number at ``metric`` (a misspelt or
        made-up path), listing the paths the stored metrics do have. The analysis defines
        the metrics, so the stored ones are the list; a station without analysed trials
        cannot tell and accepts any path (its answer is simply empty)."""
        known = self._one(
            "SELECT 1 AS ok FROM trials WHERE metrics IS NOT NULL AND deleted_at IS NULL"
            " AND json_type(metrics, ?) IN ('integer', 'real') LIMIT 1",
            ("$." + metric,),
        )
        if known is not None:
            return
        paths = [r["path"] for r in self._rows(
            "SELECT DISTINCT replace(substr(j.fullkey, 3), '\"', '') AS path FROM"
            " (SELECT metrics FROM trials WHERE metrics IS NOT NULL AND deleted_at IS NULL ORDER BY id DESC LIMIT 50) t,"
            " json_tree(t.metrics) j WHERE j.type IN ('integer', 'real') AND j.fullkey NOT LIKE '%[%'"
            " ORDER BY path"
        )]
        if paths:
            raise InputError(
                f"no trial has a metric {metric!r}; the stored metrics are: {', '.join(paths)}",
                hint="Pick one of the listed dotted paths (docs/analysis.md explains each).",
            )

    # -- raw samples -----------------------------------------------------------------
    def append_samples(self, trial_id: int, t_ns: np.ndarray, counts: np.ndarray, invalid: np.ndarray) -> int:
        """Store one chunk of raw frames in its own transaction; return the frames stored.

        Only a trial in status ``recording`` takes samples. The chunk is encoded
        losslessly (see :mod:`station.storage.samples`) with a SHA-256.
        """
        t, c, inv = codec.check_arrays(t_ns, counts, invalid)
        n = len(t)
        if n == 0:
            return 0
        blob, sha = codec.encode(t, c, inv)
        with self._lock:
            row = self._trial_row(trial_id, include_deleted=True)
            if row["status"] != "recording":
                raise ConflictError(f"trial {trial_id} is {row['status']}; it takes no more samples")
            with self._tx() as conn:
                nxt = conn.execute(
                    "SELECT coalesce(max(chunk), -1) + 1 FROM sample_chunks WHERE trial_id = ?", (trial_id,)
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO sample_chunks (trial_id, chunk, n, first_t_ns, last_t_ns, data, sha256)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (trial_id, nxt, n, int(t[0]), int(t[-1]), blob, sha),
                )
                conn.execute("UPDATE trials SET n_samples = n_samples + ? WHERE id = ?", (n, trial_id))
        return n

    def truncate_samples(self, trial_id: int, *, end_t_ns: int) -> int:
        """Drop the stored frames after ``end_t_ns`` (a trial whose end was found after some
        later frames were already written); return the frames dropped.

        One transaction: chunks wholly after the end go, the chunk holding the end is
        rewritten with its frames up to it, and ``n_samples`` follows.
        """
        with self._lock:
            row = self._trial_row(trial_id, include_deleted=True)
            if row["status"] != "recording":
                raise ConflictError(f"trial {trial_id} is {row['status']}; its samples are final")
            with self._tx() as conn:
                dropped = 0
                stale = conn.execute(
                    "SELECT chunk, n, first_t_ns, data, sha256 FROM sample_chunks"
                    " WHERE trial_id = ? AND last_t_ns > ? ORDER BY chunk", (trial_id, int(end_t_ns)),
                ).fetchall()
                for chunk, n, first_t_ns, data, sha in stale:
                    if first_t_ns > end_t_ns:
                        conn.execute("DELETE FROM sample_chunks WHERE trial_id = ? AND chunk = ?", (trial_id, chunk))
                        dropped += int(n)
                        continue
                    t, c, inv = codec.decode(data, sha, where=f"trial {trial_id}: sample chunk {chunk}")
                    keep = int(np.searchsorted(t, end_t_ns, side="right"))
                    blob, new_sha = codec.encode(t[:keep], c[:keep], inv[:keep])
                    conn.execute(
                        "UPDATE sample_chunks SET n = ?, last_t_ns = ?, data = ?, sha256 = ?"
                        " WHERE trial_id = ? AND chunk = ?",
                        (keep, int(t[keep - 1]), blob, new_sha, trial_id, chunk),
                    )
                    dropped += len(t) - keep
                conn.execute("UPDATE trials SET n_samples = n_samples - ? WHERE id = ?", (dropped, trial_id))
        return dropped

    def load_samples(self, trial_id: int, *, include_deleted: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All raw frames of a trial ``(t_ns (N,), counts (N, 8), invalid (N,))``, checksums verified."""
        self._trial_row(trial_id, include_deleted=include_deleted)
        chunks = self._rows(
            "SELECT chunk, data, sha256 FROM sample_chunks WHERE trial_id = ? ORDER BY chunk", (trial_id,)
        )
        parts = [
            codec.decode(r["data"], r["sha256"], where=f"trial {trial_id}: sample chunk {r['chunk']}")
            for r in chunks
        ]
        if not parts:
            return (np.zeros(0, np.int64), np.zeros((0, N_CHANNELS), np.int64), np.zeros(0, np.int32))
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    def sample_bytes(self, trial_id: int) -> int:
        """Bytes of encoded raw data stored for a trial (for the storage benchmark and docs)."""
        row = self._one("SELECT coalesce(sum(length(data)), 0) AS b FROM sample_chunks WHERE trial_id = ?", (trial_id,))
        return int(row["b"]) if row else 0

    # -- videos ----------------------------------------------------------------------
    def add_video(
        self,
        trial_id: int,
        *,
        path: str,
        fps: float | None,
        n_frames: int | None,
        size_bytes: int | None,
        timestamps_path: str | None = None,
    ) -> dict[str, Any]:
        self._trial_row(trial_id, include_deleted=True)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO videos (trial_id, path, fps, n_frames, size_bytes, timestamps_path, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trial_id) DO UPDATE SET path = excluded.path,"
                " fps = excluded.fps, n_frames = excluded.n_frames, size_bytes = excluded.size_bytes,"
                " timestamps_path = excluded.timestamps_path",
                (trial_id, str(path), fps, n_frames, size_bytes, None if timestamps_path is None else str(timestamps_path), now_iso()),
            )
        video = self.get_video(trial_id)
        assert video is not None
        return video

    def get_video(self, trial_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM videos WHERE trial_id = ?", (trial_id,))

    def first_sample_t_ns(self, trial_id: int) -> int | None:
        """CLOCK_MONOTONIC time of a trial's first stored sample (its time zero), from
        the chunk index without decoding any samples; None before the first chunk."""
        row = self._one(
            "SELECT first_t_ns FROM sample_chunks WHERE trial_id = ? ORDER BY chunk LIMIT 1", (trial_id,))
        return None if row is None or row["first_t_ns"] is None else int(row["first_t_ns"])


def iso_bound(value: str, name: str, *, end: bool = False) -> str:
    """Normalise a date or datetime filter to the stored ISO form (UTC).

    A plain date as an ``end`` bound includes that whole day. A bound whose UTC time
    falls outside the calendar (``9999-12-31`` as an end, ``0001-01-01T00:00+01:00``)
    is clamped to the calendar's first or last instant: it excludes nothing on that
    side, which is what it asked for.
    """
    from datetime import UTC, datetime, timedelta

    text = str(value)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{name} must be an ISO date or time such as 2026-01-31, got {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        if end and len(text) == 10:  # a plain date as 'until' includes that whole day
            dt += timedelta(days=1)
        utc = dt.astimezone(UTC)
    except OverflowError:
        utc = (datetime.max if dt.year > 1 else datetime.min).replace(tzinfo=UTC)
    return utc.isoformat(timespec="milliseconds")
