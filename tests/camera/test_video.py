"""Trial video files: MP4/H.264 with a CLOCK_MONOTONIC timestamp sidecar."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from hardware.sim.camera import SimCamera, SquatMotion
from hardware.video_file import (
    VideoWriter,
    delete_video,
    read_timestamps,
    read_video_frames,
    storage_bytes_per_minute,
    timestamps_path_for,
    write_timestamps,
)
from station.analysis.kinematics import frontal_kinematics
from station.analysis.markers import track_markers
from station.core.errors import ConflictError, HardwareError, InputError


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimCamera, object, list[np.ndarray]]:
    motion = SquatMotion(stance_leg="right", seed=2, n_reps=1, first_rep_s=0.5)
    cam = SimCamera(motion, seed=3, t0_ns=5_000_000_000, paced=False, drop_rate=0.03, occlusions_per_s=0.0)
    path = tmp_path_factory.mktemp("video") / "trial_1.mp4"
    cam.start()
    cam.start_recording(path)
    frames = [cam.read_frame() for _ in range(90)]
    rec = cam.stop_recording()
    return cam, rec, [f.image for f in frames]


def test_file_plays_as_h264_mp4_with_all_frames(recorded) -> None:  # type: ignore[no-untyped-def]
    cam, rec, _ = recorded
    assert rec.path.is_file() and not rec.path.with_name(rec.path.name + ".part").exists()
    with av.open(str(rec.path)) as c:
        stream = c.streams.video[0]
        assert c.format.name.startswith("mov,mp4")
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 480)
        pts = [f.pts * float(f.time_base) for f in c.decode(video=0)]
    assert len(pts) == rec.n_frames == 90
    # presentation times follow the capture times: a dropped frame is a longer frame
    expected = (rec.frame_t_ns - rec.frame_t_ns[0]) / 1e9
    assert np.allclose(pts, expected, atol=2e-5)
    assert np.diff(rec.frame_t_ns).max() > 1.5e9 / cam.fps
    assert rec.bytes == rec.path.stat().st_size > 10_000


def test_sidecar_holds_the_monotonic_timestamps(recorded) -> None:  # type: ignore[no-untyped-def]
    cam, rec, _ = recorded
    t = read_timestamps(rec.timestamps_path)
    assert np.array_equal(t, rec.frame_t_ns)
    assert np.array_equal(t, np.array([r["t_ns"] for r in cam.truth_log]))
    assert rec.to_dict()["first_t_ns"] == 5_000_000_000


def test_tracking_survives_compression(recorded) -> None:  # type: ignore[no-untyped-def]
    cam, rec, _ = recorded
    decoded = read_video_frames(rec.path)
    positions, _ = track_markers(decoded)
    k = frontal_kinematics(positions, stance_leg="right")
    truth = cam.truth_arrays()
    for name in ("pelvic_obliquity_deg", "knee_fppa_deg"):
        err = k[name] - truth[name]
        assert np.isfinite(err).mean() > 0.95
        assert np.sqrt(np.nanmean(err**2)) < 1.0


def test_storage_per_minute(recorded) -> None:  # type: ignore[no-untyped-def]
    _, rec, _ = recorded
    assert rec.duration_s == pytest.approx((rec.frame_t_ns[-1] - rec.frame_t_ns[0]) / 1e9 + 1 / 30)
    assert rec.bytes_per_minute == pytest.approx(rec.bytes / rec.duration_s * 60)
    assert storage_bytes_per_minute(100, 0.0) == 0.0


def test_recording_state_errors(tmp_path: Path) -> None:
    cam = SimCamera(seed=1, paced=False)
    with pytest.raises(ConflictError):
        cam.stop_recording()
    cam.start_recording(tmp_path / "a.mp4")
    with pytest.raises(ConflictError):
        cam.start_recording(tmp_path / "b.mp4")
    cam.read_frame()
    cam.stop()  # stopping the camera finishes the recording
    assert (tmp_path / "a.mp4").is_file() and read_timestamps(tmp_path / "a.frames.csv").size == 1


def test_bad_sidecar_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "x.frames.csv"
    write_timestamps(p, np.array([10, 20, 30]))
    assert list(read_timestamps(p)) == [10, 20, 30]
    p.write_text("index,t_ns\n0,10\n1,2x0\n")
    with pytest.raises(InputError) as exc:
        read_timestamps(p)
    assert exc.value.line == 3 and exc.value.column == 2
    p.write_text("index,t_ns\n0,10\n1,5\n")
    with pytest.raises(InputError, match="does not increase"):
        read_timestamps(p)
    with pytest.raises(InputError, match="does not exist"):
        read_timestamps(tmp_path / "missing.frames.csv")


def test_delete_video_removes_both_files(tmp_path: Path) -> None:
    video = tmp_path / "t.mp4"
    video.write_bytes(b"x")
    write_timestamps(timestamps_path_for(video), np.array([1]))
    delete_video(video)
    assert not video.exists() and not timestamps_path_for(video).exists()
    delete_video(video)  # already gone: fine


def test_a_writer_closed_without_frames_says_so_and_leaves_nothing(tmp_path: Path) -> None:
    """PyAV creates the MP4 only with the first frame: closing without one used to end in a
    FileNotFoundError from moving the missing .part into place (seen on Trixie's PyAV 14)."""
    path = tmp_path / "empty.mp4"
    writer = VideoWriter(path, width=64, height=48, fps=30.0)
    with pytest.raises(HardwareError, match="no frame"):
        writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
