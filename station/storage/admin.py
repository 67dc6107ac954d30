"""Calibrations and access tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from station.core.errors import ConflictError, InputError, NotFoundError
from station.storage.base import StoreBase, from_json, now_iso, to_json

CALIBRATION_KINDS = ("calibration", "rezero", "camera_roll")
ROLES = ("coach", "admin")
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def hash_secret(secret: str) -> str:
    # The secrets are 32 random bytes, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def _decode_cal(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["data"] = from_json(row["data"])
    row["verification"] = from_json(row["verification"])
    row["active"] = bool(row["active"])
    return row


class AdminMixin(StoreBase):
    # -- calibrations -----------------------------------------------------------------
    def save_calibration(
        self, *, kind: str, data: dict[str, Any], created_by: str | None, activate: bool = False
    ) -> int:
        """Store a calibration (``Calibration.to_dict()`` plus fit report); optionally make it active."""
        if kind not in CALIBRATION_KINDS:
            raise InputError(f"unknown calibration kind {kind!r}; use one of {', '.join(CALIBRATION_KINDS)}")
        if not isinstance(data, dict):
            raise InputError("calibration data must be an object")
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO calibrations (created_at, created_by, kind, active, data) VALUES (?, ?, ?, 0, ?)",
                (now_iso(), created_by, kind, to_json(data)),
            )
            cal_id = int(cur.lastrowid or 0)
            if activate:
                self._activate(conn, cal_id, kind)
            self._audit(conn, created_by, "calibrate", f"calibration {cal_id}")
        return cal_id

    def _activate(self, conn: Any, cal_id: int, kind: str) -> None:
        conn.execute("UPDATE calibrations SET active = 0 WHERE kind = ? AND active = 1", (kind,))
        conn.execute("UPDATE calibrations SET active = 1 WHERE id = ?", (cal_id,))

    def get_calibration(self, calibration_id: int) -> dict[str, Any]:
        row = self._one("SELECT * FROM calibrations WHERE id = ?", (calibration_id,))
        if row is None:
            raise NotFoundError(f"calibration {calibration_id} does not exist")
        return _decode_cal(row)

    def active_calibration(self, kind: str = "calibration") -> dict[str, Any] | None:
        row = self._one(
            "SELECT * FROM calibrations WHERE kind = ? AND active = 1 ORDER BY id DESC LIMIT 1", (kind,)
        )
        return _decode_cal(row) if row else None

    def activate_calibration(self, calibration_id: int, *, actor: str | None = None) -> dict[str, Any]:
        cal = self.get_calibration(calibration_id)
        with self._tx() as conn:
            self._activate(conn, calibration_id, cal["kind"])
            if actor is not None:
                self._audit(conn, actor, "activate", f"calibration {calibration_id}")
        return self.get_calibration(calibration_id)

    def list_calibrations(self, *, limit: int = 50, kind: str | None = None) -> list[dict[str, Any]]:
        if not 1 <= limit <= 1000:
            raise InputError("limit must be between 1 and 1000")
        if kind is None:
            rows = self._rows("SELECT * FROM calibrations ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._rows("SELECT * FROM calibrations WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit))
        return [_decode_cal(r) for r in rows]

    def set_verification(self, calibration_id: int, report: dict[str, Any]) -> dict[str, Any]:
        self.get_calibration(calibration_id)
        with self._tx() as conn:
            conn.execute("UPDATE calibrations SET verification = ? WHERE id = ?", (to_json(report), calibration_id))
        return self.get_calibration(calibration_id)

    # -- tokens -------------------------------------------------------------------------
    def create_token(self, *, name: str, role: str, actor: str | None = None) -> tuple[str, dict[str, Any]]:
        """Create a bearer token; return ``(secret, row)``. Only the hash is stored:
        the secret cannot be shown again."""
        if not isinstance(name, str) or not _TOKEN_NAME.match(name):
            raise InputError(
                f"token name {name!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' or '-'"
            )
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        secret = secrets.token_urlsafe(32)
        with self._lock:
            if self._one("SELECT 1 FROM tokens WHERE name = ? AND revoked_at IS NULL", (name,)):
                raise ConflictError(f"a token named {name!r} already exists; revoke it first or pick another name")
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO tokens (name, role, secret_sha256, created_at) VALUES (?, ?, ?, ?)",
                    (name, role, hash_secret(secret), now_iso()),
                )
                self._audit(conn, actor or "cli", "create", f"token {name}")
        row = self._one("SELECT id, name, role, created_at, revoked_at FROM tokens WHERE name = ? AND revoked_at IS NULL", (name,))
        assert row is not None
        return secret, row

    def verify_token(self, secret: str) -> dict[str, Any] | None:
        """The token row for ``secret`` if it exists and is not revoked, else None."""
        if not secret or not isinstance(secret, str):
            return None
        return self._one(
            "SELECT id, name, role, created_at, revoked_at FROM tokens"
            " WHERE secret_sha256 = ? AND revoked_at IS NULL",
            (hash_secret(secret),),
        )

    def revoke_token(self, name: str, *, actor: str | None = None) -> None:
        with self._tx() as conn:
            n = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (now_iso(), name)
            ).rowcount
            if n == 0:
                raise NotFoundError(f"no active token named {name!r}", hint="`station token list` shows them.")
            self._audit(conn, actor or "cli", "revoke", f"token {name}")

    def list_tokens(self, *, include_revoked: bool = False) -> list[dict[str, Any]]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        return self._rows(f"SELECT id, name, role, created_at, revoked_at FROM tokens{where} ORDER BY name, id")
