"""Athletes: create, read, update, search, soft delete, purge and privacy export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from station.core.clock import ClockStatus, clock_status, year_at_least
from station.core.errors import ConflictError, InputError, NotFoundError
from station.storage.base import StoreBase, check_text, from_json, now_iso

ATHLETE_FIELDS = ("name", "birth_year", "body_mass_kg", "dominant_leg", "notes")
MAX_NAME = 200
MAX_NOTES = 10_000
MAX_PAGE = 1000


def check_page(limit: int, offset: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}, got {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise InputError(f"offset must be 0 or more, got {offset!r}")


def _clean_athlete(fields: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate athlete fields; raise InputError naming the bad one."""
    unknown = set(fields) - set(ATHLETE_FIELDS)
    if unknown:
        raise InputError(f"unknown athlete field(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if "name" in fields or not partial:
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError("name must be a non-empty text")
        if len(name) > MAX_NAME:
            raise InputError(f"name is longer than {MAX_NAME} characters")
        out["name"] = check_text("name", name.strip())
    if "birth_year" in fields:
        by = fields["birth_year"]
        this_year = year_at_least()
        if by is not None and (not isinstance(by, int) or isinstance(by, bool) or not 1900 <= by <= this_year):
            raise InputError(f"birth_year must be a year between 1900 and {this_year}, got {by!r}")
        out["birth_year"] = by
    if "body_mass_kg" in fields:
        m = fields["body_mass_kg"]
        if m is not None and (isinstance(m, bool) or not isinstance(m, int | float) or not 10 <= m <= 400):
            raise InputError(f"body_mass_kg must be between 10 and 400 kg, got {m!r}")
        out["body_mass_kg"] = None if m is None else float(m)
    if "dominant_leg" in fields:
        leg = fields["dominant_leg"]
        if leg not in (None, "left", "right"):
            raise InputError(f"dominant_leg must be 'left' or 'right', got {leg!r}")
        out["dominant_leg"] = leg
    if "notes" in fields:
        notes = fields["notes"]
        if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
            raise InputError(f"notes must be a text of at most {MAX_NOTES} characters")
        out["notes"] = None if notes is None else check_text("notes", notes, multiline=True)
    return out


class AthletesMixin(StoreBase):
    def create_athlete(
        self,
        *,
        name: str,
        birth_year: int | None = None,
        body_mass_kg: float | None = None,
        dominant_leg: str | None = None,
        notes: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        fields = _clean_athlete(
            dict(name=name, birth_year=birth_year, body_mass_kg=body_mass_kg, dominant_leg=dominant_leg, notes=notes),
            partial=False,
        )
        now = now_iso()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO athletes (name, birth_year, body_mass_kg, dominant_leg, notes, created_at, updated_at)"
                " VALUES (:name, :birth_year, :body_mass_kg, :dominant_leg, :notes, :now, :now)",
                {**fields, "now": now},
            )
            athlete_id = int(cur.lastrowid or 0)
            if actor is not None:
                self._audit(conn, actor, "create", f"athlete {athlete_id}")
        return self.get_athlete(athlete_id)

    def get_athlete(self, athlete_id: int, *, include_deleted: bool = False) -> dict[str, Any]:
        row = self._one("SELECT * FROM athletes WHERE id = ?", (athlete_id,))
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            raise NotFoundError(f"athlete {athlete_id} does not exist")
        return row

    def update_athlete(self, athlete_id: int, *, actor: str | None = None, **fields: Any) -> dict[str, Any]:
        clean = _clean_athlete(fields, partial=True)
        self.get_athlete(athlete_id)
        if clean:
            sets = ", ".join(f"{k} = :{k}" for k in clean)
            with self._tx() as conn:
                conn.execute(
                    f"UPDATE athletes SET {sets}, updated_at = :now WHERE id = :id AND deleted_at IS NULL",
                    {**clean, "now": now_iso(), "id": athlete_id},
                )
                if actor is not None:
                    self._audit(conn, actor, "update", f"athlete {athlete_id}")
        return self.get_athlete(athlete_id)

    def list_athletes(self, *, q: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        check_page(limit, offset)
        where = "deleted_at IS NULL"
        params: list[Any] = []
        if q:
            where += " AND name LIKE ? ESCAPE '\\' COLLATE NOCASE"
            esc = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{esc}%")
        total = self._one(f"SELECT count(*) AS n FROM athletes WHERE {where}", params)
        rows = self._rows(
            f"SELECT * FROM athletes WHERE {where} ORDER BY name COLLATE NOCASE, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return rows, int(total["n"]) if total else 0

    def delete_athlete(self, athlete_id: int, *, actor: str | None) -> None:
        """Soft delete: the athlete and their trials disappear from every list and
        lookup, but stay in the file until :meth:`purge_deleted`."""
        self.get_athlete(athlete_id)
        now = now_iso()
        with self._tx() as conn:
            conn.execute(
                "UPDATE athletes SET deleted_at = ?, deleted_by = ? WHERE id = ?", (now, actor, athlete_id)
            )
            conn.execute(
                "UPDATE trials SET deleted_at = ?, deleted_by = ? WHERE athlete_id = ? AND deleted_at IS NULL",
                (now, actor, athlete_id),
            )
            self._audit(conn, actor, "delete", f"athlete {athlete_id}")

    def purge_deleted(
        self, *, older_than_days: float = 30, actor: str = "purge", clock: ClockStatus | None = None
    ) -> dict[str, Any]:
        """Erase soft-deleted athletes and trials deleted more than ``older_than_days`` ago.

        Their samples, events and video rows go with them (ON DELETE CASCADE), and the
        video files they reference are removed from disk. Returns the counts.

        The age is measured by the wall clock, so nothing is erased while the clock is not
        synchronised (``clock``, default :func:`~station.core.clock.clock_status`): a Pi
        booting with its clock years ahead would otherwise erase every soft-deleted
        athlete at once. That is a :class:`ConflictError`; a later purge does the work.
        """
        if older_than_days < 0:
            raise InputError("older_than_days must be 0 or more")
        clock = clock or clock_status()
        if not clock.synchronised:
            raise ConflictError(
                f"not purging: {clock.reason}, so the age of a deletion cannot be trusted",
                hint="Purge again once the clock is synchronised (timedatectl; the station needs NTP once).",
            )
        cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
        video_files = [
            p
            for r in self._rows(
                "SELECT v.path, v.timestamps_path FROM videos v JOIN trials t ON t.id = v.trial_id"
                " LEFT JOIN athletes a ON a.id = t.athlete_id"
                " WHERE (t.deleted_at IS NOT NULL AND t.deleted_at <= ?)"
                " OR (a.deleted_at IS NOT NULL AND a.deleted_at <= ?)",
                (cutoff, cutoff),
            )
            for p in (r["path"], r["timestamps_path"])
            if p
        ]
        with self._tx() as conn:
            n_trials = conn.execute(
                "DELETE FROM trials WHERE (deleted_at IS NOT NULL AND deleted_at <= ?)"
                " OR athlete_id IN (SELECT id FROM athletes WHERE deleted_at IS NOT NULL AND deleted_at <= ?)",
                (cutoff, cutoff),
            ).rowcount
            n_athletes = conn.execute(
                "DELETE FROM athletes WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (cutoff,)
            ).rowcount
            self._audit(conn, actor, "purge", f"{n_athletes} athletes, {n_trials} trials")
        removed = 0
        for p in video_files:
            try:
                Path(p).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        # Give the freed pages back to the file system only on request (VACUUM rewrites the file).
        return {"athletes": n_athletes, "trials": n_trials, "video_files": removed, "cutoff": cutoff}

    def export_athlete(self, athlete_id: int) -> dict[str, Any]:
        """Everything stored about one athlete (privacy request), deleted-but-not-purged included.

        Raw samples are not inlined (they can be large); ``station export --athlete``
        adds one raw CSV per trial beside this JSON.
        """
        athlete = self.get_athlete(athlete_id, include_deleted=True)
        trials = self._rows("SELECT * FROM trials WHERE athlete_id = ? ORDER BY id", (athlete_id,))
        out_trials = []
        for t in trials:
            t = _decode_trial(t)
            t["events"] = [from_json(e["data"]) for e in self._rows(
                "SELECT data FROM events WHERE trial_id = ? ORDER BY id", (t["id"],))]
            t["video"] = self._one("SELECT * FROM videos WHERE trial_id = ?", (t["id"],))
            out_trials.append(t)
        targets = [f"athlete {athlete_id}"] + [f"trial {t['id']}" for t in trials]
        marks = ",".join("?" * len(targets))
        audit = self._rows(f"SELECT * FROM audit_log WHERE target IN ({marks}) ORDER BY id", targets)
        return {
            "exported_at": now_iso(),
            "athlete": athlete,
            "trials": out_trials,
            "audit_log": audit,
        }


def _decode_trial(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    options = row.get("options")
    row["options"] = {} if options == "{}" else from_json(options) or {}  # "{}": most trials
    for key in ("metrics", "zero_offsets"):
        if key in row:
            row[key] = from_json(row[key])
    return row
