"""The running station: one object that builds and owns every service and starts/stops
them in order.

``station serve`` (through the API's lifespan or before it) and ``station calibrate``
each build one :class:`Station`; the API's routes take its services (``api.deps``).
A bad configuration stops start-up with a clear message. Hardware that does not answer
does not: with no amplifier powered the station still serves the kiosk and the API,
``health()`` names what is wrong and what to check, the acquisition keeps trying to open
the load cells, and recording and calibration refuse with that reason (HTTP 503) until
they answer. The camera is tried at start-up (one frame captured); when it fails, the
reason is kept for ``/healthz`` and every trial says "no video" with it.
With simulated plates the station also builds the simulated director (recordings)
and operator (calibrations), so the simulated athlete and masses do what is asked.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from calibration.camera_view import CameraViewCalibration
from calibration.sim_operator import SimOperator
from hardware.base import Camera, LoadCellSource
from hardware.factory import UnavailableCamera, make_camera, make_load_cell_source
from hardware.sim import SimLoadCellSource
from hardware.sim.director import SimDirector
from station.acquisition import Acquisition, Sample
from station.calibration_service import CalibrationService, active_calibration
from station.core.calibration import Calibration
from station.core.config import Settings
from station.core.errors import ConfigError, StationError
from station.core.geometry import Geometry
from station.recording import Recorder
from station.storage import Store
from station.video_capture import VideoCapture

log = logging.getLogger(__name__)


def load_geometry(settings: Settings) -> Geometry:
    if settings.geometry_file is None:
        return Geometry()
    try:
        return Geometry.from_json_file(settings.geometry_file)
    except ValueError as exc:
        raise ConfigError("STATION_GEOMETRY_FILE", str(exc)) from None


class Station:
    """Store, load-cell source, acquisition, camera, video capture, recorder, calibration
    and camera-view services, and with simulated plates the simulated director.

    Parameters
    ----------
    settings
        The configuration.
    source
        A load-cell source to use instead of the configured one (tests).
    camera
        ``True``: the configured camera; ``False``/``None``: none; a :class:`Camera`: that one.
    geometry
        Plate geometry instead of the configured one (``station calibrate --geometry``).
    background
        ``False``: no reader or service threads; the owner feeds frames with
        :meth:`pump` (a simulation faster than real time, ``station calibrate --simulate``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        source: LoadCellSource | None = None,
        camera: Camera | None | bool = True,
        geometry: Geometry | None = None,
        background: bool = True,
    ) -> None:
        self.settings = settings
        self.geometry = geometry or load_geometry(settings)
        self._source_override = source
        self._camera_choice = camera
        self.background = background
        self.store: Store | None = None
        self.source: LoadCellSource | None = None
        self.acquisition: Acquisition | None = None
        self.camera: Camera | None = None
        self.camera_error: str | None = None
        self.camera_hint: str | None = None
        self.video: VideoCapture | None = None
        self.director: SimDirector | None = None
        self.recorder: Recorder | None = None
        self.calibration: CalibrationService | None = None
        self.camera_view: CameraViewCalibration | None = None
        self.started = False

    # The constructor does no I/O; start() does it all, so a failed start leaves nothing behind.
    def start(self) -> None:
        s = self.settings
        try:
            s.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError("STATION_DATA_DIR", f"cannot create {s.data_dir}: {exc}") from None
        self.store = store = Store(s.db_path)
        interrupted = store.mark_interrupted()
        if interrupted:
            log.warning("trials %s were interrupted by a crash or power cut; kept as 'interrupted'", interrupted)

        calibration = active_calibration(store, default_geometry=self.geometry)
        self.source = source = self._source_override or make_load_cell_source(
            s, geometry=self.geometry, paced=self.background
        )
        self.acquisition = acquisition = Acquisition(source, calibration=calibration)
        if self.background:
            acquisition.start()

        self.camera = camera = self._make_camera()
        sim = source if isinstance(source, SimLoadCellSource) else None
        # A configured camera that failed still gets a VideoCapture: each trial then says
        # "no video" and why, instead of silently having none.
        film = camera if camera is not None else (
            UnavailableCamera(self.camera_error, hint=self.camera_hint) if self.camera_error else None
        )
        if film is not None:
            self.video = VideoCapture(film, store, videos_dir=s.data_dir / "videos",
                                      force_clock=lambda: _t_ns(acquisition.latest()))
        if sim is not None:
            self.director = SimDirector(sim, camera=camera)
        self.recorder = recorder = Recorder(
            acquisition=acquisition, store=store, video=self.video,
            cue=self.director.act if self.director is not None else None,
        )
        self.calibration = calibration_service = CalibrationService(
            acquisition, store, is_recording=recorder.is_busy, background=self.background,
            operator=SimOperator(sim) if sim is not None else None,
        )
        self.camera_view = camera_view = CameraViewCalibration(camera, store, recorder=recorder)

        def blocked_by() -> str | None:
            if calibration_service.is_busy():
                return "a calibration is in progress"
            if camera_view.is_busy():
                return "the camera view calibration is running"
            return None

        recorder.blocked_by = blocked_by
        if interrupted and self.background:
            threading.Thread(
                target=self._analyse_interrupted, args=(interrupted,), name="analyse-interrupted", daemon=True
            ).start()
        self.started = True
        log.info("station started: hardware=%s camera=%s db=%s", s.hardware, s.camera, s.db_path)

    def pump(self, sim_s: float) -> None:
        """Without background threads: read ``sim_s`` seconds of frames into the
        acquisition, then let the calibration service see them."""
        assert self.source is not None and self.acquisition is not None and self.calibration is not None
        for _ in range(int(sim_s * self.source.rate_hz)):
            self.acquisition.process(self.source.read_frame())
        self.calibration.poll()

    def _analyse_interrupted(self, trial_ids: list[int]) -> None:
        """Give trials cut short by a crash their metrics, from the samples that were saved,
        under the calibration they were recorded with."""
        assert self.store is not None and self.recorder is not None and self.acquisition is not None
        for trial_id in trial_ids:
            try:
                trial = self.store.get_trial(trial_id)
                cal = self.acquisition.calibration
                if trial.get("calibration_id") is not None:
                    cal = Calibration.from_row(self.store.get_calibration(trial["calibration_id"]))
                self.recorder.recompute(trial_id, cal)
                log.info("interrupted trial %s analysed from its saved samples", trial_id)
            except Exception as exc:  # e.g. less than a second was saved: keep the raw data
                log.warning("interrupted trial %s could not be analysed: %s", trial_id, exc)

    def _make_camera(self) -> Camera | None:
        if self._camera_choice is False or self._camera_choice is None:
            return None
        if isinstance(self._camera_choice, Camera):
            return self._camera_choice
        camera: Camera | None = None
        try:
            camera = make_camera(self.settings)
            if camera is not None:
                # Open it and take one frame now: a library that imports but cannot run
                # (a numpy mismatch, libcamera errors) shows up here, not in a trial.
                camera.start()
                try:
                    camera.read_frame()
                finally:
                    camera.stop()
            return camera
        except Exception as exc:  # any failure: a missing camera must not stop force recording
            if isinstance(exc, StationError):
                self.camera_error, self.camera_hint = exc.message, exc.hint
            else:
                self.camera_error = f"{type(exc).__name__}: {exc}"
            log.error("camera unavailable: %s", exc)
            return None

    def stop(self) -> None:
        if self.recorder is not None:
            try:
                self.recorder.shutdown()
            except Exception:
                log.exception("recorder shutdown failed")
        if self.calibration is not None:
            self.calibration.close()
        if self.acquisition is not None:
            self.acquisition.stop()
        if self.store is not None:
            self.store.close()
        self.started = False

    def health(self) -> dict[str, Any]:
        acq = self.acquisition.health() if self.acquisition else {"running": False, "healthy": False}
        return {
            "hardware": self.settings.hardware,
            "acquisition": acq,
            "camera": self.camera_health(),
        }

    def camera_health(self) -> dict[str, Any]:
        return {
            "configured": self.settings.camera,
            "available": self.camera is not None,
            "error": self.camera_error,
            "hint": self.camera_hint,
        }


def _t_ns(sample: Sample | None) -> int | None:
    return None if sample is None else sample.t_ns
