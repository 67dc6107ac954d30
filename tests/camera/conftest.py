"""Camera fixtures: a simulated squat trial filmed by the simulated camera, the fake picamera2."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from hardware.sim import SimTrial, simulate_trial
from hardware.sim.camera import SimCamera, TruthMotion
from station.analysis.markers import track_markers


@dataclass
class Filmed:
    """A simulated trial, its video frames, the tracked markers and the camera's truth."""

    trial: SimTrial
    camera: SimCamera
    frames_t_ns: np.ndarray
    positions_px: np.ndarray
    areas_px: np.ndarray
    truth: dict[str, np.ndarray]

    @property
    def t0_ns(self) -> int:
        return int(self.trial.t_ns[0] - round(self.trial.t_s[0] * 1e9))


def film(trial: SimTrial, **camera_kwargs: Any) -> Filmed:
    """Render every frame of ``trial`` and track the markers (bounded: <= ~15 s of video)."""
    t0_ns = int(trial.t_ns[0] - round(trial.t_s[0] * 1e9))
    kwargs: dict[str, Any] = {"seed": trial.seed, "t0_ns": t0_ns, "paced": False, **camera_kwargs}
    cam = SimCamera(TruthMotion(trial.truth), **kwargs)
    n = int(trial.truth.duration_s * cam.fps)
    frames = [cam.read_frame() for _ in range(n)]
    positions, areas = track_markers(f.image for f in frames)
    return Filmed(trial, cam, np.array([f.t_ns for f in frames]), positions, areas, cam.truth_arrays())


@pytest.fixture(scope="package")
def squat_left() -> Filmed:
    """Two single-leg squats on the left leg, filmed with frequent occlusions."""
    return film(simulate_trial("single_leg_squat", seed=11, leg="left", reps=2), occlusions_per_s=0.8)


@pytest.fixture(scope="package")
def squat_right_tilted() -> Filmed:
    """Two squats on the right leg, camera rolled by 3 degrees, a dropped frame now and then."""
    return film(simulate_trial("single_leg_squat", seed=12, leg="right", reps=2), roll_deg=3.0, drop_rate=0.02)


@pytest.fixture
def fake_picamera2() -> Iterator[Any]:
    """The fake picamera2 package in sys.modules (removed afterwards)."""
    from hardware.fakes import picamera2 as fake

    fake.install()
    yield fake
    fake.uninstall()
