"""Time to stabilisation (TTS) after a single-leg landing (hop_and_stick).

Method (one of the vertical-force methods compared by Fransz et al. 2015): the
vertical ground reaction force, low-passed like the CoP, is considered stable from the
moment it enters the band body weight +- 5 % and stays there until the end of a
**fixed** 5 s window that starts at initial contact. TTS values depend strongly on
trial length (Fransz et al. report up to 100 % differences between 3 s and 20 s), so
the window never varies with the recording length; a recording that ends less than
5 s after landing gets no TTS.

Fransz DP, Huurnink A, de Boode VA, Kingma I, van Dieen JH (2015). Time to
stabilization in single leg drop jump landings: an examination of calculation
methods and assessment of differences in sample rate, filter settings and trial
length on outcome values. Gait Posture 41(1):63-69.
"""

from __future__ import annotations

import numpy as np

#: fixed analysis window after initial contact, s
TTS_WINDOW_S = 5.0
#: stability band, fraction of body weight
TTS_BAND_FRACTION = 0.05


def time_to_stabilization_s(
    fz_n: np.ndarray,
    *,
    fs_hz: float,
    body_weight_n: float,
    window_s: float = TTS_WINDOW_S,
    band_fraction: float = TTS_BAND_FRACTION,
) -> float | None:
    """Time from initial contact until the vertical force stays within BW +- 5 %.

    Parameters
    ----------
    fz_n : (N,) low-passed vertical force, N, uniformly sampled, starting at the
        initial contact of the landing.
    fs_hz : sample rate, Hz.
    body_weight_n : reference (stable) force, N.
    window_s : fixed window after contact (5 s).
    band_fraction : half-width of the stable band as a fraction of body weight.

    Returns
    -------
    float or None
        TTS in seconds, interpolated at the last exit of the band; 0 if the force
        never leaves it; None if the signal is shorter than the window.

    References
    ----------
    Fransz et al. 2015, Gait Posture 41:63 (threshold on the raw vertical GRF,
    fixed trial length).
    """
    f = np.asarray(fz_n, dtype=float)
    n = int(round(window_s * fs_hz)) + 1
    if len(f) < n or body_weight_n <= 0:
        return None
    f = f[:n]
    dev = np.abs(f - body_weight_n) - band_fraction * body_weight_n
    outside = np.flatnonzero(dev > 0)
    if len(outside) == 0:
        return 0.0
    k = int(outside[-1])
    if k >= n - 1:
        return float(window_s)
    # interpolate where the deviation returns to the band edge between k and k + 1
    frac = dev[k] / (dev[k] - dev[k + 1])
    return float((k + frac) / fs_hz)
