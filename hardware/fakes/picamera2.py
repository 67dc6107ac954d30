"""A fake ``picamera2`` package for machines without a Pi camera (CI, laptops).

:func:`install` puts ``picamera2``, ``picamera2.encoders`` and ``picamera2.outputs``
into :data:`sys.modules`, so :class:`hardware.picamera2_backend.Picamera2Camera` runs
unchanged above it. Faked at the lowest level and faithful where the backend depends
on it:

- a camera thread completes one request per frame period, with ``SensorTimestamp``
  from ``time.monotonic_ns()`` (as libcamera does: CLOCK_MONOTONIC);
- ``make_array("main")`` honours the format quirk: ``BGR888`` gives [R, G, B] pixels,
  ``RGB888`` gives [B, G, R];
- encoders really encode (PyAV's libx264 to a raw Annex-B H.264 stream, or MJPEG),
  pass picamera2's relative microsecond timestamps to the output and keep
  ``firsttimestamp``, as ``picamera2.encoders.Encoder`` does;
- unplugging (:meth:`FakeCameraSystem.unplug`) stops the frames: ``capture_request``
  times out; ``global_camera_info`` lists no camera when none is connected;
- failures other than a missing module: ``install(import_error=...)`` makes ``import
  picamera2`` itself raise (through the import system, as the real package does when
  simplejpeg was built for another numpy: "ValueError: numpy.dtype size changed"), and
  :attr:`FakeCameraSystem.start_error` / :attr:`FakeCameraSystem.capture_error` are raised
  by ``Picamera2.start`` / ``capture_request`` (libcamera's RuntimeErrors).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

FrameSource = Callable[[int, int], np.ndarray]  # (frame index, t_ns) -> RGB image


def _default_source(width: int, height: int) -> FrameSource:
    def source(index: int, t_ns: int) -> np.ndarray:
        img = np.full((height, width, 3), 128, np.uint8)
        img[:, (index * 4) % width] = (255, 0, 0)  # a moving red line
        return img

    return source


@dataclass
class FakeCameraSystem:
    """The connected cameras and what they see; one shared instance per install()."""

    n_cameras: int = 1
    source: FrameSource | None = None
    connected: bool = True
    frames_produced: int = 0
    instances: list[Any] = field(default_factory=list)
    #: Raised by ``Picamera2.start()`` / ``capture_request()`` when set (libcamera failures).
    start_error: BaseException | None = None
    capture_error: BaseException | None = None

    def unplug(self) -> None:
        """Pull the ribbon cable: frames stop, no camera is listed any more."""
        self.connected = False
        self.n_cameras = 0


SYSTEM = FakeCameraSystem()


class CompletedRequest:
    def __init__(self, image_rgb: np.ndarray, fmt: str, metadata: dict[str, Any]) -> None:
        self._image = image_rgb
        self._fmt = fmt
        self._metadata = metadata
        self.released = False

    def make_array(self, name: str = "main") -> np.ndarray:
        if name != "main":
            raise KeyError(name)
        if self._fmt == "BGR888":
            return self._image.copy()
        if self._fmt == "RGB888":
            return self._image[:, :, ::-1].copy()
        raise RuntimeError(f"fake picamera2 does not render format {self._fmt}")

    def get_metadata(self) -> dict[str, Any]:
        return dict(self._metadata)

    def release(self) -> None:
        self.released = True


class Picamera2:
    """The subset of ``picamera2.Picamera2`` the station uses."""

    def __init__(self, camera_num: int = 0) -> None:
        if camera_num >= SYSTEM.n_cameras:
            raise IndexError("list index out of range")  # what picamera2 raises with no camera
        if any(c.camera_num == camera_num and not c.closed for c in SYSTEM.instances):
            # libcamera allows one owner per camera: a second open fails like this on a Pi
            raise RuntimeError("Failed to acquire camera: Device or resource busy")
        self.camera_num = camera_num
        self.config: dict[str, Any] | None = None
        self.started = False
        self.closed = False
        self.post_callback: Callable[[Any], None] | None = None
        self._cond = threading.Condition()
        self._latest: CompletedRequest | None = None
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._encoder: Any = None
        SYSTEM.instances.append(self)

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return [{"Model": "imx708", "Num": i, "Id": f"/base/fake/i2c@{i}"} for i in range(SYSTEM.n_cameras)]

    def create_video_configuration(
        self, main: dict[str, Any] | None = None, controls: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
        main = {"size": (1280, 720), "format": "XBGR8888", **(main or {})}
        return {"main": main, "controls": dict(controls or {})}

    def configure(self, config: dict[str, Any]) -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        self.config = config

    def _frame_period_s(self) -> float:
        assert self.config is not None
        limits = self.config["controls"].get("FrameDurationLimits", (33333, 33333))
        return float(limits[0]) / 1e6

    def start(self) -> None:
        if self.config is None:
            raise RuntimeError("Camera has not been configured")
        if SYSTEM.start_error is not None:
            raise SYSTEM.start_error
        self.started = True
        self._thread = threading.Thread(target=self._run, name="fake-camera", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.config is not None
        w, h = self.config["main"]["size"]
        fmt = self.config["main"]["format"]
        source = SYSTEM.source or _default_source(w, h)
        period_ns = round(self._frame_period_s() * 1e9)
        next_ns = time.monotonic_ns()
        while self.started and SYSTEM.connected:
            now = time.monotonic_ns()
            if now < next_ns:
                time.sleep((next_ns - now) / 1e9)
            t_ns = time.monotonic_ns()  # start of exposure, CLOCK_MONOTONIC
            next_ns += period_ns
            image = source(self._seq, t_ns)
            req = CompletedRequest(image, fmt, {"SensorTimestamp": t_ns, "FrameDuration": period_ns // 1000})
            self._seq += 1
            SYSTEM.frames_produced += 1
            if self.post_callback is not None:
                self.post_callback(req)
            encoder = self._encoder
            if encoder is not None:
                encoder.encode("main", req)
            with self._cond:
                self._latest = req
                self._cond.notify_all()

    def capture_request(self, wait: float | bool | None = None) -> CompletedRequest:
        timeout = wait if isinstance(wait, int | float) and not isinstance(wait, bool) else 10.0
        if SYSTEM.capture_error is not None:
            raise SYSTEM.capture_error
        with self._cond:
            before = self._latest
            if not self._cond.wait_for(lambda: self._latest is not before, timeout=timeout):
                raise TimeoutError("timed out waiting for a frame")
            assert self._latest is not None
            return self._latest

    def start_encoder(self, encoder: Any, output: Any = None, name: str = "main", **_: Any) -> None:
        if output is not None:
            encoder.output = output
        assert self.config is not None
        encoder.size = tuple(self.config["main"]["size"])
        encoder.frame_rate = 1.0 / self._frame_period_s()
        encoder.start()
        self._encoder = encoder

    def stop_encoder(self, encoders: Any = None) -> None:
        encoder, self._encoder = self._encoder, None
        if encoder is not None:
            encoder.stop()

    def stop(self) -> None:
        self.started = False
        if self._thread is not None:
            self._thread.join(timeout=2)

    def close(self) -> None:
        self.stop()
        self.closed = True


# -- picamera2.outputs ---------------------------------------------------------------


class Output:
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def outputframe(self, frame: bytes, keyframe: bool = True, timestamp: int | None = None,
                    packet: Any = None, audio: bool = False) -> None: ...


class FileOutput(Output):
    def __init__(self, file: str | None = None, pts: str | None = None, split: Any = None) -> None:
        self._path = file
        self._fh: Any = None

    def start(self) -> None:
        if self._path is not None:
            self._fh = open(self._path, "wb")  # noqa: SIM115 - kept open across frames

    def stop(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def outputframe(self, frame: bytes, keyframe: bool = True, timestamp: int | None = None,
                    packet: Any = None, audio: bool = False) -> None:
        if self._fh is not None:
            self._fh.write(frame)


# -- picamera2.encoders --------------------------------------------------------------


class Encoder:
    """Base: relative microsecond timestamps and ``firsttimestamp`` as picamera2 does."""

    codec = ""

    def __init__(self) -> None:
        self.firsttimestamp: int | None = None
        self.size: tuple[int, int] = (640, 480)
        self.frame_rate = 30.0
        self._outputs: list[Output] = []
        self._ctx: Any = None
        self._lock = threading.Lock()

    @property
    def output(self) -> Any:
        return self._outputs[0] if len(self._outputs) == 1 else self._outputs

    @output.setter
    def output(self, value: Any) -> None:
        outs = value if isinstance(value, list) else [value]
        if not all(isinstance(o, Output) for o in outs):
            raise RuntimeError("Must pass Output")
        self._outputs = outs

    def _timestamp(self, request: CompletedRequest) -> int:
        ts = int(request.get_metadata()["SensorTimestamp"] / 1000)
        if self.firsttimestamp is None:
            self.firsttimestamp = ts
            return 0
        return ts - self.firsttimestamp

    def start(self) -> None:
        import av

        ctx: Any = av.CodecContext.create(self.codec, "w")
        ctx.width, ctx.height = self.size
        ctx.time_base = Fraction(1, 1_000_000)
        ctx.framerate = Fraction(round(self.frame_rate * 1000), 1000)
        self._configure(ctx)
        self._ctx = ctx
        for out in self._outputs:
            out.start()

    def _configure(self, ctx: Any) -> None: ...

    def encode(self, stream: str, request: CompletedRequest) -> None:
        import av

        with self._lock:
            if self._ctx is None:
                return
            ts = self._timestamp(request)
            frame = av.VideoFrame.from_ndarray(request.make_array(stream), format="rgb24")
            frame.pts = ts
            for packet in self._ctx.encode(frame):
                self._emit(packet)

    def _emit(self, packet: Any) -> None:
        for out in self._outputs:
            out.outputframe(bytes(packet), bool(packet.is_keyframe), int(packet.pts))

    def stop(self) -> None:
        with self._lock:
            if self._ctx is None:
                raise RuntimeError("Encoder already stopped")
            for packet in self._ctx.encode(None):
                self._emit(packet)
            self._ctx = None
        for out in self._outputs:
            out.stop()


class H264Encoder(Encoder):
    codec = "libx264"

    def __init__(self, bitrate: int | None = None, repeat: bool = False, iperiod: int | None = None, **_: Any) -> None:
        super().__init__()
        self.bitrate = bitrate

    def _configure(self, ctx: Any) -> None:
        ctx.pix_fmt = "yuv420p"
        if self.bitrate:
            ctx.bit_rate = self.bitrate
        # Baseline-like stream as the Pi's hardware encoder makes: no B-frames.
        ctx.options = {"preset": "ultrafast", "bf": "0", "tune": "zerolatency"}


class MJPEGEncoder(Encoder):
    codec = "mjpeg"

    def __init__(self, bitrate: int | None = None, **_: Any) -> None:
        super().__init__()

    def _configure(self, ctx: Any) -> None:
        ctx.pix_fmt = "yuvj420p"


class _BrokenImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``picamera2`` and fails while executing it, as a package whose own imports
    break does (the error is raised by the import statement, like the real one's)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == "picamera2" or fullname.startswith("picamera2."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        raise self.error


_broken: _BrokenImport | None = None


def install(
    *, source: FrameSource | None = None, n_cameras: int = 1, import_error: BaseException | None = None
) -> FakeCameraSystem:
    """Install the fake as ``picamera2`` in :data:`sys.modules`; returns the camera system.

    ``source(index, t_ns)`` renders what the camera sees (RGB uint8 at the configured
    size). ``import_error``: ``import picamera2`` raises it instead. Call :func:`uninstall`
    afterwards.
    """
    global SYSTEM, _broken
    SYSTEM = FakeCameraSystem(n_cameras=n_cameras, source=source)
    if import_error is not None:
        for name in ("picamera2", "picamera2.encoders", "picamera2.outputs"):
            sys.modules.pop(name, None)
        _broken = _BrokenImport(import_error)
        sys.meta_path.insert(0, _broken)
        return SYSTEM
    pkg = types.ModuleType("picamera2")
    pkg.Picamera2 = Picamera2  # type: ignore[attr-defined]
    pkg.__path__ = []  # a package, so submodule imports resolve through sys.modules
    enc = types.ModuleType("picamera2.encoders")
    enc.Encoder, enc.H264Encoder, enc.MJPEGEncoder = Encoder, H264Encoder, MJPEGEncoder  # type: ignore[attr-defined]
    outs = types.ModuleType("picamera2.outputs")
    outs.Output, outs.FileOutput = Output, FileOutput  # type: ignore[attr-defined]
    pkg.encoders, pkg.outputs = enc, outs  # type: ignore[attr-defined]
    sys.modules.update({"picamera2": pkg, "picamera2.encoders": enc, "picamera2.outputs": outs})
    return SYSTEM


def uninstall() -> None:
    """Remove the fake from :data:`sys.modules` (stopping any camera still running)."""
    global _broken
    for cam in SYSTEM.instances:
        cam.stop()
    if _broken is not None:
        sys.meta_path.remove(_broken)
        _broken = None
    for name in ("picamera2", "picamera2.encoders", "picamera2.outputs"):
        sys.modules.pop(name, None)
