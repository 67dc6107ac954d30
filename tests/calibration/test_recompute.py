"""A trial stores the id of the calibration it was recorded with, and its raw counts can
be re-analysed under a later, better calibration (Recorder.recompute)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from calibration.sim_operator import SimOperator
from hardware.sim import SimCells, SimLoadCellSource
from hardware.sim.director import SimDirector
from station.acquisition import Acquisition
from station.calibration_service import CalibrationService
from station.core.calibration import Calibration
from station.recording import Recorder
from station.storage import Store

BODY_MASS_KG = 70.0
SIM_G = 9.81


def _wait(svc: CalibrationService, pred, timeout_s: float = 60.0) -> dict:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        st = svc.workflow_status()
        if pred(st):
            return st
        assert st["state"] not in ("failed", "cancelled"), st
        time.sleep(0.05)
    raise AssertionError(f"timed out: {svc.workflow_status()}")


def _retry(fn, timeout_s: float = 30.0):
    from station.core.errors import CalibrationError

    end = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except CalibrationError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def test_trial_keeps_its_calibration_and_is_recomputed_under_a_new_one(tmp_path: Path) -> None:
    # Free-running (unpaced) simulated time: leave the zero drift out (see test_api.py).
    cells = SimCells.random(3, drift_counts_per_h=0.0, drift_walk_counts_per_sqrt_h=0.0)
    source = SimLoadCellSource(seed=3, rate_hz=80.0, paced=False, body_mass_kg=BODY_MASS_KG, cells=cells)
    store = Store(tmp_path / "station.sqlite3")
    true = source.cells.true_calibration(source.geometry)
    # Calibration A: zeroed but with nominal gains (an uncalibrated station).
    a = Calibration(offsets_counts=true.offsets_counts, geometry=source.geometry, is_default=False)
    a_id = store.save_calibration(kind="calibration", data=a.to_dict(), created_by="test", activate=True)
    acq = Acquisition(source, calibration=replace(a, id=a_id), buffer_s=600.0)
    acq.start()
    # wired as station.runtime.Station wires them on simulated plates
    rec = Recorder(acquisition=acq, store=store, cue=SimDirector(source).act)
    svc = CalibrationService(acq, store, is_recording=rec.is_busy, poll_s=0.05, operator=SimOperator(source))
    try:
        athlete = store.create_athlete(name="Sim Athlete", body_mass_kg=BODY_MASS_KG)
        rec.start(athlete_id=athlete["id"], protocol="bilateral_stance", options={"duration_s": 5})
        status = rec.wait(60)
        assert status["state"] == "saved", status
        trial = store.get_trial(status["trial_id"])
        assert trial["calibration_id"] == a_id
        weight_a = trial["metrics"]["measured_body_weight_n"]
        truth = BODY_MASS_KG * SIM_G
        assert abs(weight_a / truth - 1) > 0.01  # nominal gains are visibly off

        # Calibration B: the guided workflow on the running station.
        svc.start_workflow(mass_kg=20.0, actor="admin")
        _retry(svc.tare)
        _wait(svc, lambda st: st["state"] == "capture" and st["step_index"] >= len(st["steps"]))
        svc.fit()
        _retry(svc.verify)
        _wait(svc, lambda st: st["state"] == "verified")
        b_id = svc.activate(actor="admin")["calibration_id"]
        assert b_id != a_id and acq.calibration.id == b_id

        # The stored trial still says A; recomputed, it says B and weighs right.
        assert store.get_trial(trial["id"])["calibration_id"] == a_id
        recomputed = rec.recompute(trial["id"], Calibration.from_row(store.get_calibration(b_id)))
        assert recomputed["calibration_id"] == b_id
        weight_b = recomputed["metrics"]["measured_body_weight_n"]
        assert weight_b == pytest.approx(truth, rel=0.005)
        assert abs(weight_b - truth) < abs(weight_a - truth) / 3
        # Recomputing under A again gives back the original numbers: nothing was lost.
        again = rec.recompute(trial["id"], Calibration.from_row(store.get_calibration(a_id)))
        assert again["metrics"]["measured_body_weight_n"] == pytest.approx(weight_a, rel=1e-9)
    finally:
        svc.close()
        rec.shutdown()
        acq.stop()
        store.close()
