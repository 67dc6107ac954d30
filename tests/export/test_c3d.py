"""C3D export, read back with the independent ``c3d`` package and with ezc3d's
force-platform reader; forces and CoP checked against the simulator's ground truth."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import c3d
import ezc3d
import numpy as np
import pytest

from station.core.geometry import Geometry
from station.core.physics import CONTACT_THRESHOLD_N
from station.export import export_trial
from station.export.c3d import build_c3d, plate_corners_mm

from .conftest import StoredTrial, store_sim_trial


def _read_with_c3d_package(path: Path) -> tuple[dict[str, np.ndarray], c3d.Reader, float]:
    with open(path, "rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No point data found": there are no markers
        reader = c3d.Reader(fh)
        labels = [str(x).strip() for x in reader.analog_labels]
        rows = [analog[:, 0] for _, _, analog in reader.read_frames()]
        rate = float(reader.analog_rate)
        params = {
            "used": reader.get("FORCE_PLATFORM:USED").int16_value,
            "type": reader.get("FORCE_PLATFORM:TYPE").int16_array,
            "corners": reader.get("FORCE_PLATFORM:CORNERS").float_array,
            "origin": reader.get("FORCE_PLATFORM:ORIGIN").float_array,
            "channel": reader.get("FORCE_PLATFORM:CHANNEL").int16_array,
        }
    data = np.array(rows)
    return {lab: data[:, i] for i, lab in enumerate(labels)} | {"_params": params}, reader, rate  # type: ignore[return-value]


def test_c3d_forces_match_the_truth(stored: StoredTrial, tmp_path: Path) -> None:
    path = export_trial(stored.store, stored.trial["id"], "c3d", tmp_path / "trial.c3d")
    ch, _, rate = _read_with_c3d_package(path)
    p = ch["_params"]
    assert rate == 80.0 and p["used"] == 2 and list(p["type"]) == [2, 2]
    assert p["channel"].shape == (2, 6) and list(p["channel"][0]) == [1, 2, 3, 4, 5, 6]
    assert list(p["channel"][1]) == [7, 8, 9, 10, 11, 12]
    n = len(ch["Fz1"])
    sim = stored.sim
    assert n == int((sim.t_s[-1] - sim.t_s[0]) * 80) + 1
    grid = sim.t_s[0] + np.arange(n) / 80.0
    truth = sim.truth.at(grid)
    # vertical force per plate equals the true force within the cells' noise (a few N)
    for k, lab in enumerate(("Fz1", "Fz2")):
        assert np.abs(ch[lab] - truth["fz_n"][:, k]).max() < 15.0
        assert np.median(np.abs(ch[lab] - truth["fz_n"][:, k])) < 3.0
    assert np.all(ch["Fx1"] == 0) and np.all(ch["Fy2"] == 0) and np.all(ch["Mz1"] == 0)
    # CoP from the moments with the standard type-2 formulas (origin at the surface):
    # plate axes x = lab x, y = lab -y; origin at the plate centre
    geom = Geometry()
    for k, plate in enumerate(("left", "right")):
        fz, mx, my = ch[f"Fz{k + 1}"], ch[f"Mx{k + 1}"], ch[f"My{k + 1}"]
        centre = plate_corners_mm(geom, plate).mean(axis=1)
        on = (fz > 200) & (truth["fz_n"][:, k] > 200)
        assert on.sum() > 100
        cop_x_lab = centre[0] - my[on] / fz[on]
        cop_y_lab = centre[1] - mx[on] / fz[on]
        assert np.abs(cop_x_lab - truth["cop_mm"][on, k, 0]).max() < 3.0
        assert np.abs(cop_y_lab - truth["cop_mm"][on, k, 1]).max() < 3.0
        off = fz < CONTACT_THRESHOLD_N
        assert np.all(mx[off] == 0) and np.all(my[off] == 0)
    # the eight cell channels sum to the plate forces
    cells_left = sum(ch[f"F_left_{c}"] for c in ("fl", "fr", "bl", "br"))
    assert np.allclose(cells_left, ch["Fz1"], atol=0.05)


def test_ezc3d_force_platform_reader_finds_our_cop(stored: StoredTrial, tmp_path: Path) -> None:
    path = export_trial(stored.store, stored.trial["id"], "c3d", tmp_path / "trial.c3d")
    c = ezc3d.c3d(str(path), extract_forceplat_data=True)
    assert len(c["data"]["platform"]) == 2
    n = c["data"]["analogs"].shape[2]
    grid = stored.sim.t_s[0] + np.arange(n) / 80.0
    truth = stored.sim.truth.at(grid)
    for k, pf in enumerate(c["data"]["platform"]):
        # ezc3d reports the force on the plate in lab axes: straight down
        assert np.abs(-pf["force"][2] - truth["fz_n"][:, k]).max() < 15.0
        on = truth["fz_n"][:, k] > 200
        cop = pf["center_of_pressure"][:2, on].T
        assert np.abs(cop - truth["cop_mm"][on, k]).max() < 3.0
    assert c["parameters"]["STATION"]["PROTOCOL"]["value"] == ["single_leg_stance"]


def test_c3d_of_a_trial_too_short_is_refused(fresh_db, tmp_path: Path) -> None:
    from station.core.errors import InputError

    a = fresh_db.create_athlete(name="A")
    t = fresh_db.create_trial(athlete_id=a["id"], protocol="stepping", sample_rate_hz=80)
    fresh_db.append_samples(t["id"], np.array([0]), np.zeros((1, 8), int), np.zeros(1, int))
    with pytest.raises(InputError, match="fewer than two"):
        export_trial(fresh_db, t["id"], "c3d", tmp_path / "x.c3d")


def test_bilateral_trial_exports_both_plates_loaded(fresh_db, tmp_path: Path) -> None:
    s = store_sim_trial(fresh_db, "bilateral_stance", leg=None, duration_s=5.0)
    ch, _, _ = _read_with_c3d_package(export_trial(fresh_db, s.trial["id"], "c3d", tmp_path / "b.c3d"))
    total = ch["Fz1"] + ch["Fz2"]
    assert np.median(total) == pytest.approx(70.0 * 9.81, rel=0.02)


def test_c3d_is_written_without_ezc3d(stored: StoredTrial, tmp_path: Path, monkeypatch) -> None:
    # A Raspberry Pi has no ezc3d (no aarch64 wheel): the export must not need it.
    monkeypatch.setitem(sys.modules, "ezc3d", None)
    path = export_trial(stored.store, stored.trial["id"], "c3d", tmp_path / "trial.c3d")
    monkeypatch.delitem(sys.modules, "ezc3d")
    ch, _, rate = _read_with_c3d_package(path)
    assert rate == 80.0 and len(ch["Fz1"]) > 100


def test_station_group_and_channel_metadata_read_back_with_ezc3d(stored: StoredTrial, tmp_path: Path) -> None:
    path = export_trial(stored.store, stored.trial["id"], "c3d", tmp_path / "trial.c3d")
    params = ezc3d.c3d(str(path))["parameters"]
    station = params["STATION"]
    assert list(station["TRIAL_ID"]["value"]) == [stored.trial["id"]]
    assert station["LEG"]["value"] == [stored.trial["leg"]]
    assert station["STARTED_AT"]["value"] == [stored.trial["started_at"]]
    assert station["CALIBRATION_ID"]["value"] == [str(stored.trial["calibration_id"])]
    analog = params["ANALOG"]
    assert analog["LABELS"]["value"][:3] == ["Fx1", "Fy1", "Fz1"] and analog["LABELS"]["value"][-1] == "F_right_br"
    assert analog["UNITS"]["value"][:6] == ["N", "N", "N", "Nmm", "Nmm", "Nmm"]
    assert analog["DESCRIPTIONS"]["value"][12] == "vertical load of cell left_fl"
    corners = params["FORCE_PLATFORM"]["CORNERS"]["value"]
    assert corners.shape == (3, 4, 2)
    assert np.allclose(corners[:, :, 1], plate_corners_mm(Geometry(), "right"))


def test_empty_and_large_station_values_survive(tmp_path: Path) -> None:
    t = np.arange(10) / 80.0
    data = build_c3d(t, np.full((10, 8), 100.0), geometry=Geometry(), rate_hz=80.0,
                     station_info={"empty": None, "big": 70000, "small": 3})
    (tmp_path / "x.c3d").write_bytes(data)
    station = ezc3d.c3d(str(tmp_path / "x.c3d"))["parameters"]["STATION"]
    assert station["EMPTY"]["value"] in ([""], [])
    assert list(station["BIG"]["value"]) == [70000.0]  # beyond INT16: stored as a float, exact
    assert list(station["SMALL"]["value"]) == [3]
