"""Exports of stored trials: the raw CSV, a JSON of metrics, and a C3D file.

``export_trial(store, trial_id, fmt, out)`` writes one trial; ``export_athlete`` writes
everything about one athlete (privacy requests). All readers of the raw counts go
through :func:`trial_loads`, which applies the trial's calibration and zero.
"""

from station.export.common import FORMATS, export_trial, trial_calibration, trial_loads

__all__ = ["FORMATS", "export_trial", "trial_calibration", "trial_loads"]
