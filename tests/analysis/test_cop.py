import numpy as np

from station.analysis.cop import combined_cop, combined_cop_from_cells, plate_force_and_cop
from station.core.geometry import Geometry
from tests.analysis.helpers import loads_from_plates


def test_plate_cop_from_hand_computed_corner_loads():
    g = Geometry()
    # left plate centre (-150, 0), cells at +-120, +-180: all load on fr -> CoP at that cell
    loads = np.zeros((2, 8))
    loads[0, 1] = 500.0
    loads[1, :4] = [100.0, 100.0, 100.0, 100.0]  # equal loads -> plate centre
    fz, cop = plate_force_and_cop(loads, geometry=g)
    assert np.allclose(fz[:, 0], [500.0, 400.0])
    assert np.allclose(cop[0, 0], [-30.0, 180.0])
    assert np.allclose(cop[1, 0], [-150.0, 0.0])
    assert np.isnan(cop[:, 1]).all()  # right plate unloaded: CoP undefined


def test_combined_cop_is_the_force_weighted_mean():
    n = 5
    fz = np.tile([300.0, 100.0], (n, 1))
    cop = np.zeros((n, 2, 2))
    cop[:, 0] = [-150.0, 10.0]
    cop[:, 1] = [150.0, -30.0]
    c = combined_cop(fz, cop)
    assert np.allclose(c, [(-150 * 300 + 150 * 100) / 400, (10 * 300 - 30 * 100) / 400])
    loads = loads_from_plates(fz, cop)
    assert np.allclose(combined_cop_from_cells(loads, geometry=Geometry()), c)
    # the helper's split really reproduces force and CoP
    f2, c2 = plate_force_and_cop(loads, geometry=Geometry())
    assert np.allclose(f2, fz) and np.allclose(c2, cop)


def test_combined_cop_ignores_plate_without_cop_and_nan_below_20n():
    fz = np.array([[500.0, 0.0], [5.0, 5.0]])
    cop = np.full((2, 2, 2), np.nan)
    cop[0, 0] = [-140.0, 5.0]
    c = combined_cop(fz, cop)
    assert np.allclose(c[0], [-140.0, 5.0])
    assert np.isnan(c[1]).all()
