"""The Raspberry Pi camera through picamera2 (imported lazily: it exists only on a Pi).

Frames: the ``main`` stream in ``BGR888`` format, which picamera2 delivers as
[R, G, B] bytes per pixel (libcamera names formats by their little-endian word; the
``RGB888`` format would hand us BGR). Each frame's time is the request's
``SensorTimestamp`` metadata: nanoseconds on CLOCK_MONOTONIC at the start of the
exposure, the clock ``time.monotonic_ns()`` reads and the load cells are stamped with,
so no mapping is needed beyond taking the value as it is.

Recording: picamera2's encoder (``H264Encoder``, the hardware encoder on a Pi 4, or
``MJPEGEncoder``) writes a raw stream through :class:`_TimestampedFileOutput`, which
keeps each encoded frame's timestamp. picamera2 gives the encoder the frame's
SensorTimestamp in microseconds relative to the first recorded frame and keeps the
first one in ``encoder.firsttimestamp``; the sum is the absolute CLOCK_MONOTONIC time
(microsecond resolution). At :meth:`Picamera2Camera.stop_recording` the raw H.264 is
wrapped in MP4 without re-encoding (:func:`hardware.video_file.remux_h264`); MJPEG, which
browsers do not play in ``<video>``, is transcoded to H.264
(:func:`hardware.video_file.transcode_mjpeg`, CPU-heavy: prefer H.264).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from hardware.base import Camera, VideoFrame
from hardware.video_file import RecordedVideo, remux_h264, transcode_mjpeg
from station.core.errors import ConflictError, HardwareError

Encoding = Literal["h264", "mjpeg"]

_INSTALL_HINT = (
    "On a Raspberry Pi install it with 'sudo apt install python3-picamera2' and create the venv "
    "with --system-site-packages (make does this); elsewhere set STATION_CAMERA=sim, or "
    "STATION_CAMERA=none to record force data only."
)
_NUMPY_HINT = (
    "picamera2 (from Raspberry Pi OS) was built against the OS's numpy 1.x, and the venv has "
    "another numpy: reinstall the station with 'make install-pi' (it keeps the OS's numpy), or "
    "'pip install \"numpy<2\"' in the venv; set STATION_CAMERA=none to record force data only meanwhile."
)
_UNPLUGGED_HINT = (
    "Check the ribbon cable (power off first) and that 'rpicam-hello --list-cameras' lists the "
    "camera; set STATION_CAMERA=none to record force data only meanwhile."
)


class Picamera2Camera(Camera):
    """A Pi camera module; see the module docstring.

    Parameters
    ----------
    width, height, fps
        Stream size and frame rate (the frame duration is fixed at 1/fps).
    encoding
        ``"h264"`` (default, hardware on a Pi 4) or ``"mjpeg"``.
    bitrate
        H.264 bitrate in bit/s (default 2 Mbit/s at 640x480).
    camera_num
        Which camera, when several are connected.
    frame_timeout_s
        A frame not arriving in this time means the camera is gone.
    """

    def __init__(
        self,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        encoding: Encoding = "h264",
        bitrate: int | None = None,
        camera_num: int = 0,
        frame_timeout_s: float = 2.0,
    ) -> None:
        if encoding not in ("h264", "mjpeg"):
            raise ValueError(f"encoding must be 'h264' or 'mjpeg', not {encoding!r}")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.encoding: Encoding = encoding
        self.bitrate = bitrate or int(2_000_000 * (self.width * self.height) / (640 * 480))
        self.camera_num = camera_num
        self.frame_timeout_s = frame_timeout_s
        self._picam2: Any = None
        self._index = 0
        self._encoder: Any = None
        self._output: Any = None
        self._target: Path | None = None
        self._raw: Path | None = None

    def start(self) -> None:
        """Open the camera, start streaming and wait for its first frame.

        Every failure becomes a :class:`HardwareError` saying what failed: not only a missing
        picamera2 (ImportError) but one that cannot load (e.g. "numpy.dtype size changed"
        when the venv's numpy is not the one the OS's picamera2 was built for) or a libcamera
        error, so ``/healthz`` and the trials can say why there is no video.
        """
        if self._picam2 is not None:
            return  # already streaming: the recorder starts the camera before every trial
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise HardwareError("picamera2 is not installed", hint=_INSTALL_HINT) from None
        except Exception as exc:  # the module exists but its import fails
            raise HardwareError(
                f"picamera2 cannot be loaded: {type(exc).__name__}: {exc}",
                hint=_NUMPY_HINT if "numpy" in str(exc) else _INSTALL_HINT,
            ) from None
        try:
            cameras = Picamera2.global_camera_info()
        except Exception as exc:
            raise HardwareError(f"libcamera cannot list the cameras: {type(exc).__name__}: {exc}",
                                hint=_UNPLUGGED_HINT) from None
        if len(cameras) <= self.camera_num:
            raise HardwareError(
                f"no camera found (camera {self.camera_num} requested, {len(cameras)} connected)",
                hint=_UNPLUGGED_HINT,
            )
        picam2 = None
        try:
            picam2 = Picamera2(self.camera_num)
            frame_us = round(1e6 / self.fps)
            config = picam2.create_video_configuration(
                main={"size": (self.width, self.height), "format": "BGR888"},
                controls={"FrameDurationLimits": (frame_us, frame_us)},
            )
            picam2.configure(config)
            picam2.start()
            # One frame now: a camera that opens but delivers nothing fails here, not in a trial.
            picam2.capture_request(wait=self.frame_timeout_s).release()
        except Exception as exc:
            if picam2 is not None:
                _close_quietly(picam2)
            raise HardwareError(
                f"the camera could not be started: {type(exc).__name__}: {exc or 'timeout'}", hint=_UNPLUGGED_HINT
            ) from None
        self._picam2 = picam2
        self._index = 0

    def stop(self) -> None:
        if self._picam2 is None:
            return
        try:
            if self._encoder is not None:
                self._picam2.stop_encoder()
                self._encoder = None
            self._picam2.stop()
            self._picam2.close()
        except (RuntimeError, OSError):
            pass  # an unplugged camera cannot be stopped cleanly; it is released anyway
        finally:
            self._picam2 = None

    def read_frame(self) -> VideoFrame:
        if self._picam2 is None:
            raise HardwareError("the camera is not started", hint="Call start() first.")
        try:
            request = self._picam2.capture_request(wait=self.frame_timeout_s)
        except (TimeoutError, RuntimeError, OSError) as exc:
            raise HardwareError(
                f"the camera delivered no frame in {self.frame_timeout_s:.1f} s ({exc or 'timeout'})",
                hint=_UNPLUGGED_HINT,
            ) from None
        try:
            image = np.array(request.make_array("main"), dtype=np.uint8, copy=True)
            t_ns = int(request.get_metadata()["SensorTimestamp"])
        finally:
            request.release()
        if image.shape[:2] != (self.height, self.width):
            image = np.ascontiguousarray(image[: self.height, : self.width, :3])
        frame = VideoFrame(index=self._index, t_ns=t_ns, image=image)
        self._index += 1
        return frame

    def start_recording(self, path: str | Path) -> None:
        """Start encoding every camera frame to ``path`` (an ``.mp4`` made at stop)."""
        if self._picam2 is None:
            raise HardwareError("the camera is not started", hint="Call start() first.")
        if self._encoder is not None:
            raise ConflictError("the camera is already recording", hint="Stop the running recording first.")
        from picamera2.encoders import H264Encoder, MJPEGEncoder

        self._target = Path(path)
        suffix = ".h264" if self.encoding == "h264" else ".mjpeg"
        self._raw = self._target.with_name(self._target.stem + suffix + ".part")
        encoder = H264Encoder(bitrate=self.bitrate) if self.encoding == "h264" else MJPEGEncoder()
        self._output = _make_output(self._raw, encoder)
        self._picam2.start_encoder(encoder, self._output)
        self._encoder = encoder

    def stop_recording(self) -> RecordedVideo:
        """Stop encoding and produce the MP4 and its timestamp sidecar."""
        if self._encoder is None or self._raw is None or self._target is None:
            raise ConflictError("the camera is not recording", hint="Call start_recording first.")
        self._picam2.stop_encoder()
        encoder, self._encoder = self._encoder, None
        first_us = getattr(encoder, "firsttimestamp", None)
        rel_us = np.asarray(self._output.timestamps_us, dtype=np.int64)
        if first_us is None or rel_us.size == 0:
            self._raw.unlink(missing_ok=True)
            raise HardwareError("the recording holds no frame", hint=_UNPLUGGED_HINT)
        t_ns = (int(first_us) + rel_us) * 1000
        if self.encoding == "h264":
            return remux_h264(self._raw, self._target, t_ns, fps=self.fps)
        return transcode_mjpeg(self._raw, self._target, t_ns, fps=self.fps)


def _close_quietly(picam2: Any) -> None:
    """Release a camera that failed half-way through start (its own error is the one reported)."""
    for step in (picam2.stop, picam2.close):
        try:
            step()
        except Exception:  # noqa: S112 - already failing; the first error is what counts
            continue


def _make_output(path: Path, encoder: Any) -> Any:
    """A picamera2 FileOutput that also keeps each frame's timestamp (us, relative)."""
    from picamera2.outputs import FileOutput

    class _TimestampedFileOutput(FileOutput):  # type: ignore[misc, valid-type]
        def __init__(self, file: str) -> None:
            super().__init__(file)
            self.timestamps_us: list[int] = []

        def outputframe(self, frame: Any, keyframe: bool = True, timestamp: int | None = None,
                        *args: Any, **kwargs: Any) -> None:
            if timestamp is not None:
                self.timestamps_us.append(int(timestamp))
            super().outputframe(frame, keyframe, timestamp, *args, **kwargs)

    return _TimestampedFileOutput(str(path))
