"""Force-plate calibration: tare, multi-point fit, verification, drift, history."""

from calibration.model import NOMINAL_COUNTS_PER_N, Calibration

__all__ = ["Calibration", "NOMINAL_COUNTS_PER_N"]
