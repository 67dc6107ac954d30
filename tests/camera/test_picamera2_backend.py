"""Picamera2Camera running for real on the fake picamera2 package (hardware.fakes.picamera2)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hardware.picamera2_backend import Picamera2Camera
from hardware.sim.camera import SimCamera, SquatMotion
from hardware.video_file import read_timestamps, read_video_frames
from station.analysis.markers import detect_markers
from station.core.errors import ConflictError, HardwareError


@pytest.fixture
def filmed_athlete(fake_picamera2: Any) -> tuple[Any, SimCamera, list[int]]:
    """The fake camera sees the simulated athlete; the sensor timestamps it used are kept."""
    scene = SimCamera(SquatMotion(seed=4), seed=4, paced=False, occlusions_per_s=0.0)
    stamps: list[int] = []

    def source(index: int, t_ns: int) -> np.ndarray:
        stamps.append(t_ns)
        return scene.render(index / 30.0)[0]

    fake_picamera2.SYSTEM.source = source
    return fake_picamera2, scene, stamps


def test_frames_are_rgb_with_sensor_timestamps(filmed_athlete: Any) -> None:
    fake, scene, stamps = filmed_athlete
    cam = Picamera2Camera(width=640, height=480, fps=30)
    with cam:
        before = time.monotonic_ns()
        frames = [cam.read_frame() for _ in range(5)]
        after = time.monotonic_ns()
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.t_ns in stamps for f in frames)  # the request's SensorTimestamp, unchanged
    assert before - 1e9 < frames[0].t_ns and frames[-1].t_ns <= after  # CLOCK_MONOTONIC
    assert np.all(np.diff([f.t_ns for f in frames]) > 0.02e9)
    # Colours right way round: the magenta pelvis marker is found where the scene put it.
    fm = detect_markers(frames[-1].image)
    assert np.isfinite(fm.positions_px).all()
    config = fake.SYSTEM.instances[-1].config
    assert config["main"] == {"size": (640, 480), "format": "BGR888"}
    assert config["controls"]["FrameDurationLimits"] == (33333, 33333)
    assert fake.SYSTEM.instances[-1].closed


@pytest.mark.parametrize("encoding", ["h264", "mjpeg"])
def test_recording_gives_mp4_and_sensor_timestamps(filmed_athlete: Any, tmp_path: Path, encoding: str) -> None:
    fake, _, stamps = filmed_athlete
    cam = Picamera2Camera(encoding=encoding)  # type: ignore[arg-type]
    cam.start()
    cam.start_recording(tmp_path / "trial.mp4")
    with pytest.raises(ConflictError):
        cam.start_recording(tmp_path / "other.mp4")
    time.sleep(0.8)
    rec = cam.stop_recording()
    cam.stop()
    assert rec.path == tmp_path / "trial.mp4" and rec.codec == "h264"
    # about 24 frames in 0.8 s; fewer on a busy machine (the fake renders in real time)
    assert 5 <= rec.n_frames <= 30
    t = read_timestamps(rec.timestamps_path)
    assert np.array_equal(t, rec.frame_t_ns)
    # Each recorded time is a sensor timestamp (to the microsecond picamera2 keeps).
    stamps_us = {s // 1000 for s in stamps}
    assert all(v // 1000 in stamps_us for v in t)
    decoded = read_video_frames(rec.path)
    assert len(decoded) == rec.n_frames
    assert np.isfinite(detect_markers(decoded[len(decoded) // 2]).positions_px).all()
    assert not list(tmp_path.glob("*.part"))  # the raw stream is gone


def test_picamera2_missing_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails
    with pytest.raises(HardwareError) as exc:
        Picamera2Camera().start()
    assert "not installed" in str(exc.value) and "STATION_CAMERA=none" in str(exc.value)


def test_no_camera_connected(fake_picamera2: Any) -> None:
    fake_picamera2.SYSTEM.n_cameras = 0
    with pytest.raises(HardwareError) as exc:
        Picamera2Camera().start()
    assert "no camera found" in str(exc.value) and "STATION_CAMERA=none" in str(exc.value)


def test_unplugged_while_running(fake_picamera2: Any) -> None:
    cam = Picamera2Camera(frame_timeout_s=0.3)
    cam.start()
    cam.read_frame()
    fake_picamera2.SYSTEM.unplug()
    time.sleep(0.1)
    with pytest.raises(HardwareError, match="no frame"):
        cam.read_frame()
    cam.stop()  # still releases the camera without raising


def test_unplugged_sim_camera_refuses_to_start() -> None:
    with pytest.raises(HardwareError) as exc:
        SimCamera(unplugged=True, paced=False).start()
    assert exc.value.hint and "STATION_CAMERA=none" in exc.value.hint


def test_start_twice_keeps_one_open_camera(filmed_athlete: Any) -> None:
    fake, _, _ = filmed_athlete
    cam = Picamera2Camera(width=640, height=480, fps=30)
    cam.start()
    try:
        cam.start()  # the recorder calls start() before every trial
        assert len([c for c in fake.SYSTEM.instances if not c.closed]) == 1
        assert cam.read_frame().image.shape == (480, 640, 3)
    finally:
        cam.stop()
    assert all(c.closed for c in fake.SYSTEM.instances)
