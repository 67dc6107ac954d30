"""Video and force data on one clock: a rep's movement is seen at the same time in both."""

from __future__ import annotations

import numpy as np

from hardware.sim import simulate_trial
from station.analysis.markers import track_markers
from station.analysis.squat import com_velocity_m_s
from tests.camera.conftest import Filmed, film


def _force_com_velocity(f: Filmed) -> tuple[np.ndarray, np.ndarray]:
    """Vertical CoM velocity (m/s) from the load cells' total force, at the force frames' t_ns.

    Velocity, not height: the load cells' offset drift, integrated twice, would bend
    the height curve and bias the comparison; once integrated it stays small.
    """
    total = f.trial.loads_n.sum(axis=1)
    return f.trial.t_ns, com_velocity_m_s(total, fs_hz=f.trial.rate_hz)


def _video_pelvis_velocity(f: Filmed) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis vertical velocity (px/s, up positive) from the tracked markers, at the frames' t_ns."""
    mid_v = np.nanmean(f.positions_px[:, :2, 1], axis=1)
    ok = np.isfinite(mid_v)
    t = f.frames_t_ns[ok]
    return t, np.gradient(-mid_v[ok], t / 1e9)


def _xcorr_lag_s(ta: np.ndarray, a: np.ndarray, tb: np.ndarray, b: np.ndarray) -> float:
    """Lag of signal b behind signal a (times in ns), by cross-correlation on a 1 ms grid (+-0.3 s)."""
    t0, t1 = max(ta[0], tb[0]) + 0.4e9, min(ta[-1], tb[-1]) - 0.4e9
    grid = np.arange(t0, t1, 1e6)
    x = np.interp(grid, ta, a)
    x = (x - x.mean()) / x.std()
    lags = np.arange(-300, 301)
    scores = []
    for lag in lags:
        y = np.interp(grid + lag * 1e6, tb, b)
        scores.append(float(np.dot(x, (y - y.mean()) / y.std())))
    return float(lags[int(np.argmax(scores))]) / 1000.0


def _lag_s(f: Filmed) -> float:
    return _xcorr_lag_s(*_force_com_velocity(f), *_video_pelvis_velocity(f))


def test_rep_movement_is_at_the_same_time_in_video_and_force(squat_left: Filmed) -> None:
    period_s = 1.0 / squat_left.camera.fps
    assert abs(_lag_s(squat_left)) < period_s


def test_a_camera_clock_offset_would_be_caught() -> None:
    trial = simulate_trial("single_leg_squat", seed=13, leg="left", reps=1)
    offset_ns = 100_000_000  # a camera stamping frames 100 ms late
    t0_ns = int(trial.t_ns[0] - round(trial.t_s[0] * 1e9)) + offset_ns
    late = film(trial, t0_ns=t0_ns, occlusions_per_s=0.0)
    assert abs(_lag_s(late) - 0.1) < 1.0 / late.camera.fps


def test_frame_timestamps_are_on_the_trial_clock(squat_left: Filmed) -> None:
    t = squat_left.frames_t_ns
    # starts with the force data's clock, one nominal period apart
    assert t[0] == squat_left.t0_ns
    assert np.all(np.diff(t) > 0)
    assert np.allclose(np.diff(t), 1e9 / squat_left.camera.fps, atol=1)
    assert squat_left.trial.t_ns[0] <= t[0] + 1e9 / squat_left.camera.fps


def test_live_sim_camera_follows_the_simulated_load_cells() -> None:
    """The station's live pairing: SimLoadCellSource and a SimCamera following it."""
    from hardware.sim import SimLoadCellSource
    from hardware.sim.camera import SimCamera

    source = SimLoadCellSource(seed=5, rate_hz=80.0, paced=False)
    source.start()
    for _ in range(40):
        source.read_frame()
    truth = source.set_scenario("single_leg_squat", leg="right", reps=1)
    assert truth is not None and source.scenario_start_ns is not None
    camera = SimCamera(seed=5, paced=False, occlusions_per_s=0.0)
    camera.follow(source)
    end_ns = source.scenario_start_ns + int(truth.duration_s * 1e9)
    force = [source.read_frame() for _ in range(int(truth.duration_s * 80) + 40)]
    video = []
    while not video or video[-1].t_ns < end_ns:
        video.append(camera.read_frame())
    t_force = np.array([f.t_ns for f in force])
    calibration = source.cells.true_calibration(source.geometry)
    total_n = calibration.counts_to_newtons(np.array([f.counts for f in force])).sum(axis=1)
    positions, _ = track_markers(v.image for v in video)
    t_video = np.array([v.t_ns for v in video])
    assert t_video[0] == source.scenario_start_ns  # frames on the protocol's own time grid
    assert t_video[-1] <= t_force[-1] + 1e8
    ok = np.isfinite(positions[:, :2, 1]).all(axis=1)
    v_video = np.gradient(-positions[ok, :2, 1].mean(axis=1), t_video[ok] / 1e9)
    v_force = com_velocity_m_s(total_n, fs_hz=80.0)
    assert abs(_xcorr_lag_s(t_force, v_force, t_video[ok], v_video)) < 1.0 / camera.fps
