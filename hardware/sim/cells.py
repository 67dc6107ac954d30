"""Simulated load cells: statics from (Fz, CoP) to corner loads, and an HX711-like count model.

Two steps, both linear until quantisation:

1. **Statics.** A rigid plate on four equally stiff supports tilts as a plane, so the
   support loads lie in the row space of the equilibrium equations
   ``sum F_i = Fz, sum F_i x_i = Fz * cop_x, sum F_i y_i = Fz * cop_y``: the least-norm
   solution. It is exact for any cell layout (not only rectangles), the loads sum to Fz and
   their moment gives back the CoP. Near a corner the opposite cell goes into tension
   (negative load), as on a real bolted plate.
2. **Counts.** ``counts = offset + drift(t) + gain * load + noise``, rounded to an integer
   and clipped to the 24-bit signed range of the HX711 (``0x7FFFFF`` / ``-0x800000`` are its
   out-of-range codes), with rare single-read spikes (a flipped high bit, what a bit-bang
   timing glitch produces).

Noise: the HX711 datasheet gives 90 nV rms input noise at 80 SPS and gain 128, about 45
counts; cheap breakout boards with unshielded cables measure several times that, so the
default is 200 counts rms (0.1 N per cell at the nominal 2000 counts/N).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from hardware.base import HX711_CODE_MAX, HX711_CODE_MIN
from station.core.calibration import NOMINAL_COUNTS_PER_N, Calibration
from station.core.geometry import CHANNELS, Geometry

N_CH = len(CHANNELS)
#: HX711 out-of-range codes (two's complement 24 bit).
#: All ones on the wire (DOUT stuck high), read as a signed 24-bit value.
CODE_ALL_ONES = -1


def plate_split_matrix(positions_mm: np.ndarray) -> np.ndarray:
    """(3, k) matrix P so that cell loads = [Fz, Fz*cop_x, Fz*cop_y] @ P (least-norm statics).

    Parameters
    ----------
    positions_mm : (k, 2) cell positions of one plate, lab frame.

    Notes
    -----
    Equilibrium ``A w = b`` with ``A = [1; x; y]`` (3, k); the least-norm solution is
    ``w = A^T (A A^T)^-1 b`` (rigid plate on equal springs: the deflection is planar).
    """
    pos = np.asarray(positions_mm, dtype=float)
    a = np.vstack([np.ones(len(pos)), pos[:, 0], pos[:, 1]])  # (3, k)
    return np.asarray(np.linalg.solve(a @ a.T, a))  # (3, k): (A A^T)^-1 A, used as b @ P


def split_loads(
    fz_n: np.ndarray, moment_x_nmm: np.ndarray, moment_y_nmm: np.ndarray, geometry: Geometry
) -> np.ndarray:
    """Per-cell loads (N, 8) in CHANNELS order from per-plate force and moments.

    Parameters
    ----------
    fz_n : (N, 2) vertical force per plate [left, right].
    moment_x_nmm, moment_y_nmm : (N, 2) ``Fz * cop_x`` and ``Fz * cop_y`` per plate (N mm),
        lab frame. Working with moments keeps everything linear, so an unloaded plate
        (Fz = 0, CoP undefined) needs no special case.
    """
    out = np.empty((np.shape(fz_n)[0], N_CH))
    for p, name in enumerate(("left", "right")):
        mat = plate_split_matrix(geometry.plates[name].cell_positions_mm())
        b = np.stack([fz_n[:, p], moment_x_nmm[:, p], moment_y_nmm[:, p]], axis=1)
        out[:, 4 * p : 4 * p + 4] = b @ mat
    return out


@dataclass(frozen=True)
class SimCells:
    """The hidden truth of the eight simulated cells and their HX711 amplifiers.

    ``gains_counts_per_n`` may be negative (a cell wired backwards) or 0 (a dead cell)
    for calibration tests; :meth:`random` draws a realistic set.
    """

    offsets_counts: np.ndarray = field(default_factory=lambda: np.zeros(N_CH))
    gains_counts_per_n: np.ndarray = field(default_factory=lambda: np.full(N_CH, NOMINAL_COUNTS_PER_N))
    noise_sd_counts: float = 200.0
    #: Linear offset drift per cell (counts per hour).
    drift_counts_per_h: np.ndarray = field(default_factory=lambda: np.zeros(N_CH))
    #: Temperature-like random walk: a shared walk (sd per sqrt(hour), counts) times a
    #: per-cell sensitivity in [0.5, 1.5], so cells drift together but not equally.
    drift_walk_counts_per_sqrt_h: float = 0.0
    drift_walk_weights: np.ndarray = field(default_factory=lambda: np.ones(N_CH))
    #: Probability per read of a single-read spike (one flipped high bit).
    spike_prob: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("offsets_counts", "gains_counts_per_n", "drift_counts_per_h", "drift_walk_weights"):
            v = np.asarray(getattr(self, name), dtype=float).reshape(-1)
            if v.shape != (N_CH,):
                raise ValueError(f"SimCells.{name} needs {N_CH} values, got {v.size}")
            object.__setattr__(self, name, v)

    @classmethod
    def random(
        cls,
        seed: int | np.random.Generator,
        *,
        gain_spread: float = 0.04,
        noise_sd_counts: float = 200.0,
        drift_counts_per_h: float = 4000.0,
        drift_walk_counts_per_sqrt_h: float = 3000.0,
        spike_prob: float = 1e-4,
    ) -> SimCells:
        """A realistic set: gains within +-2 sd of ``gain_spread`` around the nominal
        2000 counts/N, offsets of a few 1e5 counts (bridge imbalance + plate top weight),
        linear drift rates uniform in +-``drift_counts_per_h`` (4000 counts = 2 N per hour)."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        gains = NOMINAL_COUNTS_PER_N * (1.0 + np.clip(rng.normal(0, gain_spread, N_CH), -2 * gain_spread, 2 * gain_spread))
        offsets = np.round(rng.normal(0.0, 1.5e5, N_CH) + 12.0 * gains)  # 12 N of plate top per cell
        return cls(
            offsets_counts=offsets,
            gains_counts_per_n=gains,
            noise_sd_counts=noise_sd_counts,
            drift_counts_per_h=rng.uniform(-1.0, 1.0, N_CH) * drift_counts_per_h,
            drift_walk_counts_per_sqrt_h=drift_walk_counts_per_sqrt_h,
            drift_walk_weights=rng.uniform(0.5, 1.5, N_CH),
            spike_prob=spike_prob,
        )

    @classmethod
    def ideal(cls) -> SimCells:
        """Zero offsets, nominal gains, no noise, drift or spikes."""
        return cls(noise_sd_counts=0.0, spike_prob=0.0)

    def quiet(self) -> SimCells:
        """The same cells without noise, drift and spikes (``noise=False``)."""
        return replace(
            self,
            noise_sd_counts=0.0,
            drift_counts_per_h=np.zeros(N_CH),
            drift_walk_counts_per_sqrt_h=0.0,
            spike_prob=0.0,
        )

    def true_calibration(self, geometry: Geometry | None = None) -> Calibration:
        """The calibration a perfect calibration would find (offsets at t = 0)."""
        gains = np.asarray(self.gains_counts_per_n, dtype=float)
        with np.errstate(divide="ignore"):
            n_per_count = np.where(gains != 0, 1.0 / np.where(gains != 0, gains, 1.0), 0.0)
        return Calibration(
            offsets_counts=tuple(float(v) for v in self.offsets_counts),
            gains_n_per_count=tuple(float(v) for v in n_per_count),
            geometry=geometry or Geometry(),
            is_default=False,
        )

    def drift_counts(self, t_s: np.ndarray, rng: np.random.Generator, *, walk0: float = 0.0) -> tuple[np.ndarray, float]:
        """(N, 8) offset drift at times ``t_s`` (seconds since the cells were powered) and
        the walk's last value (to continue it in the next chunk).

        The walk is sampled per frame (variance grows linearly with time, a Wiener process).
        """
        t = np.asarray(t_s, dtype=float)
        linear = np.outer(t / 3600.0, self.drift_counts_per_h)
        if self.drift_walk_counts_per_sqrt_h <= 0 or t.size == 0:
            return linear, walk0
        dt_h = np.diff(t, prepend=t[0] - (t[1] - t[0] if t.size > 1 else 0.0)) / 3600.0
        steps = rng.standard_normal(t.size) * self.drift_walk_counts_per_sqrt_h * np.sqrt(np.maximum(dt_h, 0.0))
        walk = walk0 + np.cumsum(steps)
        return linear + np.outer(walk, self.drift_walk_weights), float(walk[-1])

    def to_counts(
        self, loads_n: np.ndarray, drift_counts: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Chip codes for true loads.

        Returns
        -------
        counts : (N, 8) int64, what the chips deliver (spikes and out-of-range codes included).
        saturated : (N, 8) bool, out-of-range codes.
        spikes : (N, 8) bool, reads corrupted by a flipped bit.
        """
        loads = np.asarray(loads_n, dtype=float)
        ideal = self.offsets_counts + drift_counts + loads * self.gains_counts_per_n
        if self.noise_sd_counts > 0:
            ideal = ideal + rng.standard_normal(loads.shape) * self.noise_sd_counts
        codes = np.rint(ideal)
        saturated = (codes >= HX711_CODE_MAX) | (codes <= HX711_CODE_MIN)
        counts = np.clip(codes, HX711_CODE_MIN, HX711_CODE_MAX).astype(np.int64)
        spikes = np.zeros(loads.shape, dtype=bool)
        if self.spike_prob > 0:
            n_spikes = rng.binomial(loads.size, self.spike_prob)
            if n_spikes:
                flat = rng.choice(loads.size, size=n_spikes, replace=False)
                bits = rng.integers(20, 23, size=n_spikes)  # bit 20-22: +-1e6..4e6 counts
                idx = np.unravel_index(flat, loads.shape)
                counts[idx] = _to_signed24((counts[idx] & 0xFFFFFF) ^ (1 << bits))
                spikes[idx] = ~saturated[idx]
        return counts, saturated, spikes


def _to_signed24(u: np.ndarray) -> np.ndarray:
    u = np.asarray(u, dtype=np.int64) & 0xFFFFFF
    return np.where(u >= 0x800000, u - 0x1000000, u)
