"""A simulated calibration rig: seeded plates (unpaced), a real Acquisition fed frame by
frame, a real SQLite store, and the calibration service driven synchronously (no
background thread), so simulated minutes run in seconds and every run is the same."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from calibration.sim_operator import SimOperator
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
            operator=SimOperator(self.source) if sim_operator else None, **service_kw,
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

    def wait_for(self, state: str, cond: Callable[[dict[str, Any]], bool] | None,
                 timeout_s: float) -> dict[str, Any]:
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


def measure(rig: SimRig, mass_kg: float, pos_mm: tuple[float, float]) -> tuple[float, float, float]:
    """As a trial does: zero on the empty plates (the recorder tares when it arms), then
    place a mass, let it settle, average 1 s. Returns force error %, CoP error mm, true fz.

    Zeroing first keeps the simulator's zero drift (a random walk of the offsets) out of
    what this measures: the gains and the geometry.
    """
    rig.source.clear_masses()
    rig.run(1.0)
    arr, _, _ = rig.acq.buffer.read_since(rig.acq.buffer.next_seq - 40)
    rig.acq.set_calibration(rig.acq.calibration.with_offsets(arr["counts"].mean(axis=0)))
    rig.source.place_mass(mass_kg, pos_mm)
    rig.run(1.5)
    arr, _, _ = rig.acq.buffer.read_since(rig.acq.buffer.next_seq - 80)
    loads = arr["loads_n"].mean(axis=0)
    truth = rig.source.truth_now()
    true_fz = float(truth["fz_n"].sum())
    pos = rig.acq.calibration.geometry.cell_positions_mm()
    cop = loads @ pos / loads.sum()
    return (loads.sum() - true_fz) / true_fz * 100.0, float(np.linalg.norm(cop - truth["cop_combined_mm"])), true_fz
