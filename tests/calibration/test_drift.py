"""The automatic re-zero rule and the drift warning."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.bench_calibration import drift_hour
from calibration.drift import DriftMonitor, DriftRule, Rezero, drift_warning
from hardware.sim import SimCells, SimLoadCellSource
from station.acquisition import Acquisition
from station.calibration_service import CalibrationService
from station.core.calibration import Calibration
from station.storage import Store
from station.testing.calibration_rig import SimRig

RATE = 80.0


class _Feed:
    """Synthetic frames: zero counts = offsets + gain * load + noise, 80 Hz."""

    def __init__(self, monitor: DriftMonitor, *, noise_counts: float = 200.0, seed: int = 0) -> None:
        self.m = monitor
        self.rng = np.random.default_rng(seed)
        self.noise = noise_counts
        self.t_ns = 0
        self.offsets = np.full(8, 100_000.0)

    def run(self, seconds: float, *, plate_n: tuple[float, float] = (0.0, 0.0), wobble_n: float = 0.0,
            invalid_every: int = 0) -> list[Rezero]:
        out = []
        for i in range(int(seconds * RATE)):
            self.t_ns += int(1e9 / RATE)
            w = wobble_n * np.sin(2 * np.pi * 2.0 * i / RATE)
            counts = self.offsets + self.rng.normal(0, self.noise, 8) + 2000.0 * w
            inv = 1 if invalid_every and i % invalid_every == 0 else 0
            rz = self.m.feed(self.t_ns, counts, inv, plate_n[0] + w, plate_n[1])
            if rz:
                out.append(rz)
        return out


def _monitor(blocked: list[bool] | None = None, rule: DriftRule = DriftRule()) -> tuple[DriftMonitor, list[Rezero]]:
    got: list[Rezero] = []
    cal = Calibration(is_default=False)
    flag = blocked if blocked is not None else [False]
    return DriftMonitor(get_calibration=lambda: cal, on_rezero=got.append, is_blocked=lambda: flag[0], rule=rule), got


def test_rezero_after_five_quiet_empty_seconds() -> None:
    m, got = _monitor()
    f = _Feed(m)
    assert f.run(4.9) == []
    rz = f.run(0.3)
    assert len(rz) == 1 and got == rz
    # The new zero is the mean of the window (noise averaged: 200 counts / sqrt(400)).
    assert np.allclose(rz[0].offsets_counts, f.offsets, atol=40)
    assert rz[0].n_frames >= 5 * RATE - 1
    # Not again before min_interval_s (30 s) ...
    assert f.run(20.0) == []
    # ... then again, following the drifted zero.
    f.offsets = f.offsets + 3000.0
    later = f.run(15.0)
    assert len(later) == 1 and np.allclose(later[0].offsets_counts, f.offsets, atol=40)


@pytest.mark.parametrize(
    "condition",
    [
        {"plate_n": (12.0, 0.0)},       # something of ~1.2 kg on the left plate
        {"plate_n": (0.0, -11.0)},      # a plate reading -11 N (drifted far): not "empty"
        {"wobble_n": 1.5},               # someone touching the plate (< 10 N, but moving)
        {"invalid_every": 5},            # a channel keeps failing (20 % of frames)
    ],
)
def test_no_rezero_when_plates_are_not_empty_and_still(condition: dict) -> None:
    m, got = _monitor()
    assert _Feed(m).run(40.0, **condition) == [] and got == []


def test_rare_rejected_spikes_do_not_prevent_the_rezero() -> None:
    m, got = _monitor()
    rz = _Feed(m).run(6.0, invalid_every=150)  # a flagged spike now and then
    assert len(rz) == 1


def test_never_during_a_trial() -> None:
    blocked = [True]
    m, got = _monitor(blocked)
    f = _Feed(m)
    assert f.run(30.0) == []
    blocked[0] = False
    assert f.run(4.0) == []  # the 5 s count starts when the trial ends
    assert len(f.run(1.5)) == 1


def test_drift_warning_names_the_cell() -> None:
    ref = Calibration(offsets_counts=(0.0,) * 8, id=7, is_default=False)
    assert drift_warning(ref.with_offsets((8000.0,) * 8), ref) is None  # 4 N each: within 5 N
    offs = [0.0] * 8
    offs[6] = -12_000.0  # right_bl: -6 N
    msg = drift_warning(ref.with_offsets(offs), ref)
    assert msg is not None and "right_bl" in msg and "-6.0 N" in msg and "calibration 7" in msg


def test_service_applies_stores_and_restores_rezeros(tmp_path: Path) -> None:
    rig = SimRig(tmp_path, seed=2, sim_operator=False)
    true = rig.source.cells.true_calibration(rig.source.geometry)
    cid = rig.store.save_calibration(kind="calibration", data=true.to_dict(), created_by="t", activate=True)
    rig.acq.set_calibration(replace(true, id=cid))
    rig.source.place_mass(30.0, (-150.0, 0.0))
    rig.run(10.0)
    assert rig.store.list_calibrations(kind="rezero") == []  # loaded: no re-zero
    rig.source.clear_masses()
    rig.run(6.0)
    rows = rig.store.list_calibrations(kind="rezero")
    assert len(rows) == 1 and rows[0]["active"] and rows[0]["created_by"] == "auto-rezero"
    assert rows[0]["data"]["based_on"] == cid
    # The acquisition now uses the re-zero (its id goes into trials) with the same gains.
    cal = rig.acq.calibration
    assert cal.id == rows[0]["id"] and cal.gains_n_per_count == true.gains_n_per_count
    # The new zero follows the simulator's true (drifted) offsets.
    truth = rig.source.truth_now()["offsets_counts"]
    assert np.abs((np.asarray(cal.offsets_counts) - truth) / rig.source.cells.gains_counts_per_n).max() < 0.2
    assert rig.service.current()["last_rezero"]["id"] == rows[0]["id"]
    # A restart (new acquisition on the active full calibration) picks the re-zero up again.
    acq2 = Acquisition(rig.source, calibration=replace(true, id=cid))
    svc2 = CalibrationService(acq2, rig.store, background=False)
    assert acq2.calibration.id == rows[0]["id"]
    svc2.close()
    rig.close()


def test_manual_rezero_refused_when_loaded(tmp_path: Path) -> None:
    rig = SimRig(tmp_path, seed=3, sim_operator=False)
    true = rig.source.cells.true_calibration(rig.source.geometry)
    rig.acq.set_calibration(true)
    rig.source.place_mass(10.0, (150.0, 0.0))
    rig.run(3.0)
    from station.core.errors import CalibrationError

    with pytest.raises(CalibrationError, match="right plate is not empty"):
        rig.service.rezero_now(actor="admin")
    rig.source.clear_masses()
    rig.run(3.0)
    out = rig.service.rezero_now(actor="admin")
    assert out["manual"] and rig.store.get_calibration(out["id"])["created_by"] == "admin"
    rig.recording[0] = True
    from station.core.errors import ConflictError

    with pytest.raises(ConflictError):
        rig.service.rezero_now(actor="admin")
    rig.close()


def test_rule_keeps_cop_within_2_mm_over_a_simulated_hour() -> None:
    """Issue 4: with a slow simulated offset drift, the rule keeps the combined CoP error
    under 2 mm for an hour of trials. The control: the same frames under the zero of the
    start (no re-zero) miss by more. Run at 20 Hz to keep it short; the benchmark runs
    the hour at 80 Hz.

    The drift is set explicitly (so the test does not depend on the simulator's random
    draw): +6000 counts/h (~3 N/h) on the outer cells of the left plate, -6000 on those
    of the right plate, plus the simulator's temperature-like random walk. By statics the
    fixed zero then puts the CoP of the 70 kg load about 4-5 mm off after the hour.
    """
    drift = np.array([6000.0, 0.0, 6000.0, 0.0, 0.0, -6000.0, 0.0, -6000.0])
    cells = replace(SimCells.random(7), drift_counts_per_h=drift)
    r = drift_hour(rule_on=True, rate_hz=20.0, seed=7, cells=cells)
    assert np.abs(r["true_zero_drift_n"]).max() > 2.0  # the zero really drifted
    assert r["stored_rezeros"] >= 40
    assert r["cop_error_mm"].max() < 2.0, r["cop_error_mm"]
    late = slice(-5, None)
    assert r["cop_error_fixed_zero_mm"][late].mean() > 3.0, r["cop_error_fixed_zero_mm"]
    assert r["cop_error_fixed_zero_mm"][late].mean() > 3 * r["cop_error_mm"][late].mean()


def test_drift_warning_when_rule_is_off(tmp_path: Path) -> None:
    cells = SimCells.random(9, drift_counts_per_h=0.0, drift_walk_counts_per_sqrt_h=0.0)
    source = SimLoadCellSource(seed=9, rate_hz=RATE, paced=False, cells=cells)
    store = Store(tmp_path / "w.sqlite3")
    true = cells.true_calibration(source.geometry)
    cid = store.save_calibration(kind="calibration", data=true.to_dict(), created_by="t", activate=True)
    # Calibrated with an 8 kg (78 N) offset error on the right plate: a badly drifted zero.
    bad = list(true.offsets_counts)
    bad[4] -= 16_000
    acq = Acquisition(source, calibration=replace(true.with_offsets(bad), id=cid))
    store.save_calibration(kind="calibration", data=true.with_offsets(bad).to_dict(), created_by="t", activate=True)
    svc = CalibrationService(acq, store, background=False, drift_enabled=False,
                             rule=DriftRule(max_plate_force_n=20.0))
    for _ in range(int(10 * RATE)):
        acq.process(source.read_frame())
    svc.poll()
    assert svc.warning is not None and "right_fl" in svc.warning and "recalibrate" in svc.warning
    assert store.list_calibrations(kind="rezero") == []
    svc.close()
    store.close()
