"""Fixtures for the Raspberry Pi deployment tests: notification sockets."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pi.livedb import Writer, make_data_dir


class NotifyListener:
    """A real AF_UNIX datagram socket standing in for systemd's notification socket."""

    def __init__(self, sock: socket.socket, env_value: str) -> None:
        self.sock = sock
        self.env_value = env_value  # what $NOTIFY_SOCKET holds

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def receive_until(self, predicate, timeout: float) -> list[str]:  # type: ignore[no-untyped-def]
        """Collect datagrams until one satisfies ``predicate`` (included) or time runs out."""
        import time

        got: list[str] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.receive(left)
            if msg is None:
                break
            got.append(msg)
            if predicate(msg):
                return got
        raise AssertionError(f"no matching notification within {timeout} s; got {got}")


@pytest.fixture
def notify_listener() -> Iterator[NotifyListener]:
    # A short directory: AF_UNIX paths are limited to 107 bytes.
    d = tempfile.mkdtemp(prefix="nfy", dir="/tmp")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        yield NotifyListener(sock, path)
    finally:
        sock.close()
        Path(path).unlink(missing_ok=True)
        os.rmdir(d)


@pytest.fixture
def abstract_notify_listener() -> Iterator[NotifyListener]:
    name = f"stance-test-{os.getpid()}-{id(object())}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    try:
        yield NotifyListener(sock, "@" + name)
    finally:
        sock.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A WAL-mode database of about 12 MB in ``tmp_path/data``."""
    return make_data_dir(tmp_path)


@pytest.fixture
def writer(data_dir: Path) -> Iterator[Writer]:
    w = Writer(data_dir)
    yield w
    if w.proc.poll() is None:
        w.stop()


