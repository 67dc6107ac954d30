"""``station purge`` as an admin runs it (cron, a timer): a real process on a real
database for the main path; bad input exits 2 with a message and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from station.storage import Store


def station(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "station", "purge", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _deleted_athlete_with_a_trial(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "station.sqlite3")
    try:
        a = store.create_athlete(name="Forget Me")
        t = store.create_trial(athlete_id=a["id"], protocol="bilateral_stance", sample_rate_hz=80)
        n = 100
        store.append_samples(t["id"], np.arange(n) * 12_500_000, np.ones((n, 8), np.int64), np.zeros(n, np.int32))
        store.finish_trial(t["id"], status="saved", metrics={}, events=[])
        store.create_athlete(name="Keep Me")
        store.delete_athlete(a["id"], actor="admin")
    finally:
        store.close()


def test_purge_erases_deleted_data_after_the_grace_period(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _deleted_athlete_with_a_trial(data)
    kept = station("--data-dir", data)
    assert kept.returncode == 0, kept.stderr
    assert "Erased 0 athlete(s), 0 trial(s)" in kept.stdout and "VACUUM" not in kept.stderr
    assert b"Forget Me" in (data / "station.sqlite3").read_bytes()

    done = station("--data-dir", data, "--older-than-days", "0")
    assert done.returncode == 0, done.stderr
    assert "Erased 1 athlete(s), 1 trial(s) and 0 video file(s)" in done.stdout
    assert "Compacting the database (VACUUM)" in done.stderr
    raw = (data / "station.sqlite3").read_bytes()
    assert b"Forget Me" not in raw and b"Keep Me" in raw
    store = Store(data / "station.sqlite3")
    try:
        assert store.list_audit(limit=1)[0]["actor"] == "cli:purge"
    finally:
        store.close()


def test_no_database_is_a_clear_input_error(tmp_path: Path) -> None:
    r = station("--data-dir", tmp_path / "nowhere")
    assert r.returncode == 2
    assert "no station database" in r.stderr and "--data-dir" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "nowhere" / "station.sqlite3").exists()  # a wrong folder gets no empty database


@pytest.mark.parametrize("days", ["-1", "nan", "inf", "thirty"])
def test_a_bad_grace_period_exits_2_and_erases_nothing(tmp_path: Path, days: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from station.cli import main

    data = tmp_path / "data"
    _deleted_athlete_with_a_trial(data)
    with pytest.raises(SystemExit) as exc:
        main(["purge", "--data-dir", str(data), "--older-than-days", days])
    assert exc.value.code == 2
    assert "--older-than-days" in capsys.readouterr().err
    assert b"Forget Me" in (data / "station.sqlite3").read_bytes()
