"""Recorder fixtures: a real Acquisition on the simulator and a real SQLite file, wired
as :class:`station.runtime.Station` wires them (the simulated director as the recorder's
cue, video capture when a camera is given)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hardware.base import Camera
from hardware.sim import SimLoadCellSource
from hardware.sim.director import SimDirector
from station.acquisition import Acquisition
from station.recording import Recorder
from station.storage import Store
from station.video_capture import VideoCapture

BODY_MASS_KG = 70.0


@dataclass
class Rig:
    source: SimLoadCellSource
    acquisition: Acquisition
    store: Store
    recorder: Recorder
    director: SimDirector | None
    athlete_id: int
    calibration_id: int
    states: list[str]

    def set_scenario(self, scenario: str, **kwargs: Any) -> None:
        """Switch the simulator between two frames, on the acquisition thread (the
        simulator is not thread-safe)."""
        done = threading.Event()

        def hook(_sample: Any) -> None:
            if not done.is_set():
                self.source.set_scenario(scenario, **kwargs)
                done.set()

        self.acquisition.add_frame_hook(hook)
        assert done.wait(5), "no frames from the simulator"

    def record(self, protocol: str, leg: str | None = None, timeout: float = 60.0, *,
               athlete_id: int | None = None, **options: Any) -> dict[str, Any]:
        """Start, wait until the recorder rests, return the stored trial."""
        self.recorder.start(athlete_id=athlete_id or self.athlete_id, protocol=protocol, leg=leg, options=options)
        status = self.recorder.wait(timeout)
        assert status["state"] not in ("armed", "recording", "analysing"), f"still busy: {status}"
        assert status["trial_id"] is not None, status
        return self.store.get_trial(status["trial_id"])


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """``make_rig(paced=False, seed=3, buffer_s=600, calibrated=True, camera=None,
    drive_sim=True, **recorder_kwargs)`` -> Rig (``drive_sim=False``: no director, the
    test sets the scenario itself).

    The acquisition uses the simulator's true calibration (stored as calibration row),
    so forces are physics and tests compare them with the simulator's ground truth.
    """
    rigs: list[Rig] = []

    def make(*, paced: bool = False, seed: int = 3, buffer_s: float = 600.0, rate_hz: float = 80.0,
             drive_sim: bool = True, calibrated: bool = True, camera: Camera | None = None,
             **kwargs: Any) -> Rig:
        source = SimLoadCellSource(seed=seed, rate_hz=rate_hz, paced=paced, body_mass_kg=BODY_MASS_KG)
        store = Store(tmp_path / f"station-{len(rigs)}.sqlite3")
        true_cal = source.cells.true_calibration(source.geometry)
        cal_id = store.save_calibration(kind="calibration", data=true_cal.to_dict(), created_by="test", activate=True)
        from dataclasses import replace

        cal = replace(true_cal, id=cal_id) if calibrated else None  # None: nominal gains, zero 0
        acquisition = Acquisition(source, calibration=cal, buffer_s=buffer_s)
        acquisition.start()
        director = SimDirector(source, camera=camera) if drive_sim else None
        video = None
        if camera is not None:
            video = VideoCapture(camera, store, videos_dir=tmp_path / "videos",
                                 force_clock=lambda: None if (s := acquisition.latest()) is None else s.t_ns)
        recorder = Recorder(acquisition=acquisition, store=store, video=video,
                            cue=director.act if director is not None else None, **kwargs)
        states: list[str] = []
        recorder.on_state_change(lambda s: states.append(s["state"]) if not states or states[-1] != s["state"] else None)
        athlete = store.create_athlete(name="Sim Athlete", body_mass_kg=BODY_MASS_KG)
        rig = Rig(source, acquisition, store, recorder, director, athlete["id"], cal_id, states)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.recorder.shutdown()
        rig.acquisition.stop()
        rig.store.close()
