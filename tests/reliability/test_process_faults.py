"""Process faults on the real service (``station serve`` in a subprocess, real SQLite file):
SIGKILL mid-calibration and mid-recording under write load, the database locked by another
process, and a full disk (RLIMIT_FSIZE on the service: writes past the limit fail as on a
full card). After each: ``PRAGMA integrity_check`` ok, nothing acknowledged lost, a clear
message to the user, and a restarted service that works.

(tests/api/test_crash.py already checks that a trial killed mid-recording comes back
``interrupted`` with all but the last second; this file does not repeat that.)"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from station.testing.service import (
    BUSY,
    StationService,
    quick_options,
    running_service,
    seed_calibration,
    wait_until,
)

pytestmark = pytest.mark.slow
RATE_HZ = 80.0


def integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def all_athletes(http: httpx.Client) -> list[dict[str, Any]]:
    """Every athlete the service lists, page by page."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = http.get("/api/v1/athletes", params={"limit": 200, "offset": offset}).json()
        items += page["items"]
        offset += 200
        if offset >= page["total"]:
            return items


def calibration_rows(db: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id, kind, active, data FROM calibrations ORDER BY id").fetchall()
    finally:
        con.close()


def test_sigkill_mid_calibration_leaves_the_active_calibration(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    cal_id = seed_calibration(data_dir)
    db = data_dir / "station.sqlite3"
    svc = StationService(data_dir).start()
    try:
        current = svc.http.get("/api/v1/calibration").json()
        assert current["calibration"]["id"] == cal_id
        gains = current["in_use"]["gains_n_per_count"]
        r = svc.http.post("/api/v1/calibration/workflow/start", json={"mass_kg": 20})
        assert r.status_code == 200, r.text
        # the zero needs 2 s of readings of the empty plates: ask until it has them
        wait_until(lambda: svc.http.post("/api/v1/calibration/workflow/tare").status_code == 200, 15, "the tare",
                   interval_s=0.3)
        step = svc.http.get("/api/v1/calibration/workflow").json()
        assert step["state"] not in ("idle", None), step
        before = calibration_rows(db)
        svc.kill()
    finally:
        svc.stop()
    assert integrity(db) == "ok"
    # nothing half-written: the calibration rows are those there were, each complete
    after = calibration_rows(db)
    assert [r[:3] for r in after if r[1] == "calibration"] == [r[:3] for r in before if r[1] == "calibration"]
    assert all(isinstance(json.loads(r[3]), dict) for r in after)
    with running_service(data_dir, port=svc.port) as again:
        current = again.http.get("/api/v1/calibration").json()
        assert current["calibration"]["id"] == cal_id and current["workflow"] == "idle"
        assert current["in_use"]["gains_n_per_count"] == gains  # the gains in use are the active ones
        wf = again.http.get("/api/v1/calibration/workflow").json()
        assert wf["state"] in ("idle", None), wf  # the workflow starts over, no leftover step
        # and a new workflow can start
        assert again.http.post("/api/v1/calibration/workflow/start", json={"mass_kg": 20}).status_code == 200
        assert again.http.post("/api/v1/calibration/workflow/cancel").status_code == 200
        assert again.http.get("/api/v1/calibration").json()["calibration"]["id"] == cal_id


def test_sigkill_under_write_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Tablets keep creating athletes while a trial records; SIGKILL. Every create that was
    answered 201 is in the database after restart; the trial is kept and can be analysed."""
    data_dir = tmp_path / "data"
    seed_calibration(data_dir)
    svc = StationService(data_dir).start()
    acked: list[int] = []
    stop = threading.Event()

    def writer(k: int) -> None:
        with httpx.Client(base_url=svc.base_url, timeout=5) as c:
            for i in range(2000):  # bounded; the kill ends it much earlier
                if stop.is_set():
                    return
                try:
                    r = c.post("/api/v1/athletes", json={"name": f"W{k}-{i}", "notes": "x" * 500})
                except httpx.TransportError:
                    return
                if r.status_code == 201:
                    acked.append(r.json()["id"])

    try:
        a = svc.http.post("/api/v1/athletes", json={"name": "Kill Me", "body_mass_kg": 70}).json()
        r = svc.http.post("/api/v1/recording/start", json={
            "athlete_id": a["id"], "protocol": "bilateral_stance", "options": quick_options(60)})
        assert r.status_code == 202, r.text
        wait_until(lambda: svc.http.get("/api/v1/recording/status").json()["elapsed_s"] >= 1.0, 30, "recording")
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) >= 40, 20, "40 acknowledged writes")
        wait_until(lambda: svc.http.get("/api/v1/recording/status").json()["elapsed_s"] >= 4.0, 30, "4 s of trial")
        trial_id = svc.http.get("/api/v1/recording/status").json()["trial_id"]
        svc.kill()
        stop.set()
        for t in threads:
            t.join(10)
    finally:
        stop.set()
        svc.stop()
    db = data_dir / "station.sqlite3"
    assert integrity(db) == "ok"
    with running_service(data_dir, port=svc.port) as again:
        ids = {x["id"] for x in all_athletes(again.http)}
        assert set(acked) <= ids, f"{len(set(acked) - ids)} acknowledged athletes lost"
        trial = again.http.get(f"/api/v1/trials/{trial_id}").json()
        assert trial["status"] == "interrupted" and trial["n_samples"] > RATE_HZ
        r = again.http.post(f"/api/v1/trials/{trial_id}/recompute", json={})
        assert r.status_code == 200, r.text
        m = r.json()["metrics"]
        assert m["sway"] is not None and m["sway"]["ml_rms_mm"] > 0, (m["warnings"], m.get("quality"), m.get("duration_s"))


HOLD_LOCK = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()  # hold the lock until told to let go
con.execute("ROLLBACK")
"""


class LockHolder:
    """A real second process holding an exclusive lock on the database file."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(10)


def test_database_locked_by_another_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_service(data_dir) as svc:
        db = data_dir / "station.sqlite3"
        a = svc.http.post("/api/v1/athletes", json={"name": "Locked Out", "body_mass_kg": 70}).json()
        # 1. A short lock (2 s, under the 5 s busy timeout) during a recording: it waits, loses nothing.
        r = svc.http.post("/api/v1/recording/start", json={
            "athlete_id": a["id"], "protocol": "bilateral_stance", "options": quick_options(5)})
        assert r.status_code == 202
        wait_until(lambda: svc.http.get("/api/v1/recording/status").json()["elapsed_s"] >= 1.0, 30, "recording")
        holder = LockHolder(db)
        time.sleep(2.0)
        holder.release()
        status = wait_until(
            lambda: (s := svc.http.get("/api/v1/recording/status").json())["state"] not in BUSY and s, 30, "trial end")
        assert status["state"] == "saved", (status["message"], svc.log_text()[-2000:])
        trial = svc.http.get(f"/api/v1/trials/{status['trial_id']}").json()
        assert trial["n_samples"] == pytest.approx(5 * RATE_HZ, abs=3)
        assert trial["metrics"]["recording"]["frames_lost"] == 0

        # 2. A long lock: a write answers 503 with a clear reason after the busy timeout.
        holder = LockHolder(db)
        try:
            t0 = time.monotonic()
            r = svc.http.post("/api/v1/athletes", json={"name": "Blocked"})
            waited = time.monotonic() - t0
            assert r.status_code == 503, r.text
            body = r.json()
            assert "locked by another process" in body["detail"] and body["hint"]
            assert "Traceback" not in r.text and waited < 12
            # the service stays up and answers what does not write
            assert svc.http.get("/api/v1/recording/status").status_code == 200
            assert svc.alive()
        finally:
            holder.release()
        # 3. Released: writing works again, the blocked write left nothing behind.
        r = svc.http.post("/api/v1/athletes", json={"name": "After Lock"})
        assert r.status_code == 201
        names = [x["name"] for x in svc.http.get("/api/v1/athletes", params={"limit": 50}).json()["items"]]
        assert "After Lock" in names and "Blocked" not in names
    assert integrity(db) == "ok"


def test_disk_full_gives_a_clear_error_keeps_data_and_recovers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seed_calibration(data_dir)
    db = data_dir / "station.sqlite3"
    limit = db.stat().st_size + 1_500_000
    acked: list[str] = []
    with running_service(data_dir, file_size_limit_bytes=limit) as svc:
        a = svc.http.post("/api/v1/athletes", json={"name": "Full Disk", "body_mass_kg": 70}).json()
        r = svc.http.post("/api/v1/recording/start", json={
            "athlete_id": a["id"], "protocol": "bilateral_stance", "options": quick_options(60)})
        assert r.status_code == 202
        wait_until(lambda: svc.http.get("/api/v1/recording/status").json()["frames"] >= RATE_HZ, 30, "samples")
        full = None
        for i in range(3000):  # ~1.5 MB of notes fills the limit long before this
            r = svc.http.post("/api/v1/athletes", json={"name": f"Filler {i}", "notes": "n" * 2000})
            if r.status_code == 201:
                acked.append(r.json()["name"])
                continue
            full = r
            break
        assert full is not None, "the size limit was never reached"
        assert full.status_code == 503, full.text
        assert "full" in full.json()["detail"] and "Free disk space" in (full.json()["hint"] or "")
        assert "Traceback" not in full.text
        # the recording cannot write either: it fails with a clear message, samples kept
        status = wait_until(
            lambda: (s := svc.http.get("/api/v1/recording/status").json())["state"] not in BUSY and s, 20, "trial end")
        assert status["state"] == "failed" and "full" in status["message"] and "kept" in status["message"]
        trial_id = status["trial_id"]
        written = status["frames"]
        assert svc.alive() and svc.http.get("/healthz").status_code in (200, 503)
    assert integrity(db) == "ok"
    # restart with space again: everything acknowledged is there, the trial is kept and readable
    with running_service(data_dir) as again:
        trial = again.http.get(f"/api/v1/trials/{trial_id}").json()
        assert trial["status"] in ("failed", "interrupted")
        assert trial["n_samples"] == written and written >= RATE_HZ
        csv = again.http.get(f"/api/v1/trials/{trial_id}/export.csv")
        assert csv.status_code == 200  # checksums verified on load
        names = {x["name"] for x in all_athletes(again.http)}
        assert set(acked) <= names
        assert again.http.post("/api/v1/athletes", json={"name": "Space Again"}).status_code == 201
    assert integrity(db) == "ok"
