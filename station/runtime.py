"""The running station: one object that owns every part and starts/stops them in order.

The API's lifespan creates one :class:`Station`; ``station serve`` runs that API.
Parts that are optional at run time (camera) are allowed to be missing; the load-cell
source is not: a bad hardware configuration stops start-up with a clear message.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from hardware.base import Camera, LoadCellSource
from hardware.factory import make_camera, make_load_cell_source
from station.acquisition import Acquisition
from station.core.calibration import Calibration
from station.core.config import Settings
from station.core.errors import ConfigError, StationError
from station.core.geometry import Geometry

if TYPE_CHECKING:
    from station.calibration_service import CalibrationService
    from station.recording import Recorder
    from station.storage import Store

log = logging.getLogger(__name__)


def load_geometry(settings: Settings) -> Geometry:
    if settings.geometry_file is None:
        return Geometry()
    try:
        return Geometry.from_json_file(settings.geometry_file)
    except ValueError as exc:
        raise ConfigError("STATION_GEOMETRY_FILE", str(exc)) from None


class Station:
    """Store, load-cell source, acquisition, camera, recorder and calibration service."""

    def __init__(
        self,
        settings: Settings,
        *,
        source: LoadCellSource | None = None,
        camera: Camera | None | bool = True,
    ) -> None:
        self.settings = settings
        self.geometry = load_geometry(settings)
        self._source_override = source
        self._camera_choice = camera
        self.store: Store | None = None
        self.source: LoadCellSource | None = None
        self.acquisition: Acquisition | None = None
        self.camera: Camera | None = None
        self.camera_error: str | None = None
        self.recorder: Recorder | None = None
        self.calibration: CalibrationService | None = None
        self.started = False

    # The constructor does no I/O; start() does it all, so a failed start leaves nothing behind.
    def start(self) -> None:
        from station.recording import Recorder
        from station.storage import Store

        s = self.settings
        try:
            s.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError("STATION_DATA_DIR", f"cannot create {s.data_dir}: {exc}") from None
        self.store = Store(s.db_path)
        interrupted = self.store.mark_interrupted()
        if interrupted:
            log.warning("trials %s were interrupted by a crash or power cut; kept as 'interrupted'", interrupted)

        calibration = self._active_calibration()
        self.source = self._source_override or make_load_cell_source(s, geometry=self.geometry)
        self.acquisition = Acquisition(self.source, calibration=calibration)
        self.acquisition.start()

        self.camera = self._make_camera()
        follow = getattr(self.camera, "follow", None)
        if follow is not None and self.settings.hardware == "sim":
            follow(self.source)  # the simulated camera films the simulated athlete
        self.recorder = Recorder(
            acquisition=self.acquisition, store=self.store, camera=self.camera, data_dir=s.data_dir, settings=s
        )
        from station.calibration_service import CalibrationService

        self.calibration = calibration_service = CalibrationService(
            self.acquisition, self.store, is_recording=self.recorder.is_busy
        )
        self.recorder.blocked_by = lambda: (
            "a calibration is in progress" if calibration_service.is_busy() else None
        )
        if interrupted:
            threading.Thread(
                target=self._analyse_interrupted, args=(interrupted,), name="analyse-interrupted", daemon=True
            ).start()
        self.started = True
        log.info("station started: hardware=%s camera=%s db=%s", s.hardware, s.camera, s.db_path)

    def _active_calibration(self) -> Calibration:
        from station.calibration_service import active_calibration

        assert self.store is not None
        return active_calibration(self.store, default_geometry=self.geometry)

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
        try:
            return make_camera(self.settings)
        except StationError as exc:
            # A missing camera must not stop force recording: say so and go on.
            self.camera_error = str(exc)
            log.error("camera unavailable: %s", exc)
            return None

    def stop(self) -> None:
        if self.recorder is not None:
            try:
                self.recorder.shutdown()
            except Exception:
                log.exception("recorder shutdown failed")
        if self.calibration is not None and hasattr(self.calibration, "close"):
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
            "camera": {"configured": self.settings.camera, "available": self.camera is not None, "error": self.camera_error},
        }
