"""Postural sway measures of a CoP trajectory (Prieto et al. 1996).

Prieto TE, Myklebust JB, Hoffmann RG, Lovett EG, Myklebust BM (1996). Measures of
postural steadiness: differences between healthy young and elderly adults. IEEE Trans
Biomed Eng 43(9):956-966.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import welch

#: chi-square quantile, 2 degrees of freedom, p = 0.95 (95 % confidence ellipse).
CHI2_2DOF_95 = 5.991
#: band of the frequency measures (Hz), Prieto et al. 1996 (0.15-5 Hz).
FREQ_BAND_HZ = (0.15, 5.0)


@dataclass(frozen=True)
class Ellipse95:
    """The 95 % confidence ellipse of a CoP trajectory.

    Attributes
    ----------
    centre_mm : (x, y) mean CoP, mm.
    semi_axes_mm : (major, minor) semi-axes, mm: sqrt(5.991 * eigenvalue of the covariance).
    angle_rad : angle of the major axis from +x (ML) towards +y (AP), radians, in (-pi/2, pi/2].
    area_mm2 : pi * 5.991 * sqrt(det(cov)), mm^2 (equal to pi * major * minor).
    """

    centre_mm: tuple[float, float]
    semi_axes_mm: tuple[float, float]
    angle_rad: float
    area_mm2: float

    def outline_mm(self, n_points: int = 180) -> np.ndarray:
        """(n_points, 2) points on the ellipse, mm, counter-clockwise from the major axis.

        The polygon through them encloses ``n / (2 pi) * sin(2 pi / n)`` of the ellipse's
        area (0.99980 at 180 points).
        """
        phi = 2.0 * np.pi * np.arange(n_points) / n_points
        a, b = self.semi_axes_mm
        c, s = np.cos(self.angle_rad), np.sin(self.angle_rad)
        u, v = a * np.cos(phi), b * np.sin(phi)
        return np.column_stack((self.centre_mm[0] + c * u - s * v, self.centre_mm[1] + s * u + c * v))


def ellipse95(cop_mm: np.ndarray) -> Ellipse95:
    """The 95 % confidence ellipse of a CoP trajectory (Prieto et al. 1996).

    Parameters
    ----------
    cop_mm : (N, 2) CoP [ML (x), AP (y)], mm, N >= 3, no NaN.

    Returns
    -------
    Ellipse95
        Centre (mean), semi-axes and orientation from the eigen-decomposition of the
        sample covariance of (ML, AP) scaled by the chi-square quantile 5.991 (2 dof,
        p = 0.95), and the area pi * 5.991 * sqrt(det(cov)) that :func:`sway_measures`
        reports as ``ellipse95_area_mm2``.
    """
    c = np.asarray(cop_mm, dtype=float)
    centre = c.mean(axis=0)
    d = c - centre
    cov = np.cov(d[:, 0], d[:, 1])
    det = max(float(np.linalg.det(cov)), 0.0)
    eigval, eigvec = np.linalg.eigh(cov)  # ascending eigenvalues
    minor, major = (float(np.sqrt(CHI2_2DOF_95 * max(float(v), 0.0))) for v in eigval)
    angle = float(np.arctan2(eigvec[1, 1], eigvec[0, 1]))
    # an axis has no direction: fold the angle into (-pi/2, pi/2]
    if angle <= -np.pi / 2:
        angle += np.pi
    elif angle > np.pi / 2:
        angle -= np.pi
    return Ellipse95(
        centre_mm=(float(centre[0]), float(centre[1])),
        semi_axes_mm=(major, minor),
        angle_rad=angle,
        area_mm2=float(np.pi * CHI2_2DOF_95 * np.sqrt(det)),
    )


def sway_measures(cop_mm: np.ndarray, *, fs_hz: float) -> dict[str, float]:
    """Time-domain sway measures of a (filtered) CoP trajectory.

    Parameters
    ----------
    cop_mm : (N, 2) CoP [ML (x), AP (y)], mm, uniformly sampled, N >= 3, no NaN.
    fs_hz : sample rate, Hz.

    Returns
    -------
    dict
        ``ml_rms_mm``, ``ap_rms_mm``: RMS of the mean-removed CoP per axis.
        ``ml_range_mm``, ``ap_range_mm``: max - min per axis.
        ``path_length_mm``: sum of the Euclidean step lengths (total excursion).
        ``mean_velocity_mm_s``: path length / duration, duration = (N - 1) / fs.
        ``ellipse95_area_mm2``: pi * 5.991 * sqrt(det(cov(ML, AP))), the area of the
        95 % confidence ellipse (chi-square, 2 dof; Prieto's F-based form tends to it
        for large N), from :func:`ellipse95`.

    References
    ----------
    Prieto et al. 1996, IEEE Trans Biomed Eng 43:956, eqs. for RDIST/RMS, range,
    total excursion, mean velocity and 95 % confidence ellipse area.
    """
    c = np.asarray(cop_mm, dtype=float)
    d = c - c.mean(axis=0)
    rms = np.sqrt(np.mean(d**2, axis=0))
    rng = c.max(axis=0) - c.min(axis=0)
    steps = np.hypot(np.diff(c[:, 0]), np.diff(c[:, 1]))
    path = float(steps.sum())
    duration = (len(c) - 1) / fs_hz
    return {
        "ml_rms_mm": float(rms[0]),
        "ap_rms_mm": float(rms[1]),
        "ml_range_mm": float(rng[0]),
        "ap_range_mm": float(rng[1]),
        "path_length_mm": path,
        "mean_velocity_mm_s": path / duration,
        "ellipse95_area_mm2": ellipse95(c).area_mm2,
    }


def frequency_measures(cop_mm: np.ndarray, *, fs_hz: float) -> dict[str, float | None]:
    """Median and 95 % power frequency of the ML and AP CoP (Welch PSD, 0.15-5 Hz).

    Parameters
    ----------
    cop_mm : (N, 2) CoP, mm, uniformly sampled.
    fs_hz : sample rate, Hz.

    Returns
    -------
    dict
        ``ml_median_freq_hz``, ``ap_median_freq_hz``, ``ml_f95_hz``, ``ap_f95_hz``:
        frequencies below which 50 % / 95 % of the power in 0.15-5 Hz lies. None when
        the window is shorter than 10 s (too coarse a spectrum below 0.5 Hz).

    References
    ----------
    Prieto et al. 1996 (frequency measures: 50 % and 95 % power frequency);
    Welch 1967, IEEE Trans Audio Electroacoust 15:70 (PSD estimate, Hann windows of
    10 s with 50 % overlap).
    """
    c = np.asarray(cop_mm, dtype=float)
    out: dict[str, float | None] = {
        "ml_median_freq_hz": None,
        "ap_median_freq_hz": None,
        "ml_f95_hz": None,
        "ap_f95_hz": None,
    }
    if len(c) / fs_hz < 10.0:
        return out
    nper = int(min(len(c), round(10.0 * fs_hz)))
    freqs, pxx = welch(c - c.mean(axis=0), fs=fs_hz, nperseg=nper, axis=0, detrend="constant")
    band = (freqs >= FREQ_BAND_HZ[0]) & (freqs <= min(FREQ_BAND_HZ[1], fs_hz / 2))
    f = freqs[band]
    if not f.size:  # sampled too slowly to resolve any of the band (fs below 0.3 Hz)
        return out
    for k, axis in enumerate(("ml", "ap")):
        p = pxx[band, k]
        cum = np.cumsum(p)
        if cum[-1] <= 0:
            continue
        cum = cum / cum[-1]
        out[f"{axis}_median_freq_hz"] = float(f[np.searchsorted(cum, 0.5)])
        out[f"{axis}_f95_hz"] = float(f[np.searchsorted(cum, 0.95)])
    return out
