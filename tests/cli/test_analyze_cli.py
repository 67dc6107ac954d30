"""``station analyze`` as a user runs it: real files; a real process for the main paths,
the same ``station.cli.main`` in-process for the many bad-input cases (process start-up
costs seconds each)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
HEADER = "t_s,left_fl,left_fr,left_bl,left_br,right_fl,right_fr,right_bl,right_br"


def station(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "station", "analyze", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def in_process(capsys):
    """Run ``station analyze`` through ``station.cli.main``; same result shape as ``station``."""
    from station.cli import main

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        try:
            code = main(["analyze", *map(str, args)])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return run


def test_analyzes_a_csv_exported_by_the_station(tmp_path):
    from hardware.sim import simulate_trial

    tr = simulate_trial("single_leg_stance", seed=4, leg="right", hold_s=8.0)
    path = tr.to_csv(tmp_path / "trial.csv")
    p = station(path, "--protocol", "single_leg_stance", "--leg", "right", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["single_leg"]["touchdowns"] == len(tr.truth.touchdowns) == 1
    assert r["single_leg"]["time_to_touchdown_s"] == pytest.approx(
        tr.truth.touchdowns[0]["on_s"] - tr.truth.lift_off_s, abs=0.01)
    assert "analysed" in p.stderr  # progress goes to stderr, JSON alone on stdout


def test_analyzes_the_hand_written_csv():
    p = station(DATA / "hand_written_trial.csv", "--protocol", "single_leg_stance", "--leg", "left", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["sample_rate_hz"] == pytest.approx(20.0)
    assert r["body_weight_n"] == pytest.approx(700.0)
    # right plate falls from 43.6 N (2.15 s) to 0 (2.20 s) on a 880 N/s edge -> 20 N at 2.1768 s
    assert r["single_leg"]["lift_off_s"] == pytest.approx(2.1768, abs=0.001)
    assert r["sway"]["ml_rms_mm"] == pytest.approx(10 / 2**0.5, rel=0.1)  # 10 mm sine on the left plate
    assert r["warnings"] == []


def test_human_summary_and_geometry_file(in_process):
    p = in_process(DATA / "real" / "walk_80hz.csv", "--protocol", "stepping",
                "--geometry", DATA / "real" / "walk_geometry.json")
    assert p.returncode == 0, p.stderr
    assert "contacts: 2" in p.stdout and "symmetry" in p.stdout


def test_c3d_input(tmp_path, in_process):
    with zipfile.ZipFile(DATA / "real" / "walk.c3d.zip") as z:
        z.extract("walk.c3d", tmp_path)
    p = station(tmp_path / "walk.c3d", "--plates", "2,4", "--protocol", "stepping", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert [c["foot"] for c in r["contacts"]] == ["right", "left"]
    p = in_process(tmp_path / "walk.c3d", "--protocol", "stepping")
    assert p.returncode == 2 and "--plates" in p.stderr


def write(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(["# metadata: x", header, *rows]) + "\n")
    return path


ROWS = [f"{i / 80:.4f},100,100,100,100,100,100,100,100" for i in range(200)]


@pytest.mark.parametrize(
    ("rows", "header", "expect"),
    [
        (ROWS, HEADER.replace("left_fr", "left_front"), "line 2, column 3"),
        (ROWS[:50] + ["0.6250,100,100,abc,100,100,100,100,100"] + ROWS[51:], HEADER, "line 53, column 4"),
        (ROWS[:50] + ["0.6250,100,100,nan,100,100,100,100,100"] + ROWS[51:], HEADER, "line 53, column 4"),
        (ROWS[:50] + ["0.1000,100,100,100,100,100,100,100,100"] + ROWS[51:], HEADER, "line 53, column 1"),
        (ROWS[:40], HEADER, "line 42, column 1"),
    ],
    ids=["wrong-header", "non-numeric", "nan", "non-monotonic", "too-short"],
)
def test_bad_input_exits_2_with_line_and_column(tmp_path, in_process, rows, header, expect):
    p = in_process(write(tmp_path, rows, header), "--protocol", "bilateral_stance", "--json")
    assert p.returncode == 2
    assert expect in p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert len([line for line in p.stderr.splitlines() if line.startswith("error:")]) == 1


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    p = station(write(tmp_path, ROWS[:50] + ["0.6250,100,100,abc,100,100,100,100,100"] + ROWS[51:]),
                "--protocol", "bilateral_stance")
    assert p.returncode == 2 and "line 53, column 4" in p.stderr and "Traceback" not in p.stderr


def test_unknown_protocol_leg_and_missing_file(tmp_path, in_process):
    path = write(tmp_path, ROWS)
    for args, words in (
        (["--protocol", "yoga"], "unknown protocol 'yoga'"),
        (["--protocol", "single_leg_stance", "--leg", "middle"], "unknown leg"),
        (["--protocol", "bilateral_stance", "--geometry", str(tmp_path / "nope.json")], "cannot read geometry"),
    ):
        p = in_process(path, *args)
        assert p.returncode == 2 and words in p.stderr and "Traceback" not in p.stderr
    p = in_process(tmp_path / "missing.csv", "--protocol", "bilateral_stance")
    assert p.returncode == 2 and "does not exist" in p.stderr
