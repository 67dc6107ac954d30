"""A simulated athlete with a weak side (SimDirector.weak_side): on that leg the recorded
single-leg sway is larger by about the factor asked for, on the other leg nothing changes;
the plain recording path (real Station, recorder, SQLite) measures it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware.sim import SimLoadCellSource
from hardware.sim.athlete import WEAK_SIDE_SWAY_FACTOR
from hardware.sim.director import SimDirector
from station.core.config import Settings
from station.core.errors import InputError
from station.runtime import Station
from station.storage import Store


def _station(tmp_path: Path, weak_side: str | None) -> Station:
    settings = Settings(data_dir=tmp_path / "data", hardware="sim", camera="none", sim_seed=3)
    source = SimLoadCellSource(seed=3, rate_hz=80.0, paced=False)  # unpaced: faster than real time
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.db_path)
    store.save_calibration(kind="calibration", data=source.cells.true_calibration(source.geometry).to_dict(),
                           created_by="test", activate=True)
    store.close()
    st = Station(settings, source=source, camera=False)
    st.start()
    assert st.director is not None  # built by start()
    st.director.weak_side = weak_side
    return st


@pytest.fixture
def stations(tmp_path: Path) -> Iterator[dict[str, Station]]:
    # the same seeded athlete twice: once with a weak left side, once without
    out = {"weak": _station(tmp_path / "weak", "left"), "even": _station(tmp_path / "even", None)}
    try:
        yield out
    finally:
        for st in out.values():
            st.stop()


def _ml_rms(st: Station, leg: str) -> tuple[float, Any]:
    assert st.store is not None and st.recorder is not None and st.director is not None
    athlete = st.store.create_athlete(name="Sim", body_mass_kg=70.0)
    st.recorder.start(athlete_id=athlete["id"], protocol="single_leg_stance", leg=leg, options={"duration_s": 12.0})
    status = st.recorder.wait(180)
    assert status["state"] == "saved", status
    metrics = st.store.get_trial(status["trial_id"])["metrics"]
    return float(metrics["sway"]["ml_rms_mm"]), st.director.last_action


def test_the_weak_leg_sways_more_and_the_other_leg_is_unchanged(stations: dict[str, Station]) -> None:
    weak_left, action = _ml_rms(stations["weak"], "left")
    assert action is not None and action.endswith("weak side)")
    even_left, action = _ml_rms(stations["even"], "left")
    assert action is not None and "weak" not in action
    ratio = weak_left / even_left
    print(f"ML RMS left weak {weak_left:.2f} mm, even {even_left:.2f} mm, ratio {ratio:.3f}")
    # the same seed and draws: the ratio is the factor asked for, up to the window and filter
    assert ratio == pytest.approx(WEAK_SIDE_SWAY_FACTOR, rel=0.15), (weak_left, even_left)
    weak_right, action = _ml_rms(stations["weak"], "right")
    assert action is not None and "weak" not in action
    even_right, _ = _ml_rms(stations["even"], "right")
    assert weak_right == pytest.approx(even_right, rel=0.15), (weak_right, even_right)


def test_weak_side_is_checked(tmp_path: Path) -> None:
    source = SimLoadCellSource(seed=1, rate_hz=80.0, paced=False)
    with pytest.raises(InputError, match="weak_side"):
        SimDirector(source, weak_side="middle")
