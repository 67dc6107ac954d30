"""Trial video files: MP4/H.264 plus a frame-timestamp sidecar.

Every trial video is two files next to each other in the data directory:

- ``<name>.mp4``: H.264 (yuv420p, no B-frames) in an MP4 container with the index at
  the front (``+faststart``), which Chromium plays in a ``<video>`` tag and can seek
  with HTTP range requests. Each frame's presentation time is its real capture time
  relative to the first frame (1/90000 s units), so a dropped frame shows as a
  longer frame, not as a drift.
- ``<name>.frames.csv``: one line per frame, ``index,t_ns``, ``t_ns`` on
  CLOCK_MONOTONIC (the Pi camera's ``SensorTimestamp``, the load cells' clock). This
  file, not the container, is the reference for lining video up with force data.

Encoding uses PyAV (FFmpeg's libx264, shipped in the ``av`` wheel). H.264 was chosen
over WebM/VP8 because libx264 costs several times less CPU at the same quality, and
because a Pi 4's hardware encoder produces H.264 that :func:`remux_h264` wraps without
re-encoding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hardware.base import VideoFrame
from station.core.errors import HardwareError, InputError, StorageError

#: Presentation-time unit of the MP4 stream (the MPEG 90 kHz clock).
TIME_BASE = Fraction(1, 90_000)
SIDECAR_SUFFIX = ".frames.csv"
_HEADER = "# stance-station frame timestamps v1: frame index, CLOCK_MONOTONIC ns"


@dataclass
class RecordedVideo:
    """A finished recording: what the recorder stores with the trial."""

    path: Path
    n_frames: int
    frame_t_ns: np.ndarray = field(repr=False)
    fps: float
    width: int
    height: int
    bytes: int
    codec: str = "h264"

    @property
    def timestamps_path(self) -> Path:
        return timestamps_path_for(self.path)

    @property
    def duration_s(self) -> float:
        """Covered time: first to last frame plus one nominal frame period."""
        if self.n_frames == 0:
            return 0.0
        return float(self.frame_t_ns[-1] - self.frame_t_ns[0]) / 1e9 + 1.0 / self.fps

    @property
    def bytes_per_minute(self) -> float:
        return storage_bytes_per_minute(self.bytes, self.duration_s)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (timestamps stay in the sidecar file)."""
        return {
            "path": str(self.path),
            "timestamps_path": str(self.timestamps_path),
            "n_frames": self.n_frames,
            "first_t_ns": int(self.frame_t_ns[0]) if self.n_frames else None,
            "last_t_ns": int(self.frame_t_ns[-1]) if self.n_frames else None,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "codec": self.codec,
            "duration_s": self.duration_s,
        }


def timestamps_path_for(video_path: str | Path) -> Path:
    """``trial_7.mp4`` -> ``trial_7.frames.csv``."""
    p = Path(video_path)
    return p.with_name(p.stem + SIDECAR_SUFFIX)


def storage_bytes_per_minute(n_bytes: int, duration_s: float) -> float:
    """Bytes per minute of video."""
    return n_bytes / (duration_s / 60.0) if duration_s > 0 else 0.0


def write_timestamps(path: str | Path, frame_t_ns: np.ndarray, indices: np.ndarray | None = None) -> None:
    """Write the sidecar: a header comment, then ``index,t_ns`` per frame."""
    t = np.asarray(frame_t_ns, dtype=np.int64)
    idx = np.arange(len(t)) if indices is None else np.asarray(indices, dtype=np.int64)
    lines = [_HEADER, "index,t_ns"] + [f"{i},{v}" for i, v in zip(idx.tolist(), t.tolist(), strict=True)]
    Path(path).write_text("\n".join(lines) + "\n")


def read_timestamps(path: str | Path) -> np.ndarray:
    """Read a sidecar back: int64 CLOCK_MONOTONIC ns per frame, in file order.

    Raises
    ------
    InputError
        Naming line and column of the first malformed value, or a time going backwards.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(f"frame timestamps file {p} does not exist",
                         hint="The video was recorded without its timestamps; record the trial again.") from None
    out: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line == "index,t_ns":
            continue
        parts = line.split(",")
        if len(parts) != 2:
            raise InputError(f"expected 'index,t_ns', got {len(parts)} fields", line=n, column=1)
        for col, value in enumerate(parts, 1):
            if not value.strip().lstrip("-").isdigit():
                raise InputError(f"{value!r} is not an integer", line=n, column=col)
        t = int(parts[1])
        if out and t <= out[-1]:
            raise InputError(f"time {t} ns does not increase (previous {out[-1]})", line=n, column=2)
        out.append(t)
    return np.array(out, dtype=np.int64)


def delete_video(path: str | Path) -> None:
    """Delete a trial's video and its timestamp sidecar (missing files are fine)."""
    for p in (Path(path), timestamps_path_for(path)):
        p.unlink(missing_ok=True)


def _open_output(path: Path) -> Any:
    import av

    try:
        return av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
    except OSError as exc:
        raise StorageError(f"cannot create video file {path}: {exc}",
                           hint="Check that the data directory exists and the disk is not full.") from None


