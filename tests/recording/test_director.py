"""The simulated athlete does what the coach asked for: a real :class:`Station` on the
simulator backend (its recorder cued by the :class:`SimDirector` it builds) and a real
SQLite file. Before the director, the recorder passed only protocol and leg: a squat
set asked for 8 repetitions got the simulator's default 5 and ran to the 40 s cap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hardware.sim import SimLoadCellSource
from hardware.sim.director import SimDirector
from station.core.config import Settings
from station.core.physics import G_M_S2
from station.core.protocols import PROTOCOLS
from station.runtime import Station
from station.storage import Store

SQUAT_CAP_S = PROTOCOLS["single_leg_squat"].default_duration_s


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    settings = Settings(data_dir=tmp_path / "data", hardware="sim", camera="none", sim_seed=5)
    # unpaced: simulated time runs as fast as the machine allows
    source = SimLoadCellSource(seed=5, rate_hz=80.0, paced=False)
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.db_path)  # the plates' true calibration, so forces are physics
    store.save_calibration(kind="calibration", data=source.cells.true_calibration(source.geometry).to_dict(),
                           created_by="test", activate=True)
    store.close()
    st = Station(settings, source=source, camera=False)
    st.start()
    try:
        yield st
    finally:
        st.stop()


def _record(st: Station, protocol: str, leg: str | None = None, *, body_mass_kg: float = 70.0,
            **options: Any) -> dict[str, Any]:
    assert st.store is not None and st.recorder is not None
    athlete = st.store.create_athlete(name=f"Sim {body_mass_kg:g} kg", body_mass_kg=body_mass_kg)
    st.recorder.start(athlete_id=athlete["id"], protocol=protocol, leg=leg, options=options)
    status = st.recorder.wait(180)
    assert status["state"] == "saved", status
    return st.store.get_trial(status["trial_id"])


def _duration_s(st: Station, trial: dict[str, Any]) -> float:
    assert st.store is not None
    t_ns = st.store.load_samples(trial["id"])[0]
    return float(t_ns[-1] - t_ns[0]) / 1e9


def test_the_station_builds_the_director_for_simulated_plates(station: Station) -> None:
    assert isinstance(station.director, SimDirector) and station.director.source is station.source


@pytest.mark.parametrize("reps", [8, 3])
def test_a_squat_set_records_the_repetitions_asked_for(station: Station, reps: int) -> None:
    trial = _record(station, "single_leg_squat", "left", reps=reps)
    assert trial["message"] == f"{reps} repetitions done"
    assert trial["metrics"]["recording"]["end_reason"] == f"{reps} repetitions done"  # not the cap
    assert len(trial["metrics"]["squat"]["reps"]) == reps
    assert sum(e["kind"] == "rep" for e in trial["events"]) == reps
    assert _duration_s(station, trial) < SQUAT_CAP_S - 1.0
    # the simulated athlete was asked for exactly that many
    truth = station.source.scenario_truth  # type: ignore[union-attr]
    assert truth is not None and len(truth.reps) == reps
    assert station.recorder is not None and station.recorder.status()["reps"] == reps


def test_a_duration_limited_protocol_plays_and_records_the_duration_asked_for(station: Station) -> None:
    trial = _record(station, "bilateral_stance", duration_s=7.0)
    assert trial["message"] == "the 7 s of the protocol are over"
    assert _duration_s(station, trial) == pytest.approx(7.0, abs=2 / 80)
    truth = station.source.scenario_truth  # type: ignore[union-attr]
    assert truth is not None and truth.t_s[-1] == pytest.approx(7.0, abs=0.01)  # the athlete played 7 s


def test_the_athletes_body_mass_reaches_the_simulated_athlete(station: Station) -> None:
    heavy = _record(station, "bilateral_stance", body_mass_kg=93.0, duration_s=4.0)
    assert heavy["metrics"]["measured_body_weight_n"] == pytest.approx(93.0 * G_M_S2, rel=0.02)
    light = _record(station, "bilateral_stance", body_mass_kg=48.0, duration_s=4.0)
    assert light["metrics"]["measured_body_weight_n"] == pytest.approx(48.0 * G_M_S2, rel=0.02)


def test_the_director_acts_once_per_step_and_says_when_it_begins() -> None:
    source = SimLoadCellSource(seed=1, rate_hz=80.0, paced=False)
    for _ in range(40):
        source.read_frame()
    director = SimDirector(source)
    status = {"phase": "waiting_still", "protocol": "bilateral_stance", "trial_id": None, "body_mass_kg": 81.0}
    begins = director.act(status)
    assert source.scenario == "quiet_stance" and source.athlete.body_mass_kg == 81.0
    assert begins is not None and begins >= source.read_frame().t_ns - 1e9 / 80
    assert director.act(status) is None  # the same step again: nothing more
    begins = director.act({**status, "phase": "recording", "protocol": "single_leg_squat", "trial_id": 1, "leg": "right",
                           "duration_s": 12.0, "reps_wanted": 2})
    assert source.scenario == "single_leg_squat" and begins is not None and begins == source.scenario_start_ns
    truth = source.scenario_truth
    assert truth is not None and len(truth.reps) == 2 and truth.t_s[-1] == pytest.approx(12.0)
    frames = [source.read_frame() for _ in range(80)]
    assert all(f.t_ns >= begins - 1e9 / 80 for f in frames)
    assert np.isfinite(source.truth_now()["fz_n"]).all()


def test_the_recorder_does_not_know_the_simulator() -> None:
    import station.recording as recording

    sources = "".join(p.read_text() for p in Path(recording.__file__).parent.glob("*.py"))
    for word in ("set_scenario", "from hardware.sim", "import hardware.sim", "hasattr(", "getattr("):
        assert word not in sources, word


def test_the_stored_samples_are_the_analysed_ones(tmp_path: Path) -> None:
    """A squat set ends at the last rep's end, found a little after the fact: frames written
    meanwhile must leave the database too, or an export (and a recompute) sees more than the
    stored analysis did. Paced at 80 Hz and written at every read, as on a station."""
    settings = Settings(data_dir=tmp_path / "data", hardware="sim", camera="none", sim_seed=5)
    st = Station(settings, source=SimLoadCellSource(seed=5, rate_hz=80.0, paced=True), camera=False)
    st.start()
    try:
        assert st.recorder is not None
        st.recorder.flush_interval_s = 0.0  # write every read, so frames past the end are stored
        trial = _record(st, "single_leg_squat", "right", reps=1)
        rec = trial["metrics"]["recording"]
        assert rec["end_reason"] == "1 repetitions done"
        assert trial["n_samples"] == rec["frames"]
        assert _duration_s(st, trial) == pytest.approx(rec["duration_s"], abs=1e-9)
    finally:
        st.stop()
