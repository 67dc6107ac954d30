"""The simulated athlete on two simulated force plates (see docs/simulator.md).

``simulate_trial`` gives one finite trial with its ground truth; ``SimLoadCellSource`` is
an endless :class:`hardware.base.LoadCellSource` for the service, calibration and tests;
:class:`hardware.sim.director.SimDirector` plays on it what a recording asks for.
"""

from hardware.sim.athlete import SIM_PROTOCOLS, Athlete
from hardware.sim.cells import SimCells, split_loads
from hardware.sim.source import SCENARIOS, SimLoadCellSource
from hardware.sim.trial import FAULT_KINDS, GroundTruth, SimTrial, crossings, simulate_trial

__all__ = [
    "FAULT_KINDS",
    "SCENARIOS",
    "SIM_PROTOCOLS",
    "Athlete",
    "GroundTruth",
    "SimCells",
    "SimLoadCellSource",
    "SimTrial",
    "crossings",
    "simulate_trial",
    "split_loads",
]
