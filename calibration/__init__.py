"""Force-plate calibration procedures: tare, multi-point fit, verification, drift, camera views."""
