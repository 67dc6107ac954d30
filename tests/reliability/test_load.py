"""20 tablets polling status and lists plus 10 live viewers and one client that never
reads, during a recording on the real service (subprocess, loopback, bounded time):
no acquisition frame dropped, no error response, every viewer gets every sample,
the stalled client neither blocks the others nor makes the service's memory grow."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.testing.load import rss_bytes, run_load, trial_frames_check
from station.testing.service import (
    BUSY,
    quick_options,
    running_service,
    seed_calibration,
    wait_until,
)

pytestmark = pytest.mark.slow
RATE_HZ = 80.0
LOAD_S = 8.0


def test_tablets_and_viewers_during_a_recording(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seed_calibration(data_dir)
    with running_service(data_dir, log_level="warning") as svc:
        for i in range(30):
            assert svc.http.post("/api/v1/athletes", json={"name": f"Tablet Athlete {i}"}).status_code == 201
        athlete = svc.http.post("/api/v1/athletes", json={"name": "Under Load", "body_mass_kg": 70}).json()
        health0 = svc.http.get("/healthz").json()["hardware"]
        r = svc.http.post("/api/v1/recording/start", json={
            "athlete_id": athlete["id"], "protocol": "bilateral_stance", "options": quick_options(LOAD_S + 2)})
        assert r.status_code == 202
        wait_until(lambda: svc.http.get("/api/v1/recording/status").json()["state"] == "recording", 20, "recording")
        assert svc.proc is not None
        rss0 = rss_bytes(svc.proc.pid)
        result = run_load(svc.base_url, duration_s=LOAD_S, pollers=20, viewers=10, slow=1)
        rss1 = rss_bytes(svc.proc.pid)
        print("\nload:", result.summary(), f"; service RSS {rss0 / 1e6:.0f} -> {rss1 / 1e6:.0f} MB")
        status = wait_until(
            lambda: (s := svc.http.get("/api/v1/recording/status").json())["state"] not in BUSY and s, 30, "trial end")
        assert status["state"] == "saved", status
        trial = svc.http.get(f"/api/v1/trials/{status['trial_id']}").json()
        health1 = svc.http.get("/healthz").json()["hardware"]

    # no error response, and the pollers really ran (20 tablets at 4 polls/s)
    assert result.failed == 0, result.failures[:5]
    assert result.requests >= 20 * LOAD_S
    # no acquisition frame dropped: the trial holds duration x rate frames, none lost
    stored, expected = trial_frames_check(trial, RATE_HZ)
    assert abs(stored - expected) <= 1, (stored, expected)
    assert trial["metrics"]["recording"]["frames_lost"] == 0 and status["frames_lost"] == 0
    assert health1["errors"] == health0["errors"]
    assert health1["achieved_rate_hz"] == pytest.approx(RATE_HZ, rel=0.03)
    # every viewer got every sample in order, nothing dropped for them
    assert not result.ws_errors, result.ws_errors
    assert len(result.ws_samples) == 10
    # (each from its hello on: 30 clients connecting at once take a moment)
    for got, connected_s in zip(result.ws_samples, result.ws_connected_s, strict=True):
        assert got >= (connected_s - 0.5) * RATE_HZ, (got, connected_s)
    assert min(result.ws_connected_s) >= LOAD_S / 2
    assert sum(result.ws_seq_gaps) == 0 and sum(result.ws_dropped) == 0
    # the stalled client's queue is bounded: the service did not grow by more than a few MB
    assert rss1 - rss0 < 40e6, (rss0, rss1)