class VideoWriter:
    """Encode RGB frames to MP4/H.264 and keep their CLOCK_MONOTONIC timestamps.

    Parameters
    ----------
    path
        The ``.mp4`` to write (written as ``<path>.part`` until :meth:`close`).
    width, height, fps
        Frame size and nominal rate.
    preset, crf
        libx264 speed preset and quality (``veryfast``/23: ~0.3 CPU cores at
        640x480 30 fps on a desktop; see ``bench/bench_camera.py``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        fps: float,
        preset: str = "veryfast",
        crf: int = 23,
    ) -> None:
        import av

        self.path = Path(path)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        if self.width % 2 or self.height % 2:
            raise ValueError(f"H.264 (yuv420p) needs an even frame size, got {self.width}x{self.height}")
        self._part = self.path.with_name(self.path.name + ".part")
        self._container = _open_output(self._part)
        stream = self._container.add_stream("libx264", rate=Fraction(round(self.fps * 1000), 1000))
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        # No B-frames: packets leave in presentation order, as the Pi's encoder's do.
        stream.options = {"preset": preset, "crf": str(crf), "bf": "0"}
        stream.codec_context.time_base = TIME_BASE
        stream.time_base = TIME_BASE
        self._stream = stream
        self._av = av
        self._t_ns: list[int] = []
        self._indices: list[int] = []
        self._last_pts = -1

    def write(self, frame: VideoFrame) -> None:
        """Encode one frame; its ``t_ns`` goes to the sidecar and sets its presentation time."""
        img = frame.image
        if img.shape != (self.height, self.width, 3) or img.dtype != np.uint8:
            raise ValueError(f"frame {frame.index} is {img.shape} {img.dtype}, expected ({self.height}, {self.width}, 3) uint8")
        if self._t_ns and frame.t_ns <= self._t_ns[-1]:
            raise ValueError(f"frame {frame.index} time {frame.t_ns} ns does not increase")
        vf = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        pts = round((frame.t_ns - (self._t_ns[0] if self._t_ns else frame.t_ns)) * 9e4 / 1e9)
        vf.pts = max(pts, self._last_pts + 1)
        vf.time_base = TIME_BASE
        self._last_pts = vf.pts
        self._t_ns.append(int(frame.t_ns))
        self._indices.append(int(frame.index))
        for packet in self._stream.encode(vf):
            self._container.mux(packet)

    @property
    def n_frames(self) -> int:
        return len(self._t_ns)

    def close(self) -> RecordedVideo:
        """Flush the encoder, move the file in place, write the sidecar.

        Raises :class:`HardwareError` when no frame was written: there is no video then
        (PyAV creates the file only with the first frame), and nothing is left behind.
        """
        if not self._t_ns:
            self.abort()
            raise HardwareError(
                "the camera delivered no frame, so this trial has no video",
                hint="Check the camera's cable and the camera health on the status page.",
            )
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        os.replace(self._part, self.path)
        t = np.array(self._t_ns, dtype=np.int64)
        write_timestamps(timestamps_path_for(self.path), t, np.array(self._indices, dtype=np.int64))
        return RecordedVideo(
            path=self.path,
            n_frames=len(t),
            frame_t_ns=t,
            fps=self.fps,
            width=self.width,
            height=self.height,
            bytes=self.path.stat().st_size,
        )

    def abort(self) -> None:
        """Drop a recording that failed half-way (removes the partial file)."""
        try:
            self._container.close()
        finally:
            self._part.unlink(missing_ok=True)


def remux_h264(raw_path: str | Path, out_path: str | Path, frame_t_ns: np.ndarray, *, fps: float) -> RecordedVideo:
    """Wrap a raw H.264 elementary stream (a Pi encoder's output) in MP4, no re-encoding.

    Each packet gets the presentation time of its frame from ``frame_t_ns`` (the Pi's
    encoder produces no B-frames, so packets are in presentation order). The raw
    file is removed afterwards and the sidecar written.
    """
    import av

    out_path = Path(out_path)
    t = np.asarray(frame_t_ns, dtype=np.int64)
    src = av.open(str(raw_path), format="h264")
    dst = _open_output(out_path)
    try:
        in_stream = src.streams.video[0]
        stream = dst.add_stream_from_template(in_stream)
        stream.time_base = TIME_BASE
        n = 0
        for packet in src.demux(in_stream):
            if packet.size == 0:
                continue
            if n >= len(t):
                break  # a frame encoded after the last timestamp was taken: not kept
            packet.pts = packet.dts = round((t[n] - t[0]) * 9e4 / 1e9)
            packet.time_base = TIME_BASE
            packet.stream = stream
            dst.mux(packet)
            n += 1
    finally:
        dst.close()
        src.close()
    Path(raw_path).unlink(missing_ok=True)
    t = t[:n]
    write_timestamps(timestamps_path_for(out_path), t)
    w, h = in_stream.codec_context.width, in_stream.codec_context.height
    return RecordedVideo(out_path, n, t, fps, w, h, out_path.stat().st_size)


def transcode_mjpeg(raw_path: str | Path, out_path: str | Path, frame_t_ns: np.ndarray, *, fps: float) -> RecordedVideo:
    """Turn an MJPEG recording (which browsers do not play in ``<video>``) into MP4/H.264."""
    import av

    t = np.asarray(frame_t_ns, dtype=np.int64)
    src = av.open(str(raw_path), format="mjpeg")
    writer: VideoWriter | None = None
    try:
        for n, frame in enumerate(src.decode(video=0)):
            if n >= len(t):
                break
            img = frame.to_ndarray(format="rgb24")
            if writer is None:
                writer = VideoWriter(out_path, width=img.shape[1], height=img.shape[0], fps=fps)
            writer.write(VideoFrame(n, int(t[n]), img))
    finally:
        src.close()
    if writer is None:
        raise InputError(f"{raw_path} holds no video frame", hint="Check the camera and record again.")
    Path(raw_path).unlink(missing_ok=True)
    return writer.close()


def read_video_frames(path: str | Path, *, max_frames: int | None = None) -> list[np.ndarray]:
    """Decode a trial video to RGB frames (for analysis after the fact and for tests)."""
    import av

    frames: list[np.ndarray] = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames is not None and len(frames) >= max_frames:
                break
    return frames
