"""sd_notify and the health-gated watchdog, against a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from station import watchdog
from station.watchdog import WatchdogNotifier, watchdog_interval_s

ROOT = Path(__file__).resolve().parents[2]


def test_ready_reaches_a_path_socket(notify_listener):
    env = {"NOTIFY_SOCKET": notify_listener.env_value}
    assert watchdog.ready("serving on :8000", environ=env) is True
    assert notify_listener.receive(2.0) == "READY=1\nSTATUS=serving on :8000"


def test_abstract_socket_name_with_at_sign(abstract_notify_listener):
    env = {"NOTIFY_SOCKET": abstract_notify_listener.env_value}
    assert watchdog.notify("WATCHDOG=1", environ=env) is True
    assert abstract_notify_listener.receive(2.0) == "WATCHDOG=1"


def test_without_systemd_nothing_is_sent_and_nothing_raises(tmp_path):
    assert watchdog.notify("READY=1", environ={}) is False
    # a socket that does not exist: reported, not raised
    assert watchdog.notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False
    assert watchdog.notify("READY=1", environ={"NOTIFY_SOCKET": "vsock:2:1234"}) is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(env, expected):
    assert watchdog_interval_s(env) == expected


def test_pings_only_while_healthy(notify_listener):
    healthy = threading.Event()
    healthy.set()
    env = {"NOTIFY_SOCKET": notify_listener.env_value}
    with WatchdogNotifier(healthy.is_set, interval_s=0.01, environ=env):
        first = notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 5.0)
        assert first[0] == "STATUS=acquisition healthy"
        notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 5.0)

        healthy.clear()
        notify_listener.receive_until(lambda m: m.startswith("STATUS=acquisition unhealthy"), 5.0)
        # From the moment the notifier saw the bad health on, not a single ping for
        # 30 intervals, although its thread keeps running.
        silent: list[str] = []
        deadline = time.monotonic() + 0.3
        while (left := deadline - time.monotonic()) > 0:
            msg = notify_listener.receive(left)
            if msg is not None:
                silent.append(msg)
        assert "WATCHDOG=1" not in silent

        healthy.set()
        back = notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 5.0)
        assert "STATUS=acquisition healthy" in back


def test_a_health_check_that_raises_counts_as_unhealthy(notify_listener):
    def broken() -> bool:
        raise RuntimeError("acquisition object gone")

    n = WatchdogNotifier(broken, interval_s=1.0, environ={"NOTIFY_SOCKET": notify_listener.env_value})
    assert n.tick() is False
    assert notify_listener.receive(2.0).startswith("STATUS=acquisition unhealthy")
    assert notify_listener.receive(0.2) is None
    assert n.pings_sent == 0


def test_interval_must_be_positive():
    with pytest.raises(ValueError, match="interval_s"):
        WatchdogNotifier(lambda: True, interval_s=0)


def test_a_service_process_feeds_the_watchdog_as_systemd_asks(notify_listener, tmp_path):
    """A separate process started like systemd starts the service: NOTIFY_SOCKET,
    WATCHDOG_USEC and WATCHDOG_PID in its environment. Its health is a file the test
    creates and removes; the pings must follow it."""
    flag = tmp_path / "healthy"
    flag.touch()
    script = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from station import watchdog
        os.environ["WATCHDOG_PID"] = str(os.getpid())  # what systemd sets for the main process
        interval = watchdog.watchdog_interval_s()
        assert interval == 0.05, interval
        flag = Path({str(flag)!r})
        n = watchdog.WatchdogNotifier(flag.exists, interval_s=interval).start()
        watchdog.ready("test service up")
        while not Path({str(tmp_path / "stop")!r}).exists():
            time.sleep(0.01)
        n.stop()
        watchdog.stopping()
        """
    )
    env = dict(os.environ, NOTIFY_SOCKET=notify_listener.env_value, WATCHDOG_USEC="100000")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        got = notify_listener.receive_until(lambda m: m.startswith("READY=1"), 30.0)
        got += notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 5.0)
        flag.unlink()
        notify_listener.receive_until(lambda m: m.startswith("STATUS=acquisition unhealthy"), 5.0)
        quiet: list[str] = []
        deadline = time.monotonic() + 0.5  # 10 intervals
        while (left := deadline - time.monotonic()) > 0:
            msg = notify_listener.receive(left)
            if msg is not None:
                quiet.append(msg)
        assert "WATCHDOG=1" not in quiet
        flag.touch()
        notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 5.0)
        (tmp_path / "stop").touch()
        notify_listener.receive_until(lambda m: m == "STOPPING=1", 10.0)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_watchdog_follows_the_real_acquisition_health(notify_listener):
    """The station's acquisition over the seeded simulator: the array stops answering for a
    second (as when the HX711 supply drops), the pings stop; it comes back, they resume."""
    from hardware.sim import SimLoadCellSource
    from station.acquisition import Acquisition

    source = SimLoadCellSource(seed=3, rate_hz=80.0, paced=True)
    acq = Acquisition(source)
    acq.start()
    env = {"NOTIFY_SOCKET": notify_listener.env_value}
    try:
        with WatchdogNotifier(acq.is_healthy, interval_s=0.02, environ=env):
            notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 10.0)
            source.array_gone(1.5)
            notify_listener.receive_until(lambda m: m.startswith("STATUS=acquisition unhealthy"), 10.0)
            during = notify_listener.receive_until(lambda m: m == "STATUS=acquisition healthy", 15.0)
            assert "WATCHDOG=1" not in during  # not one ping while the array was gone
            assert acq.errors > 0
            notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 5.0)
    finally:
        acq.stop()


def test_start_watchdog_only_when_systemd_asks(notify_listener):
    assert watchdog.start_watchdog(lambda: True, environ={"NOTIFY_SOCKET": notify_listener.env_value}) is None
    env = {"NOTIFY_SOCKET": notify_listener.env_value, "WATCHDOG_USEC": "40000"}
    dog = watchdog.start_watchdog(lambda: True, environ=env)
    assert dog is not None and dog.interval_s == 0.02
    try:
        notify_listener.receive_until(lambda m: m == "WATCHDOG=1", 5.0)
    finally:
        dog.stop()
