"""A simulated rig: seeded plates (unpaced), a real Acquisition fed frame by frame, a real
SQLite store, and the calibration service driven synchronously (no background thread)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hardware.sim import SimCells, SimLoadCellSource
from station.acquisition import Acquisition
from station.calibration_service import CalibrationService
from station.storage import Store


class SimRig:
    def __init__(self, tmp_path: Path, *, seed: int = 1, cells: SimCells | None = None,
                 sim_operator: bool = True, recording: list[bool] | None = None, rate_hz: float = 80.0,
                 **service_kw: Any) -> None:
        self.source = SimLoadCellSource(seed=seed, rate_hz=rate_hz, paced=False, cells=cells)
        self.acq = Acquisition(self.source)
        self.store = Store(tmp_path / f"station-{seed}.sqlite3")
        self.recording = recording if recording is not None else [False]
        self.service = CalibrationService(
            self.acq, self.store, is_recording=lambda: self.recording[0], background=False,
            sim_operator=sim_operator, **service_kw,
        )

    def run(self, seconds: float, *, poll_every: int | None = None) -> None:
        """Advance simulated time: process frames, poll the service 5 times a second."""
        n = int(round(seconds * self.source.rate_hz))
        poll_every = poll_every or max(1, int(self.source.rate_hz / 5))
        for i in range(n):
            self.acq.process(self.source.read_frame())
            if (i + 1) % poll_every == 0:
                self.service.poll()
        self.service.poll()

    def calibrate(self, *, mass_kg: float = 20.0, linearity_mass_kg: float | None = 40.0,
                  actor: str = "admin", timeout_s: float = 15.0) -> dict[str, Any]:
        """The whole workflow with the simulated operator; returns the final status."""
        svc = self.service
        svc.start_workflow(mass_kg=mass_kg, linearity_mass_kg=linearity_mass_kg, actor=actor)
        self.run(3.0)
        svc.tare()
        self.wait_for("capture", lambda st: st["step_index"] >= len(st["steps"]), timeout_s * 20)
        svc.fit()
        self.run(3.0)  # the operator takes the mass off; the plates settle empty
        svc.verify()
        self.wait_for("verified", None, timeout_s * 8)
        return svc.activate(actor=actor)

    def wait_for(self, state: str, cond: Any, timeout_s: float) -> dict[str, Any]:
        t = 0.0
        while t < timeout_s:
            st = self.service.workflow_status()
            if st["state"] == state and (cond is None or cond(st)):
                return st
            if st["state"] not in (state, "capture", "verifying"):
                raise AssertionError(f"workflow went to {st['state']}: {st.get('error')}")
            self.run(0.5)
            t += 0.5
        raise AssertionError(f"timed out waiting for {state}: {self.service.workflow_status()['live']}")

    def close(self) -> None:
        self.service.close()
        self.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[SimRig]:
    r = SimRig(tmp_path)
    yield r
    r.close()


def true_gains_n_per_count(cells: SimCells) -> np.ndarray:
    return 1.0 / np.asarray(cells.gains_counts_per_n)
