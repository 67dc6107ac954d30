"""Sessions: the trials of one visit (migration 4). A trial belongs to at most one
session (``trials.session_id``, nullable); trials without one work as before."""

from __future__ import annotations

import re
from typing import Any

from station.core.errors import ConflictError, InputError, NotFoundError
from station.storage.athletes import _decode_trial, check_page
from station.storage.base import check_text, now_iso
from station.storage.trials import TrialsMixin

#: A session's kind: a short lower-case name such as ``hip_screen``.
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
MAX_SESSION_NOTES = 2000


def _clean_kind(kind: Any) -> str:
    if not isinstance(kind, str) or not KIND_PATTERN.match(kind):
        raise InputError(f"kind must be a lower-case name such as hip_screen (letters, digits, _), got {kind!r}")
    return kind


def _clean_notes(notes: Any) -> str | None:
    if notes is None:
        return None
    if not isinstance(notes, str) or len(notes) > MAX_SESSION_NOTES:
        raise InputError(f"notes must be a text of at most {MAX_SESSION_NOTES} characters")
    return check_text("notes", notes, multiline=True)


class SessionsMixin(TrialsMixin):
    def create_session(
        self, *, athlete_id: int, kind: str, notes: str | None = None, actor: str | None = None
    ) -> dict[str, Any]:
        """Open a session for ``athlete_id`` (it starts now); validates before writing."""
        kind = _clean_kind(kind)
        notes = _clean_notes(notes)
        self.get_athlete(athlete_id)
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO sessions (athlete_id, kind, notes, started_at, created_by) VALUES (?, ?, ?, ?, ?)",
                (athlete_id, kind, notes, now_iso(), actor),
            )
            session_id = int(cur.lastrowid or 0)
            if actor is not None:
                self._audit(conn, actor, "create", f"session {session_id}")
        return self.get_session(session_id)

    def _session_row(self, session_id: int) -> dict[str, Any]:
        row = self._one(
            "SELECT s.*, a.name AS athlete_name FROM sessions s JOIN athletes a ON a.id = s.athlete_id"
            " WHERE s.id = ? AND s.deleted_at IS NULL AND a.deleted_at IS NULL",
            (session_id,),
        )
        if row is None:
            raise NotFoundError(f"session {session_id} does not exist")
        return row

    def get_session(self, session_id: int) -> dict[str, Any]:
        """One session with its live trials (oldest first by id, so a wrong wall clock cannot
        reorder them or change which is a leg's latest; metrics included)."""
        row = self._session_row(session_id)
        ids = [r["id"] for r in self._rows(
            "SELECT id FROM trials WHERE session_id = ? AND deleted_at IS NULL ORDER BY id", (session_id,))]
        row["trials"] = [self.get_trial(i) for i in ids]
        return row

    def list_sessions(self, *, athlete_id: int, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """An athlete's sessions, newest first (by id: see :mod:`station.core.clock`), each with ``n_trials`` (its live trials)."""
        check_page(limit, offset)
        self.get_athlete(athlete_id)
        where = "s.athlete_id = ? AND s.deleted_at IS NULL"
        total = self._one(f"SELECT count(*) AS n FROM sessions s WHERE {where}", (athlete_id,))
        rows = self._rows(
            "SELECT s.*, (SELECT count(*) FROM trials t WHERE t.session_id = s.id AND t.deleted_at IS NULL)"
            f" AS n_trials FROM sessions s WHERE {where} ORDER BY s.id DESC LIMIT ? OFFSET ?",
            (athlete_id, limit, offset),
        )
        return rows, int(total["n"]) if total else 0

    def attach_trial(self, session_id: int, trial_id: int, *, actor: str | None = None) -> dict[str, Any]:
        """Make ``trial_id`` part of ``session_id``. The trial must be the same athlete's
        and in no other session (:class:`ConflictError`); attaching it again is a no-op."""
        with self._lock:
            session = self._session_row(session_id)
            trial = _decode_trial(self._trial_row(trial_id))
            if trial["athlete_id"] != session["athlete_id"]:
                raise ConflictError(
                    f"trial {trial_id} is athlete {trial['athlete_id']}'s; session {session_id} is athlete "
                    f"{session['athlete_id']}'s"
                )
            current = trial.get("session_id")
            if current is not None and current != session_id:
                raise ConflictError(f"trial {trial_id} is already part of session {current}")
            if current != session_id:
                with self._tx() as conn:
                    conn.execute("UPDATE trials SET session_id = ? WHERE id = ?", (session_id, trial_id))
                    if actor is not None:
                        self._audit(conn, actor, "attach", f"trial {trial_id} to session {session_id}")
        return self.get_trial(trial_id)

    def export_athlete(self, athlete_id: int) -> dict[str, Any]:
        """Everything stored about one athlete, their sessions included (privacy request)."""
        out = super().export_athlete(athlete_id)
        out["sessions"] = self._rows("SELECT * FROM sessions WHERE athlete_id = ? ORDER BY id", (athlete_id,))
        return out
