"""The simulated calibration rig (station/testing/calibration_rig.py) as a fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hardware.sim import SimCells
from station.testing.calibration_rig import SimRig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[SimRig]:
    r = SimRig(tmp_path)
    yield r
    r.close()


def true_gains_n_per_count(cells: SimCells) -> np.ndarray:
    return 1.0 / np.asarray(cells.gains_counts_per_n)
