"""A Pi without a real-time clock (issue 16 item 7): a wall clock in 1970, then corrected,
refuses no athlete, loses no good backup, and health says the clock is not synchronised.

The wrong clock is real: ``station serve`` and ``station backup`` run under libfaketime
(Debian's ``faketime``, installed by ``make debian-test-deps``), which fakes the time every
call in the process sees (Python's datetime, time.time, the backup file names).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.backup import list_backups
from station.core.clock import FLOOR_DATE, clock_status, year_at_least
from station.core.errors import ConflictError
from station.storage import Store
from station.testing.service import running_service

#: libfaketime's "start at" form: the clock reads this at start-up, then runs.
IN_1970 = "@1970-01-02 00:00:00"


def _in_1970() -> dict[str, str]:
    """The environment that puts a process's wall clock in 1970 (libfaketime preloaded
    into the process itself, not the ``faketime`` wrapper: a SIGTERM must reach it)."""
    libs = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not libs:
        pytest.skip("libfaketime is not installed (make debian-test-deps installs faketime)")
    # libfaketime shifts the monotonic clock too (by a constant: it still runs). Keeping it
    # real (FAKETIME_DONT_FAKE_MONOTONIC=1) makes Python's time.sleep fail with EINVAL
    # (libfaketime 0.9.10's clock_nanosleep with TIMER_ABSTIME), which no Pi does.
    return {"LD_PRELOAD": str(libs[0]), "FAKETIME": IN_1970}


def _backup(data_dir: Path, env: dict[str, str] | None = None) -> Path:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}
    done = subprocess.run(
        [sys.executable, "-m", "station", "backup", "--data-dir", str(data_dir)],
        env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return list_backups(data_dir / "backups")[-1]


def _names(db: Path) -> list[tuple[str, int]]:
    store = Store(db)
    try:
        rows, _ = store.list_athletes()
        return [(r["name"], r["birth_year"]) for r in rows]
    finally:
        store.close()


def test_a_clock_in_1970_then_corrected_refuses_no_athlete_and_loses_no_backup(tmp_path: Path) -> None:
    in_1970 = _in_1970()
    data_dir = tmp_path / "data"
    with running_service(data_dir, env=in_1970) as svc:
        hz = svc.http.get("/healthz")
        assert hz.json()["clock"]["now"].startswith("1970-01-0"), hz.json()["clock"]
        [clock] = [p for p in hz.json()["problems"] if p["code"] == "clock_unsynchronised"]
        assert clock["severity"] == "warn" and "1970" in clock["message"]
        assert hz.status_code == 200, hz.json()  # a warning: the station still records
        for name, year in (("Anna", 1990), ("Bram", 2010), ("Cas", FLOOR_DATE.year)):
            made = svc.http.post("/api/v1/athletes", json={"name": name, "birth_year": year})
            assert made.status_code == 201, made.text
            assert made.json()["created_at"].startswith("1970")
        too_late = svc.http.post("/api/v1/athletes", json={"name": "Dirk", "birth_year": FLOOR_DATE.year + 1})
        assert too_late.status_code == 422  # the floor year bounds it: still no birth in the future
    db = data_dir / "station.sqlite3"
    athletes = [("Anna", 1990), ("Bram", 2010), ("Cas", FLOOR_DATE.year)]
    assert _names(db) == athletes

    first = _backup(data_dir, in_1970)
    assert "-19700102T" in first.name
    good = _backup(data_dir)  # the clock is right again
    assert f"-{dt.datetime.now(dt.UTC):%Y%m%d}T" in good.name
    again_1970 = _backup(data_dir, in_1970)  # a reboot before NTP answers
    # Rotation goes by sequence number: the good backup survives a later one dated 1970
    # (by the wall clock it would have been the newest, and a 1970 one the oldest).
    kept = list_backups(data_dir / "backups")
    assert kept == [good, again_1970], kept  # the first went: same day label as again_1970, older
    assert first not in kept
    for b in kept:
        assert _names(b) == athletes

    with running_service(data_dir) as svc:  # corrected: no warning, everyone still there
        hz = svc.http.get("/healthz").json()
        assert [p for p in hz["problems"] if p["code"] == "clock_unsynchronised"] == []
        assert hz["clock"]["synchronised"] is True
        listed = svc.http.get("/api/v1/athletes").json()
        assert [(a["name"], a["birth_year"]) for a in listed["items"]] == athletes


def test_the_birth_year_bound_never_falls_below_the_floor() -> None:
    assert year_at_least(dt.datetime(1970, 1, 2, tzinfo=dt.UTC)) == FLOOR_DATE.year
    assert year_at_least(dt.datetime(2031, 5, 1, tzinfo=dt.UTC)) == 2031


def test_clock_status_trusts_systemd_and_the_floor() -> None:
    after = dt.datetime.combine(FLOOR_DATE, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(days=400)
    before = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
    assert clock_status(after, ntp=True).synchronised
    assert clock_status(after, ntp=None).synchronised  # no systemd to ask: the floor alone
    far_ahead = clock_status(after, ntp=False)  # e.g. fake-hwclock years ahead, no NTP yet
    assert not far_ahead.synchronised and "NTP" in far_ahead.reason
    for ntp in (True, None, False):
        early = clock_status(before, ntp=ntp)
        assert not early.synchronised and early.before_floor and "1970" in early.reason


def test_purge_waits_for_a_synchronised_clock(tmp_path: Path) -> None:
    store = Store(tmp_path / "station.sqlite3")
    try:
        a = store.create_athlete(name="Eva")
        store.delete_athlete(a["id"], actor="test")
        ahead = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)  # a clock years ahead would erase Eva at once
        with pytest.raises(ConflictError, match="not purging"):
            store.purge_deleted(older_than_days=30, clock=clock_status(ahead, ntp=False))
        assert store.get_athlete(a["id"], include_deleted=True)["name"] == "Eva"
        done = store.purge_deleted(older_than_days=0, clock=clock_status(ahead, ntp=True))
        assert done["athletes"] == 1
    finally:
        store.close()


def test_the_kiosk_says_the_clock_is_not_synchronised_in_dutch(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from station.testing.browser import health_banner

    with running_service(tmp_path / "data", env=_in_1970()) as svc, sync_playwright() as pw:
        text, css = health_banner(pw, svc.base_url, "clock_unsynchronised")
        assert "Klok niet gesynchroniseerd" in text and "1970-01-0" in text, text
        assert "warn" in css
