"""Postural sway as an inverted pendulum driven by filtered noise.

The body's centre of mass (CoM) wanders slowly: white noise through a 4th-order
Butterworth low-pass (cut-off ``com_fc_hz``). The CoP is what keeps that pendulum upright:
for an inverted pendulum of height ``h`` the horizontal dynamics are
``x_com'' = g / h * (x_com - x_cop)``, hence ``x_cop = x_com - (h / g) * x_com''``
(Winter 1995, Gait & Posture 3:193). The CoP therefore leads and exceeds the CoM, with
more high-frequency content, as measured CoP does.

The second difference is folded into the filter as one extra FIR section, so the
generator is a single stateful ``sosfilt``: it can run in chunks (an endless stream) with
no seam between them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from station.core.physics import G_M_S2


@lru_cache(maxsize=32)
def _sos(fs_hz: float, com_fc_hz: float, h_m: float) -> tuple[np.ndarray, float]:
    """Filter sections and the output sd for unit white noise (to normalise to sd 1)."""
    dt = 1.0 / fs_hz
    lp = signal.butter(4, com_fc_hz, fs=fs_hz, output="sos")
    k = (h_m / G_M_S2) / dt**2
    # x_cop[i] = x[i] - k * (x[i] - 2 x[i-1] + x[i-2])
    fir = np.array([[1.0 - k, 2.0 * k, -k, 1.0, 0.0, 0.0]])
    sos = np.vstack([lp, fir])
    # sd of the output for unit white noise = sqrt(sum h^2) of the impulse response
    n = int(60 * fs_hz / com_fc_hz)
    imp = np.zeros(n)
    imp[0] = 1.0
    h = signal.sosfilt(sos, imp)
    return sos, float(np.sqrt(np.sum(h**2)))


class SwayNoise:
    """Unit-variance CoP-like sway signals, generated in chunks without seams.

    Parameters
    ----------
    rng : numpy Generator (owned by the caller, so everything stays deterministic).
    n_signals : how many independent signals to produce side by side.
    fs_hz : grid rate of the output.
    com_fc_hz : CoM low-pass cut-off per signal (sequence or scalar); higher = faster sway.
    h_m : pendulum height (CoM above the ankles), about 0.55 x body height.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        n_signals: int,
        *,
        fs_hz: float = 1000.0,
        com_fc_hz: float | tuple[float, ...] = 0.5,
        h_m: float = 0.95,
    ) -> None:
        self.rng = rng
        fcs = com_fc_hz if isinstance(com_fc_hz, tuple) else (com_fc_hz,) * n_signals
        if len(fcs) != n_signals:
            raise ValueError("one cut-off per signal")
        self._filters = [_sos(float(fs_hz), float(fc), float(h_m)) for fc in fcs]
        self._zi = [np.zeros((sos.shape[0], 2)) for sos, _ in self._filters]
        self.fs_hz = fs_hz
        # Burn in so the first samples already have the stationary distribution.
        self.next(int(8 * fs_hz / min(fcs)))

    def next(self, n: int) -> np.ndarray:
        """(n, n_signals) next samples, each of unit standard deviation (in expectation)."""
        white = self.rng.standard_normal((len(self._filters), n))
        out = np.empty((n, len(self._filters)))
        for i, ((sos, sd), zi) in enumerate(zip(self._filters, self._zi, strict=True)):
            y, self._zi[i] = signal.sosfilt(sos, white[i], zi=zi)
            out[:, i] = y / sd
        return out
