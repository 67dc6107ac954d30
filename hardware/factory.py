"""Pick the hardware backends named by the configuration.

Never falls back silently: if ``hardware = "pi"`` and the GPIO library or a chip is
missing, or ``hardware = "pico"`` and the board does not answer, the configured backend
is still the one used: the station serves its page and API, says in ``/healthz`` what to
install or check, and keeps trying to open it (``station.acquisition``). A camera that
cannot be used is replaced by an :class:`UnavailableCamera` that says why in every trial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hardware.base import Camera, LoadCellSource, VideoFrame
from station.core.errors import ConfigError, HardwareError

if TYPE_CHECKING:
    from station.core.config import Settings
    from station.core.geometry import Geometry


def make_load_cell_source(settings: Settings, *, geometry: Geometry | None = None, paced: bool = True) -> LoadCellSource:
    """The configured load cells; ``paced=False`` lets the simulator run faster than real time."""
    if settings.hardware == "sim":
        from hardware.sim import SimLoadCellSource

        return SimLoadCellSource(
            seed=settings.sim_seed, rate_hz=float(settings.sample_rate_hz), paced=paced, geometry=geometry
        )
    if settings.hardware == "pi":
        from hardware.hx711_backend import HX711Array

        return HX711Array(pins=settings.pins, rate_hz=float(settings.sample_rate_hz))
    if settings.hardware == "pico":
        from hardware.pico.backend import PicoLoadCellSource

        return PicoLoadCellSource(port=settings.pico_port, rate_hz=float(settings.sample_rate_hz))
    raise ConfigError("STATION_HARDWARE", f"unknown backend {settings.hardware!r} (use sim, pi or pico)")


def make_camera(settings: Settings) -> Camera | None:
    """The configured camera, or ``None`` when ``camera = "none"``."""
    if settings.camera == "none":
        return None
    if settings.camera == "sim":
        from hardware.sim.camera import SimCamera

        return SimCamera(width=settings.camera_width, height=settings.camera_height, fps=settings.camera_fps)
    if settings.camera == "picamera2":
        try:
            from hardware.picamera2_backend import Picamera2Camera
        except Exception as exc:  # pragma: no cover - depends on the OS (a broken PyAV, numpy)
            raise HardwareError(
                f"the picamera2 backend cannot load ({type(exc).__name__}: {exc})",
                hint="On Raspberry Pi OS run `sudo apt install python3-picamera2` and create the venv "
                "with --system-site-packages (make install-pi does both).",
            ) from exc
        return Picamera2Camera(
            width=settings.camera_width, height=settings.camera_height, fps=settings.camera_fps
        )
    raise ConfigError("STATION_CAMERA", f"unknown camera {settings.camera!r} (use sim, picamera2 or none)")


class UnavailableCamera(Camera):
    """Stands in for a configured camera that failed at start-up: every use raises
    :class:`HardwareError` with the reason, so each trial's warnings say "no video" and why
    (the force recording goes on without it)."""

    def __init__(self, reason: str, *, hint: str | None = None, fps: float = 30.0) -> None:
        self.reason = reason
        self.hint = hint
        self.width = self.height = 0
        self.fps = fps

    def start(self) -> None:
        raise HardwareError(f"the camera is unavailable: {self.reason}", hint=self.hint)

    def read_frame(self) -> VideoFrame:
        self.start()
        raise AssertionError("unreachable")  # pragma: no cover
