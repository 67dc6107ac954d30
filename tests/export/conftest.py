"""A stored trial made from a simulated one (raw counts + the cells' true calibration)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hardware.sim import SimTrial, simulate_trial
from station.storage import Store


@dataclass
class StoredTrial:
    store: Store
    trial: dict[str, Any]
    sim: SimTrial


def store_sim_trial(store: Store, protocol: str = "single_leg_stance", *, seed: int = 4, leg: str | None = "left",
                    duration_s: float = 12.0) -> StoredTrial:
    sim = simulate_trial(protocol, seed=seed, leg=leg or "left", duration_s=duration_s)
    cal = sim.cells.true_calibration()
    cal_id = store.save_calibration(kind="calibration", data=cal.to_dict(), created_by="test", activate=True)
    athlete = store.create_athlete(name="Export Athlete", body_mass_kg=70.0)
    trial = store.create_trial(
        athlete_id=athlete["id"], protocol=protocol, leg=leg, sample_rate_hz=80.0,
        calibration_id=cal_id, zero_offsets=list(cal.offsets_counts),
    )
    for i in range(0, len(sim.t_ns), 80):
        store.append_samples(trial["id"], sim.t_ns[i:i + 80], sim.counts[i:i + 80], sim.invalid[i:i + 80])
    store.finish_trial(trial["id"], status="saved", metrics={"sway": {"ml_rms_mm": 5.5}},
                       events=[{"kind": "lift_off", "t_s": 1.8}])
    return StoredTrial(store, store.get_trial(trial["id"]), sim)


@pytest.fixture
def stored(fresh_db: Store) -> StoredTrial:
    return store_sim_trial(fresh_db)
