"""View calibration: the camera's roll from a level bar or a plumb line."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera_roll import NO_ROLL, CameraRoll, measure_roll_deg, roll_from_points_deg
from hardware.sim.camera import SimCamera
from station.core.errors import CalibrationError, InputError


@pytest.mark.parametrize("roll", [-4.0, 0.0, 2.5])
def test_level_bar_gives_the_simulated_roll(roll: float) -> None:
    cam = SimCamera(None, scene="level_bar", roll_deg=roll, seed=1, paced=False)
    result = measure_roll_deg(cam.read_frame().image for _ in range(8))
    assert result.roll_deg == pytest.approx(roll, abs=0.15)
    assert result.n_frames == 8 and result.spread_deg < 0.5


def test_vertical_reference_and_point_order() -> None:
    a = np.array([100.0, 50.0])
    r = np.deg2rad(3.0)
    level_end = a + 400 * np.array([np.cos(r), np.sin(r)])
    plumb_end = a + 400 * np.array([-np.sin(r), np.cos(r)])
    assert roll_from_points_deg(a, level_end) == pytest.approx(3.0)
    assert roll_from_points_deg(level_end, a) == pytest.approx(3.0)
    assert roll_from_points_deg(a, plumb_end, reference="vertical") == pytest.approx(3.0)
    assert roll_from_points_deg(plumb_end, a, reference="vertical") == pytest.approx(3.0)


def test_moving_bar_is_refused() -> None:
    frames = [SimCamera(None, scene="level_bar", roll_deg=r, seed=1, paced=False).read_frame().image for r in (0, 0, 1.5, 0, 0)]
    with pytest.raises(CalibrationError, match="moved"):
        measure_roll_deg(frames)


def test_no_markers_is_refused_with_advice() -> None:
    blank = [np.full((480, 640, 3), 128, np.uint8)] * 6
    with pytest.raises(CalibrationError) as exc:
        measure_roll_deg(blank)
    assert "0 frames" in str(exc.value) and exc.value.hint


def test_steep_roll_asks_to_remount() -> None:
    cam = SimCamera(None, scene="level_bar", roll_deg=20.0, seed=1, paced=False)
    with pytest.raises(CalibrationError, match="straighter"):
        measure_roll_deg(cam.read_frame().image for _ in range(6))


def test_round_trip_and_malformed() -> None:
    cam = SimCamera(None, scene="level_bar", roll_deg=1.0, seed=2, paced=False)
    roll = measure_roll_deg(cam.read_frame().image for _ in range(6))
    assert CameraRoll.from_dict(roll.to_dict()) == roll
    assert NO_ROLL.roll_deg == 0.0
    with pytest.raises(InputError, match="roll_deg"):
        CameraRoll.from_dict({"reference": "level"})
    with pytest.raises(InputError, match="reference"):
        CameraRoll.from_dict({"roll_deg": 1, "reference": "diagonal"})
