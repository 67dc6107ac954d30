"""``station export`` and ``station token`` on a real database file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from station.cli import main
from station.rawcsv import read_raw_csv
from station.storage import Store

from .conftest import store_sim_trial


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    store = Store(d / "station.sqlite3")
    store_sim_trial(store, duration_s=4.0)
    store.close()
    return d


@pytest.mark.parametrize("fmt", ["csv", "json", "c3d"])
def test_export_trial_formats(data_dir: Path, tmp_path: Path, fmt: str, capsys) -> None:
    out = tmp_path / f"out.{fmt}"
    assert main(["export", "1", "--format", fmt, "--out", str(out), "--data-dir", str(data_dir)]) == 0
    assert out.stat().st_size > 100 and "Wrote" in capsys.readouterr().out


def test_export_bad_input_exits_2(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", "--data-dir", str(data_dir)]) == 2
    assert main(["export", "1", "--out", str(tmp_path / "no" / "x.csv"), "--data-dir", str(data_dir)]) == 2
    assert main(["export", "1", "--data-dir", str(tmp_path / "elsewhere")]) == 2
    err = capsys.readouterr().err
    assert "TRIAL_ID" in err and "does not exist" in err and "no station database" in err
    assert not (tmp_path / "elsewhere" / "station.sqlite3").exists()  # nothing created by mistake
    with pytest.raises(SystemExit) as info:
        main(["export", "abc", "--data-dir", str(data_dir)])
    assert info.value.code == 2


def test_athlete_privacy_export_zip(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "athlete.zip"
    assert main(["export", "--athlete", "1", "--out", str(out), "--data-dir", str(data_dir)]) == 0
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"athlete.json", "trials/trial_1.csv"} <= names
        doc = json.loads(zf.read("athlete.json"))
        zf.extract("trials/trial_1.csv", tmp_path)
    assert doc["athlete"]["name"] == "Export Athlete" and [t["id"] for t in doc["trials"]] == [1]
    assert len(read_raw_csv(tmp_path / "trials" / "trial_1.csv").t_s) == 4 * 80


def test_token_cli_lifecycle(data_dir: Path, capsys) -> None:
    dd = ["--data-dir", str(data_dir)]
    assert main(["token", "create", "tablet-1", "--role", "coach", *dd]) == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert len(secret) >= 40 and "cannot be shown again" in captured.err
    store = Store(data_dir / "station.sqlite3")
    assert store.verify_token(secret)["role"] == "coach"  # type: ignore[index]
    assert main(["token", "list", *dd]) == 0
    listing = capsys.readouterr().out
    assert "tablet-1" in listing and secret not in listing
    assert main(["token", "revoke", "tablet-1", *dd]) == 0
    assert store.verify_token(secret) is None
    assert main(["token", "revoke", "tablet-1", *dd]) == 1  # no such active token
    assert main(["token", "create", "has space", "--role", "admin", *dd]) == 2
    assert any(e["actor"].startswith("cli") for e in store.list_audit())
    store.close()
    with pytest.raises(SystemExit) as info:
        main(["token", "create", "x", "--role", "root", *dd])
    assert info.value.code == 2
