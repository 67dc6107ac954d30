"""Calibrations and access tokens."""

from __future__ import annotations

import hashlib

import pytest

from station.core.errors import ConflictError, InputError, NotFoundError
from station.storage import Store


def test_calibrations_activate_one_per_kind(fresh_db: Store) -> None:
    assert fresh_db.active_calibration() is None
    c1 = fresh_db.save_calibration(kind="calibration", data={"gains": [1.0] * 8}, created_by="admin", activate=True)
    c2 = fresh_db.save_calibration(kind="calibration", data={"gains": [2.0] * 8}, created_by="admin")
    r = fresh_db.save_calibration(kind="rezero", data={"offsets": [0] * 8}, created_by="admin", activate=True)
    active = fresh_db.active_calibration()
    assert active is not None and active["id"] == c1 and active["data"] == {"gains": [1.0] * 8}
    fresh_db.activate_calibration(c2)
    assert fresh_db.active_calibration()["id"] == c2  # type: ignore[index]
    assert fresh_db.active_calibration("rezero")["id"] == r  # type: ignore[index]
    assert fresh_db.get_calibration(c1)["active"] is False
    assert [c["id"] for c in fresh_db.list_calibrations()] == [r, c2, c1]
    assert [c["id"] for c in fresh_db.list_calibrations(kind="calibration", limit=1)] == [c2]
    v = fresh_db.set_verification(c2, {"max_error_pct": 0.4, "passed": True})
    assert v["verification"] == {"max_error_pct": 0.4, "passed": True}
    with pytest.raises(NotFoundError):
        fresh_db.get_calibration(99)
    with pytest.raises(InputError, match="kind"):
        fresh_db.save_calibration(kind="magic", data={}, created_by="x")
    assert len(fresh_db.list_calibrations()) == 3


def test_tokens_hashed_verified_revoked(fresh_db: Store) -> None:
    secret, row = fresh_db.create_token(name="tablet-1", role="coach")
    assert len(secret) >= 40 and row["role"] == "coach" and "secret" not in str(row)
    stored = fresh_db.conn.execute("SELECT secret_sha256 FROM tokens").fetchone()[0]
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored
    v = fresh_db.verify_token(secret)
    assert v is not None and v["name"] == "tablet-1"
    assert fresh_db.verify_token(secret + "x") is None and fresh_db.verify_token("") is None
    with pytest.raises(ConflictError):
        fresh_db.create_token(name="tablet-1", role="admin")
    fresh_db.revoke_token("tablet-1")
    assert fresh_db.verify_token(secret) is None
    assert fresh_db.list_tokens() == []
    assert fresh_db.list_tokens(include_revoked=True)[0]["revoked_at"]
    with pytest.raises(NotFoundError):
        fresh_db.revoke_token("tablet-1")
    # the name may be reused after revoking, with a new secret
    secret2, _ = fresh_db.create_token(name="tablet-1", role="admin")
    assert secret2 != secret and fresh_db.verify_token(secret2)["role"] == "admin"  # type: ignore[index]
    assert {e["target"] for e in fresh_db.list_audit()} >= {"token tablet-1"}


@pytest.mark.parametrize("name, role", [("", "coach"), ("has space", "coach"), ("x" * 65, "coach"), ("ok", "root")])
def test_bad_token_requests(fresh_db: Store, name: str, role: str) -> None:
    with pytest.raises(InputError):
        fresh_db.create_token(name=name, role=role)
    assert fresh_db.list_tokens(include_revoked=True) == []
