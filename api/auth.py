"""Who is calling: bearer tokens (stored hashed by the Store) and the loopback kiosk.

Roles are ordered ``coach < admin``: a coach records and views, an admin also
calibrates and deletes. The kiosk on the Pi itself connects over loopback and may
work without a token (``settings.loopback_without_token``); a request that came
through a proxy (``X-Forwarded-For``/``Forwarded`` headers) never counts as loopback,
because behind a reverse proxy every client would otherwise look local.
Secrets are never logged: only the token's name is.

Failed token checks are rate-limited per client address (:class:`FailedAuthLimiter`, a
token bucket): past the burst a client gets 429 with ``Retry-After`` and its guesses
are not even checked. They are logged as one line per client when its first failure
of an interval happens and one summary line at the end of the interval, not one
WARNING per guess.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import threading
import time
from collections.abc import Callable
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


class TooManyFailedAttempts(AuthError):
    """Too many wrong tokens from one client (429); ``retry_after_s`` says when to retry."""

    http_status = 429

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(
            f"too many wrong tokens from this address; try again in {self.retry_after_s} s",
            hint="Check the token on the tablet (`station token list` shows the valid names).",
        )


#: Failed token checks a client may make at once, and how fast its allowance refills
#: (10 per minute): a tablet with a mistyped token is never blocked for long, a guesser
#: gets 10 guesses a minute instead of 866 a second.
AUTH_FAILURE_BURST = 10
AUTH_FAILURES_PER_S = 10 / 60
#: Failed attempts are summarised in one log line per this many seconds.
AUTH_LOG_INTERVAL_S = 60.0


class FailedAuthLimiter:
    """A token bucket of failed token checks per client address, and their aggregated log.

    Thread-safe (token checks run in the thread pool). Memory is bounded: buckets that
    have refilled are forgotten, and past ``max_clients`` the fullest are dropped.
    """

    def __init__(
        self,
        *,
        burst: int = AUTH_FAILURE_BURST,
        per_s: float = AUTH_FAILURES_PER_S,
        log_interval_s: float = AUTH_LOG_INTERVAL_S,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.per_s, self.log_interval_s = float(burst), float(per_s), float(log_interval_s)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (allowance, at)
        self._lock = threading.Lock()
        self._failed: dict[str, int] = {}  # this log interval's counts per client
        self._limited: dict[str, int] = {}
        self._timer: threading.Timer | None = None

    def _allowance(self, client: str, now: float) -> float:
        allowance, at = self._buckets.get(client, (self.burst, now))
        return min(self.burst, allowance + (now - at) * self.per_s)

    def check(self, client: str) -> None:
        """Raise :class:`TooManyFailedAttempts` while ``client`` has no allowance left."""
        with self._lock:
            now = self._clock()
            allowance = self._allowance(client, now)
            if allowance >= 1.0:
                return
            self._limited[client] = self._limited.get(client, 0) + 1
            self._open_interval()
        raise TooManyFailedAttempts((1.0 - allowance) / self.per_s)

    def failed(self, client: str) -> None:
        """Count a failed token check of ``client`` (and log it, aggregated)."""
        with self._lock:
            now = self._clock()
            self._buckets[client] = (max(0.0, self._allowance(client, now) - 1.0), now)
            if len(self._buckets) > self.max_clients:
                self._forget(now)
            first = client not in self._failed
            self._failed[client] = self._failed.get(client, 0) + 1
            self._open_interval()
        if first:  # one line per client and interval; the rest go into the summary
            log.warning(
                "refused an unknown or revoked token from %s (further refusals in the next %.0f s are summarised)",
                client, self.log_interval_s,
            )

    def _forget(self, now: float) -> None:
        full = [c for c in self._buckets if self._allowance(c, now) >= self.burst]
        for c in full:
            del self._buckets[c]
        if len(self._buckets) > self.max_clients:  # a flood of addresses: keep the emptiest
            for c in sorted(self._buckets, key=lambda c: -self._allowance(c, now))[: len(self._buckets) // 2]:
                del self._buckets[c]

    def _open_interval(self) -> None:
        if self._timer is None:
            self._timer = threading.Timer(self.log_interval_s, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Write the summary line of the interval (called by its timer; tests call it)."""
        with self._lock:
            failed, limited = self._failed, self._limited
            self._failed, self._limited = {}, {}
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None
        n_failed, n_limited = sum(failed.values()), sum(limited.values())
        if n_failed + n_limited <= len(failed):  # nothing beyond the lines already written
            return
        worst = sorted({**failed, **limited}, key=lambda c: -(failed.get(c, 0) + limited.get(c, 0)))[:5]
        log.warning(
            "refused %d unknown or revoked token(s) and %d attempt(s) over the limit (429) in the last %.0f s "
            "from %d client(s): %s",
            n_failed, n_limited, self.log_interval_s, len(set(failed) | set(limited)),
            ", ".join(f"{c} ({failed.get(c, 0)} wrong, {limited.get(c, 0)} limited)" for c in worst),
        )


def failure_limiter(conn: HTTPConnection) -> FailedAuthLimiter:
    """The app's limiter (made at the first failed check; tests may set a tighter one)."""
    state = conn.app.state
    limiter = getattr(state, "auth_limiter", None)
    if limiter is None:
        limiter = state.auth_limiter = FailedAuthLimiter()
    return limiter  # type: ignore[no-any-return]


def authenticate(conn: HTTPConnection, store: Any, *, loopback_without_token: bool) -> Principal:
    """The caller, or :class:`AuthError` (401) when it cannot be identified, or
    :class:`TooManyFailedAttempts` (429) while its address has failed too often."""
    secret = token_from(conn)
    if secret is None:
        if loopback_without_token and is_loopback(conn):
            return Principal(LOOPBACK_NAME, LOOPBACK_ROLE, "loopback")
        raise AuthError(
            "this route needs a bearer token",
            hint="Send 'Authorization: Bearer <token>'; an admin creates one with "
            "`station token create NAME --role coach` on the station.",
        )
    limiter = failure_limiter(conn)
    client = conn.client.host if conn.client else "?"
    limiter.check(client)  # a blocked client's guesses are not even checked
    row = store.verify_token(secret)
    if row is None:
        limiter.failed(client)  # logs where it came from, never the secret itself
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
