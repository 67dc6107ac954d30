"""`station simulate` as a real process: the CSV and truth it writes, and its refusals."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hardware.sim import simulate_trial
from station.cli import main
from station.core.geometry import CHANNELS


def station(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "station", "simulate", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def test_writes_csv_and_truth(tmp_path):
    r = station("single_leg_squat", "--leg", "right", "--seed", "4", "--rate", "100", "--body-mass", "75",
                "--out", "squat.csv", "--truth", "squat.json", "-o", "reps=3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "squat.csv").read_text().splitlines()
    meta = [line for line in lines if line.startswith("#")]
    assert any(line == "# protocol: single_leg_squat" for line in meta)
    assert any(line == "# leg: right" for line in meta)
    header = lines[len(meta)]
    assert header == "t_s," + ",".join(CHANNELS)
    rows = list(csv.reader(lines[len(meta) + 1 :]))
    data = np.array(rows, dtype=float)
    # newtons: both plates together carry the body weight on average
    assert data[:, 1:].sum(axis=1).mean() == pytest.approx(75 * 9.81, rel=0.02)
    assert np.all(np.diff(data[:, 0]) > 0) and abs(np.diff(data[:, 0]).mean() - 0.01) < 1e-4
    truth = json.loads((tmp_path / "squat.json").read_text())
    assert len(truth["reps"]) == 3 and truth["stance_leg"] == "right"
    assert len(truth["series"]["t_s"]) == len(rows)
    # the same as the library with the same arguments
    trial = simulate_trial("single_leg_squat", seed=4, leg="right", rate_hz=100, body_mass_kg=75, reps=3)
    np.testing.assert_allclose(data[:, 1:], trial.loads_n, atol=1e-4)
    for got, want in zip(truth["reps"], trial.truth.reps, strict=True):
        assert got == pytest.approx(want)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["moonwalk"], "unknown protocol"),
        (["stepping", "--rate", "5"], "rate_hz"),
        (["stepping", "--seed", "abc"], "--seed"),
        (["stepping", "--leg", "middle"], "--leg"),
        (["stepping", "--duration", "0.2"], "duration"),
        (["stepping", "-o", "reps=3"], "unknown option"),
        (["single_leg_squat", "-o", "reps=lots"], "reps"),
        (["stepping", "--out", "no/such/dir/x.csv"], "does not exist"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(tmp_path, monkeypatch, capsys, args, needle):
    """In-process (each real process pays ~2 s of numpy/scipy imports); the process
    boundary itself is covered by the test below."""
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_bad_argument_in_a_real_process(tmp_path):
    r = station("stepping", "--rate", "5000", cwd=tmp_path)
    assert r.returncode == 2 and "rate_hz" in r.stderr and "Traceback" not in r.stderr
