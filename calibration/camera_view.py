"""The camera view calibration on the running station: capture, measure the roll, store it.

:mod:`calibration.camera_roll` measures the roll from frames; this module runs it on
the station's own camera and keeps the result in the database as the active
``camera_roll`` calibration (``Store.save_calibration(kind="camera_roll")``), which the
recorder reads for every squat's pelvic drop (:mod:`station.recording`). Only one
view calibration runs at a time, never while a trial is being recorded (the camera
would be read by two threads), and a recording cannot start while it runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from calibration.camera_roll import CameraRoll, Reference, measure_roll_deg
from hardware.base import Camera
from station.core.errors import CalibrationError, ConflictError, HardwareError, InputError

#: Frames captured by default (half a second at 30 fps).
DEFAULT_FRAMES = 15
MAX_FRAMES = 300
#: Frames dropped first: a camera may still hold frames from before the bar was in place.
SKIP_FRAMES = 2


def _refuse_an_athlete_in_view(images: list[np.ndarray]) -> None:
    """An athlete standing in front of the camera shows the same two pelvis colours as
    the bar, nearly level: without this check their pelvic obliquity would be stored as
    the camera's roll. The knee and ankle markers give them away."""
    from station.analysis.markers import detect_markers
    from station.core.markers import DEFAULT_MARKERS

    others = DEFAULT_MARKERS[2:]
    if not others or not images:
        return
    sample = [images[i] for i in sorted({0, len(images) // 2, len(images) - 1})]
    seen = sum(bool(np.isfinite(detect_markers(img, markers=others).positions_px).all(axis=-1).any()) for img in sample)
    if seen * 2 > len(sample):
        names = ", ".join(m.name for m in others)
        raise CalibrationError(
            f"the {names} markers are in view: an athlete seems to stand in front of the camera",
            hint="Ask the athlete to step aside and hold only the level bar (magenta and cyan markers) in view.",
        )


def current_camera_roll(store: Any) -> dict[str, Any]:
    """The active view calibration as a plain dict (``calibrated`` False: a level camera is assumed)."""
    row = store.active_calibration("camera_roll")
    if row is None or not isinstance(row.get("data"), dict):
        return {"calibrated": False, "id": None, "roll_deg": 0.0, "reference": None, "n_frames": 0,
                "spread_deg": None, "measured_at": None, "created_by": None}
    roll = CameraRoll.from_dict(row["data"])
    return {"calibrated": True, "id": int(row["id"]), **roll.to_dict(), "created_by": row.get("created_by")}


class CameraViewCalibration:
    """Runs :func:`calibrate` on one station's camera, one at a time.

    Parameters
    ----------
    camera
        The station's camera (None: no camera; every calibration is refused with advice).
    store
        The database.
    recorder
        Optional :class:`station.recording.Recorder`: a calibration is refused while it
        records. The other way round, :class:`station.runtime.Station` makes the recorder
        refuse to start while :meth:`is_busy`.
    """

    def __init__(self, camera: Camera | None, store: Any, *, recorder: Any = None) -> None:
        self.camera = camera
        self.store = store
        self.recorder = recorder
        self._lock = threading.Lock()
        self._busy = False

    def is_busy(self) -> bool:
        return self._busy

    def current(self) -> dict[str, Any]:
        return current_camera_roll(self.store)

    def calibrate(
        self,
        *,
        reference: Reference = "level",
        n_frames: int = DEFAULT_FRAMES,
        actor: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Capture ``n_frames`` of the level bar (or plumb line), measure and store the roll.

        Returns the new active calibration (:func:`current_camera_roll`). Raises
        :class:`HardwareError` without a camera, :class:`ConflictError` while a trial
        records or another view calibration runs, :class:`CalibrationError` (with
        advice) when the markers are not seen, moved, or the camera is rolled too far;
        a refused calibration leaves the previous one active.
        """
        if reference not in ("level", "vertical"):
            raise InputError(f"reference must be 'level' or 'vertical', not {reference!r}")
        if not 5 <= int(n_frames) <= MAX_FRAMES:
            raise InputError(f"frames must be between 5 and {MAX_FRAMES}, not {n_frames}")
        if self.camera is None:
            raise HardwareError(
                "the station has no camera",
                hint="Connect the Pi camera and set STATION_CAMERA=picamera2 (or sim), then restart the station.",
            )
        with self._lock:
            if self._busy:
                raise ConflictError("a camera view calibration is already running", hint="Wait for it to finish.")
            if self.recorder is not None and self.recorder.is_busy():
                raise ConflictError(
                    f"a trial is being recorded (state {self.recorder.state})",
                    hint="Calibrate the camera view when no trial is running.",
                )
            self._busy = True
        try:
            images = self._capture(int(n_frames), progress)
            _refuse_an_athlete_in_view(images)
            if progress is not None:
                progress("measuring the roll")
            roll = measure_roll_deg(images, reference=reference, min_frames=max(5, int(n_frames) // 2))
            self.store.save_calibration(kind="camera_roll", data=roll.to_dict(), created_by=actor, activate=True)
        finally:
            self._busy = False
        return self.current()

    def _capture(self, n_frames: int, progress: Callable[[str], None] | None) -> list[np.ndarray]:
        cam = self.camera
        assert cam is not None
        try:
            cam.read_frame()
        except HardwareError:  # not started yet (a picamera2 opens the device in start())
            cam.start()
        for _ in range(SKIP_FRAMES):
            cam.read_frame()
        images: list[np.ndarray] = []
        started = time.monotonic()
        for i in range(n_frames):
            images.append(cam.read_frame().image)
            if progress is not None and (i + 1) % 10 == 0:
                progress(f"captured {i + 1}/{n_frames} frames ({time.monotonic() - started:.1f} s)")
        return images


__all__ = ["DEFAULT_FRAMES", "CameraViewCalibration", "current_camera_roll"]
