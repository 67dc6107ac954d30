"""A sensor fault during a real recording: start a bilateral stance through the API,
inject the fault into the running source part-way, and return the stored trial
(tests/reliability/test_sensor_faults.py and bench/bench_reliability.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from station.testing.service import BUSY, quick_options, wait_until

#: The recording's length, when the fault starts in it, and how long a timed fault lasts (s).
DURATION_S = 5.0
FAULT_AT_S = 1.0
FAULT_S = 2.0


def record_with_fault(
    client: TestClient, inject: Callable[[], None], *, duration_s: float = DURATION_S, at_s: float = FAULT_AT_S,
    during: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Record a bilateral stance, call ``inject`` at ``at_s`` into it, then ``during`` once
    the fault has had 0.8 s to show; return the stored trial."""
    athlete = client.post("/api/v1/athletes", json={"name": "Fault Athlete", "body_mass_kg": 70}).json()
    r = client.post(
        "/api/v1/recording/start",
        json={"athlete_id": athlete["id"], "protocol": "bilateral_stance", "options": quick_options(duration_s)},
    )
    assert r.status_code == 202, r.text
    wait_until(lambda: client.get("/api/v1/recording/status").json()["elapsed_s"] >= at_s, 20, "the recording")
    inject()
    time.sleep(0.8)
    if during is not None:
        during()
    status = wait_until(
        lambda: (s := client.get("/api/v1/recording/status").json())["state"] not in BUSY and s, 30, "the trial's end"
    )
    assert status["state"] == "saved", status
    r = client.get(f"/api/v1/trials/{status['trial_id']}")
    assert r.status_code == 200
    trial: dict[str, Any] = r.json()
    return trial
