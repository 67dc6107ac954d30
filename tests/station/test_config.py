"""Configuration: sources, overrides, and bad settings stopping start-up with one clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.core.config import load_settings
from station.core.errors import ConfigError


def test_defaults_are_simulated_on_loopback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert (s.hardware, s.host, s.port, s.sample_rate_hz) == ("sim", "127.0.0.1", 8000, 80)
    assert s.db_path == Path("data") / "station.sqlite3"


def test_env_then_toml_then_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "station.toml"
    toml.write_text('port = 9000\nhost = "0.0.0.0"\n[pins]\nsck = 4\n')
    monkeypatch.setenv("STATION_CONFIG", str(toml))
    monkeypatch.setenv("STATION_PORT", "9100")
    s = load_settings()
    assert (s.port, s.host, s.pins.sck) == (9100, "0.0.0.0", 4)  # env beats the file
    assert load_settings(port=9200, host=None).port == 9200  # flags beat env; None = not given


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"STATION_HARDWARE": "arduino"}, "STATION_HARDWARE"),
        ({"STATION_PINS__SCK": "99"}, "STATION_PINS"),
        ({"STATION_PINS__DOUT": "[5, 6, 13, 19, 26, 16, 20, 17]"}, "STATION_PINS"),
        ({"STATION_PORT": "70000"}, "STATION_PORT"),
        ({"STATION_GEOMETRY_FILE": "/nonexistent/geometry.json"}, "STATION_GEOMETRY_FILE"),
        ({"STATION_CONFIG": "/nonexistent/station.toml"}, "STATION_CONFIG"),
    ],
)
def test_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert exc.value.setting == setting
    assert setting in str(exc.value)


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "station", "serve", "--data-dir", str(tmp_path / "data"), "--port", "18765", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"STATION_HARDWARE": "arduino"}, "STATION_HARDWARE"),
        ({"STATION_PINS__SCK": "99"}, "STATION_PINS"),
        ({"STATION_GEOMETRY_FILE": "BADJSON"}, "STATION_GEOMETRY_FILE"),
    ],
)
def test_serve_stops_with_one_clear_message(tmp_path: Path, env: dict[str, str], setting: str) -> None:
    if env.get("STATION_GEOMETRY_FILE") == "BADJSON":
        bad = tmp_path / "geometry.json"
        bad.write_text('{"plates": {"left": ')
        env = {"STATION_GEOMETRY_FILE": str(bad)}
    proc = _serve(tmp_path, env)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr  # one message, no traceback
    assert lines[0].startswith("error: configuration error in " + setting)
