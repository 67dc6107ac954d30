"""Camera: marker tracking speed, angle accuracy on simulated video, storage per minute.

- Tracking: :func:`station.analysis.markers.detect_markers` on 640x480 frames of the
  simulated athlete (target >= 120 frames/s here, so a Pi 4, 4-5x slower per core,
  keeps up with 30 fps live).
- Accuracy: a five-rep single-leg squat from the simulator, filmed by the simulated
  camera (noise, blur, occlusions), angles against the simulator's truth (issue 7:
  <= 1 degree RMS, peak per rep within 2 degrees).
- Storage: one minute of 640x480 at 30 fps encoded by :class:`hardware.video_file.VideoWriter`
  (MP4/H.264, libx264 veryfast, CRF 23), bytes per minute and the encoder's CPU time
  per second of video.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import Report
from hardware.sim import simulate_trial
from hardware.sim.camera import SimCamera, SquatMotion, TruthMotion
from hardware.video_file import VideoWriter
from station.analysis.kinematics import frontal_kinematics, rep_kinematics
from station.analysis.markers import detect_markers, track_markers

SECTION = "camera"
TRACK_FRAMES = 300
STORAGE_SECONDS = 60.0


def _tracking_speed(report: Report) -> None:
    cam = SimCamera(SquatMotion(seed=1), seed=1, paced=False)
    frames = [cam.read_frame().image for _ in range(TRACK_FRAMES)]
    detect_markers(frames[0])  # warm-up
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for img in frames:
            detect_markers(img)
        best = min(best, time.perf_counter() - t0)
    fps = TRACK_FRAMES / best
    load = os.getloadavg()[0]
    report.add(SECTION, "marker tracking at 640x480 (one core)", fps, "frames/s", target=">= 120", ok=fps >= 120,
               note=f"best of 3 runs of {TRACK_FRAMES} frames; load average {load:.1f} on {os.cpu_count()} CPUs")


def _accuracy(report: Report) -> None:
    print("  rendering a 5-rep simulated squat ...", flush=True)
    trial = simulate_trial("single_leg_squat", seed=21, leg="left", reps=5)
    t0_ns = int(trial.t_ns[0] - round(trial.t_s[0] * 1e9))
    cam = SimCamera(TruthMotion(trial.truth), seed=21, t0_ns=t0_ns, paced=False)
    n = int(trial.truth.duration_s * cam.fps)
    frames = [cam.read_frame() for _ in range(n)]
    positions, _ = track_markers(f.image for f in frames)
    truth = cam.truth_arrays()
    k = frontal_kinematics(positions, stance_leg="left")
    for name, label in (("pelvic_obliquity_deg", "pelvic obliquity"), ("knee_fppa_deg", "knee FPPA")):
        err = k[name] - truth[name]
        rms = float(np.sqrt(np.nanmean(err**2)))
        report.add(SECTION, f"{label} error on simulated video (RMS)", rms, "deg", target="<= 1", ok=rms <= 1.0)
    gaps = float(np.isnan(k["knee_fppa_deg"]).mean() * 100)
    report.add(SECTION, "frames without FPPA (occlusions, gaps)", gaps, "%")
    t_s = (np.array([f.t_ns for f in frames]) - t0_ns) / 1e9
    reps = rep_kinematics(t_s, k["pelvic_obliquity_deg"], k["knee_fppa_deg"], reps=trial.truth.reps)
    worst = 0.0
    for rep in reps:
        inside = (trial.truth.t_s >= rep["start_s"]) & (trial.truth.t_s <= rep["end_s"])
        for key, series in (("peak_pelvic_drop_deg", trial.truth.pelvic_obliquity_deg),
                            ("peak_fppa_deg", trial.truth.knee_fppa_deg)):
            value = rep[key]
            worst = max(worst, np.inf if value is None else abs(value - float(series[inside].max())))
    report.add(SECTION, "worst peak-per-rep error (5 reps, drop and FPPA)", worst, "deg", target="<= 2", ok=worst <= 2.0)


def _storage(report: Report) -> None:
    print(f"  encoding {STORAGE_SECONDS:.0f} s of 640x480 at 30 fps ...", flush=True)
    cam = SimCamera(SquatMotion(seed=2, n_reps=20), seed=2, t0_ns=0, paced=False)
    n = int(STORAGE_SECONDS * cam.fps)
    with tempfile.TemporaryDirectory() as d:
        writer = VideoWriter(Path(d) / "bench.mp4", width=640, height=480, fps=cam.fps)
        cpu = 0.0
        for i in range(n):
            frame = cam.read_frame()
            t0 = time.process_time()
            writer.write(frame)
            cpu += time.process_time() - t0
            if (i + 1) % 600 == 0:
                print(f"    {i + 1}/{n} frames", flush=True)
        t0 = time.process_time()
        rec = writer.close()
        cpu += time.process_time() - t0
    mb_min = rec.bytes_per_minute / 1e6
    report.add(SECTION, "video storage, 640x480 30 fps H.264 (CRF 23)", mb_min, "MB/min",
               note=f"{rec.bytes_per_minute * 60 / 1e9:.2f} GB per hour of trials")
    share = cpu / rec.duration_s * 100
    report.add(SECTION, "H.264 encoding CPU at 30 fps (libx264 veryfast)", share, "% of a core",
               target="<= 50", ok=share <= 50)


def run(report: Report) -> None:
    _tracking_speed(report)
    _accuracy(report)
    _storage(report)
