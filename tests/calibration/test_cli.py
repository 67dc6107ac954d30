"""``station calibrate`` as a real process on the simulated plates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from station.storage import Store

STATION = [sys.executable, "-m", "station"]


def _run(args: list[str], cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}  # no outside settings
    return subprocess.run([*STATION, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def test_simulated_calibration_runs_to_activation(tmp_path: Path, capsys, monkeypatch) -> None:
    r = _run(["calibrate", "--simulate", "--data-dir", "data", "--seed", "3", "--linearity-mass", "40"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "[1/12] Place 20 kg on the left plate, over the front-left cell" in out
    assert "captured [12/12]" in out and "Verification (limits: force 1.0 %, CoP 5.0 mm)" in out
    assert "Calibration #1 is active." in out
    store = Store(tmp_path / "data" / "station.sqlite3")
    try:
        row = store.active_calibration()
        assert row is not None and row["id"] == 1 and row["created_by"] == "cli"
        assert row["verification"]["passed"] is True
    finally:
        store.close()
    # Later checks of the same calibration (in-process: the same code, faster).
    from station.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "--simulate", "--data-dir", "data", "--seed", "3", "--verify-only"]) == 0
    assert "Verification stored with calibration #1: passed." in capsys.readouterr().out
    assert main(["calibrate", "--show", "--simulate", "--data-dir", "data"]) == 0
    shown = capsys.readouterr().out
    assert "Calibration in use: #1" in shown and "verified" in shown


def test_bad_arguments_exit_2(tmp_path: Path, capsys, monkeypatch) -> None:
    from station.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "--simulate", "--data-dir", "data", "--mass", "-3"]) == 2
    assert "--mass must be between 1 and 200 kg" in capsys.readouterr().err
    (tmp_path / "geo.json").write_text('{"plates": {"left": ')
    assert main(["calibrate", "--simulate", "--data-dir", "data", "--geometry", "geo.json"]) == 2
    err = capsys.readouterr().err
    assert "line 1, column" in err and "Traceback" not in err


def test_refuses_while_the_service_holds_the_data_dir(tmp_path: Path, capsys, monkeypatch) -> None:
    from station.cli import main
    from station.service_lock import ServiceLock

    monkeypatch.chdir(tmp_path)
    with ServiceLock(tmp_path / "data", purpose="station serve"):
        assert main(["calibrate", "--simulate", "--data-dir", "data"]) == 1
    err = capsys.readouterr().err
    assert "in use by" in err and "stop the service" in err
