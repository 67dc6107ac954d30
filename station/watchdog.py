"""systemd readiness and watchdog notifications (``sd_notify``) without extra dependencies.

systemd passes the service an ``AF_UNIX`` datagram socket in ``$NOTIFY_SOCKET`` (a path,
or an abstract name written with a leading ``@``); the service sends ``KEY=VALUE`` lines
to it: ``READY=1`` once it serves, ``WATCHDOG=1`` at least every ``WatchdogSec``, and
``STATUS=...`` for ``systemctl status``. The protocol is documented in sd_notify(3) and
https://systemd.io/NOTIFY/ ; it is small enough that a dependency would cost more than it
saves.

:class:`WatchdogNotifier` feeds the watchdog from a thread, but only while a health
check passes: when acquisition stalls, the pings stop and systemd restarts the service
after ``WatchdogSec`` (``Restart=on-failure`` in ``systemd/station.service``).

Outside systemd (``make run``, tests without the variable) every call is a no-op that
returns ``False``, so the service code can call these functions unconditionally.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _socket_address(value: str) -> str | bytes | None:
    """Translate ``$NOTIFY_SOCKET`` to an address for :meth:`socket.sendto`.

    ``@name`` is an abstract socket (Linux): its address starts with a NUL byte.
    Other schemes (``vsock:``) are not supported and yield ``None``.
    """
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


def notify(message: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send one notification datagram, e.g. ``"READY=1\\nSTATUS=serving"``.

    Returns ``True`` when it was sent, ``False`` when there is no ``$NOTIFY_SOCKET``
    (not run by systemd) or sending failed. Never raises: a notification that cannot be
    sent must not take the service down (systemd then restarts it, which is the point).
    """
    env = os.environ if environ is None else environ
    value = env.get("NOTIFY_SOCKET", "")
    if not value:
        return False
    address = _socket_address(value)
    if address is None:
        log.warning("NOTIFY_SOCKET=%r uses an unsupported address scheme; not notifying systemd", value)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), address)
    except OSError as exc:
        log.warning("could not notify systemd at %s: %s", value, exc)
        return False
    return True


def ready(status: str | None = None, *, environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd the service is up (``Type=notify`` units wait for this)."""
    message = "READY=1" + (f"\nSTATUS={status}" if status else "")
    return notify(message, environ=environ)


def stopping(*, environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd the service is shutting down on purpose."""
    return notify("STOPPING=1", environ=environ)


def status(text: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Set the one-line status shown by ``systemctl status station``."""
    return notify(f"STATUS={text}", environ=environ)


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """Ping interval asked for by systemd: half of ``$WATCHDOG_USEC``, as sd_watchdog_enabled(3)
    recommends; ``None`` when the watchdog is off or meant for another process
    (``$WATCHDOG_PID`` set and not ours)."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2 / 1e6 if value > 0 else None


class WatchdogNotifier:
    """A daemon thread that sends ``WATCHDOG=1`` every ``interval_s`` while ``is_healthy()``.

    Parameters
    ----------
    is_healthy
        Called once per interval from the notifier thread. It should answer "is the
        acquisition loop alive and delivering frames?", not "is every channel perfect":
        a dead load cell is a warning for the user, and restarting the service would
        not fix a loose wire. An exception counts as unhealthy.
    interval_s
        Seconds between checks; use :func:`watchdog_interval_s` under systemd.
    environ
        Where ``NOTIFY_SOCKET`` is read (default: the process environment).

    The status line (``systemctl status station``) changes when health changes, so an
    operator sees why the watchdog is about to restart the service.
    """

    def __init__(
        self,
        is_healthy: Callable[[], bool],
        *,
        interval_s: float,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self._is_healthy = is_healthy
        self.interval_s = float(interval_s)
        self._environ = environ
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_healthy: bool | None = None
        self.pings_sent = 0

    def _check(self) -> bool:
        try:
            return bool(self._is_healthy())
        except Exception:  # a broken health check is an unhealthy service
            log.exception("the health check raised; not feeding the watchdog")
            return False

    def tick(self) -> bool:
        """Check health once and ping if healthy; returns whether a ping was sent."""
        healthy = self._check()
        if healthy != self._was_healthy:
            text = (
                "acquisition healthy"
                if healthy
                else "acquisition unhealthy: watchdog not fed, systemd will restart the service"
            )
            if not healthy:
                log.warning(text)
            status(text, environ=self._environ)
            self._was_healthy = healthy
        if healthy and notify("WATCHDOG=1", environ=self._environ):
            self.pings_sent += 1
            return True
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval_s)

    def start(self) -> WatchdogNotifier:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="watchdog-notifier", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> WatchdogNotifier:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_watchdog(
    is_healthy: Callable[[], bool], *, environ: Mapping[str, str] | None = None
) -> WatchdogNotifier | None:
    """Start a :class:`WatchdogNotifier` when systemd asked for a watchdog (``WatchdogSec=``
    sets ``$WATCHDOG_USEC``); return ``None`` otherwise (``make run``, tests).

    Wiring in ``station serve`` (READY=1 only once uvicorn listens, so ``Type=notify``
    means "serving")::

        class NotifyingServer(uvicorn.Server):
            async def startup(self, sockets=None):
                await super().startup(sockets)
                if self.started:
                    watchdog.ready(f"serving on {settings.host}:{settings.port}")

        # "frames keep arriving" (not: "no dead channel", see WatchdogNotifier)
        dog = watchdog.start_watchdog(frames_arriving)
        try:
            NotifyingServer(uvicorn.Config(app, host=..., port=...)).run()
        finally:
            watchdog.stopping()
            if dog:
                dog.stop()
    """
    interval = watchdog_interval_s(environ)
    if interval is None:
        return None
    return WatchdogNotifier(is_healthy, interval_s=interval, environ=environ).start()
