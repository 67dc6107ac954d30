"""Simulator speed and realism: simulate_trial time, unpaced source rate, sway statistics
over many seeds (the ranges the domain notes give for healthy adults)."""

from __future__ import annotations

import time

import numpy as np

from bench.report import Report
from hardware.sim import SimLoadCellSource, simulate_trial
from station.core.geometry import PLATES, cop_from_cells

SEEDS = 40


def _speed(report: Report) -> None:
    simulate_trial("bilateral_stance", seed=0, duration_s=60.0)  # warm caches
    times = []
    for seed in range(10):
        t0 = time.perf_counter()
        simulate_trial("single_leg_squat", seed=seed, duration_s=60.0, reps=12)
        times.append(time.perf_counter() - t0)
    best, med = 1000 * float(np.min(times)), 1000 * float(np.median(times))
    report.add("simulator", "simulate_trial 60 s at 80 Hz, squats (best of 10)", best, "ms", target="< 100 ms",
               ok=best < 100, note=f"median {med:.0f} ms")
    t0 = time.perf_counter()
    simulate_trial("stepping", seed=1, duration_s=600.0, rate_hz=1000.0)
    report.add("simulator", "simulate_trial 600 s at 1000 Hz", time.perf_counter() - t0, "s")
    for scenario in ("quiet_stance", "single_leg_squat", "empty"):
        src = SimLoadCellSource(seed=3, paced=False)
        src.set_scenario(scenario, loop=scenario == "single_leg_squat")
        n = 200_000
        t0 = time.perf_counter()
        for _ in range(n):
            src.read_frame()
        fps = n / (time.perf_counter() - t0)
        report.add("simulator", f"SimLoadCellSource unpaced, {scenario}", round(fps), "frames/s",
                   target=">= 16000", ok=fps >= 16000)


def _sway(report: Report) -> None:
    bi_ml, bi_ap, sl_ml, sl_vel = [], [], [], []
    for seed in range(SEEDS):
        tr = simulate_trial("bilateral_stance", seed=seed, duration_s=30.0, noise=False)
        c = tr.truth.cop_combined_mm[tr.truth.t_s > 1.0]
        bi_ml.append(c[:, 0].std())
        bi_ap.append(c[:, 1].std())
        tr = simulate_trial("single_leg_stance", seed=seed, never_touch_down=True, duration_s=30.0)
        t = tr.truth
        w = t.t_s > t.lift_off_s + 1.0
        c = t.cop_mm[w, 0]
        sl_ml.append(c[:, 0].std())
        sl_vel.append(np.linalg.norm(np.diff(c[::10], axis=0), axis=1).sum() / (w.sum() / 1000))
    bi_ml_a, bi_ap_a, sl_ml_a = np.array(bi_ml), np.array(bi_ap), np.array(sl_ml)
    inside = np.mean((bi_ml_a >= 2) & (bi_ml_a <= 5))
    report.add("simulator", f"bilateral ML RMS, {SEEDS} seeds (min-max)", f"{bi_ml_a.min():.2f}-{bi_ml_a.max():.2f}", "mm",
               target="2-5 mm", ok=inside == 1.0)
    report.add("simulator", "bilateral AP/ML RMS ratio (median)", float(np.median(bi_ap_a / bi_ml_a)), "",
               target="> 1", ok=bool(np.all(bi_ap_a > bi_ml_a)))
    inside = np.mean((sl_ml_a >= 5) & (sl_ml_a <= 10))
    report.add("simulator", f"single-leg ML RMS, {SEEDS} seeds (min-max)", f"{sl_ml_a.min():.2f}-{sl_ml_a.max():.2f}", "mm",
               target="5-10 mm", ok=inside == 1.0)
    report.add("simulator", "single-leg mean CoP velocity (median)", float(np.median(sl_vel)), "mm/s")


def _noise(report: Report) -> None:
    tr = simulate_trial("bilateral_stance", seed=1, duration_s=60.0)
    at = tr.truth.at(tr.t_s)
    errs = []
    for p in range(2):
        fz, cop = cop_from_cells(tr.loads_n[:, 4 * p : 4 * p + 4], tr.geometry.plates[PLATES[p]].cell_positions_mm())
        errs.append(cop - at["cop_mm"][:, p])
    rms = float(np.sqrt(np.nanmean(np.concatenate(errs) ** 2)))
    report.add("simulator", "per-plate CoP noise through the true calibration (RMS)", rms, "mm",
               note="HX711 noise 200 counts/cell at ~340 N per plate")


def run(report: Report) -> None:
    _speed(report)
    _sway(report)
    _noise(report)
