"""The data-directory lock that keeps `station restore` and `station serve` apart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from station.core.errors import ConflictError
from station.service_lock import ServiceLock, holder


def hold_lock_in_child(data_dir) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from station.service_lock import ServiceLock
        lock = ServiceLock(Path({str(data_dir)!r}), purpose="station serve")
        print("locked", flush=True)
        sys.stdin.read()  # until the test closes stdin (or kills us)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_names_its_holder_and_is_exclusive(tmp_path):
    assert holder(tmp_path) is None
    proc = hold_lock_in_child(tmp_path)
    try:
        assert holder(tmp_path) == f"pid {proc.pid} (station serve)"
        with pytest.raises(ConflictError, match=f"in use by pid {proc.pid} \\(station serve\\)"):
            ServiceLock(tmp_path, purpose="station restore")
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
    assert holder(tmp_path) is None
    with ServiceLock(tmp_path, purpose="station restore"):
        assert holder(tmp_path) == f"pid {os.getpid()} (station restore)"


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    proc = hold_lock_in_child(tmp_path)
    proc.send_signal(signal.SIGKILL)  # a crash or power cut: no clean-up runs
    proc.wait(10)
    assert holder(tmp_path) is None
    ServiceLock(tmp_path, purpose="station serve").release()


def test_one_process_cannot_take_it_twice(tmp_path):
    first = ServiceLock(tmp_path, purpose="a")
    try:
        with pytest.raises(ConflictError):
            ServiceLock(tmp_path, purpose="b")
    finally:
        first.release()
    ServiceLock(tmp_path, purpose="b").release()
