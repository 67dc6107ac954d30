"""Who is calling: bearer tokens (stored hashed by the Store) and the loopback kiosk.

Roles are ordered ``coach < admin``: a coach records and views, an admin also
calibrates and deletes. The kiosk on the Pi itself connects over loopback and may
work without a token (``settings.loopback_without_token``); a request that came
through a proxy (``X-Forwarded-For``/``Forwarded`` headers) never counts as loopback,
because behind a reverse proxy every client would otherwise look local.
Secrets are never logged: only the token's name is.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import HTTPConnection

from station.core.errors import AuthError, ForbiddenError

log = logging.getLogger(__name__)

Role = Literal["coach", "admin"]
ROLE_RANK: dict[str, int] = {"coach": 1, "admin": 2}

#: The name audit rows carry for requests from the kiosk on the station itself.
LOOPBACK_NAME = "kiosk (loopback)"
#: Role of the loopback kiosk: it drives calibration too, so it is an admin.
LOOPBACK_ROLE: Role = "admin"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    via: Literal["token", "loopback"]

    def has_role(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


def is_loopback(conn: HTTPConnection) -> bool:
    if "x-forwarded-for" in conn.headers or "forwarded" in conn.headers:
        return False
    host = conn.client.host if conn.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_from(conn: HTTPConnection) -> str | None:
    """The bearer token of a request; WebSockets may also pass ``?token=``
    (browsers cannot set headers on a WebSocket)."""
    header = conn.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError(
                "the Authorization header must be 'Bearer <token>'",
                hint="Create a token with `station token create NAME --role coach` on the station.",
            )
        return value.strip()
    if conn.scope.get("type") == "websocket":
        return conn.query_params.get("token") or None
    return None


def authenticate(conn: HTTPConnection, store: Any, *, loopback_without_token: bool) -> Principal:
    """The caller, or :class:`AuthError` (401) when it cannot be identified."""
    secret = token_from(conn)
    if secret is None:
        if loopback_without_token and is_loopback(conn):
            return Principal(LOOPBACK_NAME, LOOPBACK_ROLE, "loopback")
        raise AuthError(
            "this route needs a bearer token",
            hint="Send 'Authorization: Bearer <token>'; an admin creates one with "
            "`station token create NAME --role coach` on the station.",
        )
    row = store.verify_token(secret)
    if row is None:
        # Log where it came from, never the secret itself.
        log.warning("refused an unknown or revoked token from %s", conn.client.host if conn.client else "?")
        raise AuthError(
            "the token is unknown or revoked",
            hint="Ask an admin for a new token (`station token list` shows the valid ones).",
        )
    return Principal(str(row["name"]), str(row["role"]), "token")


def check_role(principal: Principal, role: str) -> None:
    if not principal.has_role(role):
        raise ForbiddenError(
            f"this needs the {role} role; token '{principal.name}' is a {principal.role}",
            hint=f"Ask an admin for a token with the {role} role.",
        )


class RedactTokens(logging.Filter):
    """Blank ``token=<secret>`` in log lines: uvicorn logs WebSocket paths with their
    query string, where browsers put the token."""

    PATTERN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.PATTERN.sub(r"\1***", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.PATTERN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_redaction() -> None:
    """Attach :class:`RedactTokens` to uvicorn's loggers (once)."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
