"""Low-pass filtering and resampling of force-plate signals.

Why a separate module: every sway and stabilisation figure depends on the filter, so
it is chosen in one place and reported with every result (``filter`` key).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from station.core.errors import InputError

#: Cut-off of the sway low-pass (Hz) unless the sample rate forces a lower one.
DEFAULT_CUTOFF_HZ = 10.0
#: Butterworth design order (applied forward and backward, so zero phase lag).
FILTER_ORDER = 4
#: Relative deviation of a sample interval from the median above which the
#: timestamps count as irregular and the signal is resampled before filtering.
IRREGULAR_TOLERANCE = 0.05
#: The uniform grid may hold at most this many times the input's samples (plus
#: :data:`MIN_RESAMPLED_LENGTH`). Gaps in a real recording (dropped frames, a paused
#: reader) stay far below it; a grid longer than this would be mostly invented samples,
#: and one bad timestamp (1e9 s) would otherwise ask for 1e11 of them: bounded work for
#: any input.
MAX_RESAMPLE_FACTOR = 10
MIN_RESAMPLED_LENGTH = 10_000


class TimestampGapError(InputError):
    """The timestamps span far more time than their count allows (a bad timestamp).

    ``index`` is the sample after the largest gap (0-based), so a reader that knows
    where its samples came from can name the line.
    """

    def __init__(self, message: str, *, index: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.index = index


def sample_rate_hz(t_s: np.ndarray) -> float:
    """Sample rate from timestamps: 1 / median interval.

    Parameters
    ----------
    t_s : (N,) strictly increasing timestamps, seconds.

    Returns
    -------
    float
        The median-based rate, robust to a few dropped frames.
    """
    dt = np.diff(np.asarray(t_s, dtype=float))
    return float(1.0 / np.median(dt))


def lowpass_cutoff_hz(fs_hz: float, *, max_cutoff_hz: float = DEFAULT_CUTOFF_HZ) -> float:
    """Cut-off used for the CoP: min(10 Hz, fs / 4).

    Parameters
    ----------
    fs_hz : sample rate, Hz.
    max_cutoff_hz : upper bound, 10 Hz by default (common in posturography,
        Prieto et al. 1996 low-pass the CoP at 5 Hz; 10 Hz is common in sport).

    Returns
    -------
    float
        The cut-off in Hz; fs/4 keeps it well below Nyquist at 10-40 Hz rates.
    """
    return float(min(max_cutoff_hz, fs_hz / 4.0))


def is_regular(t_s: np.ndarray, *, tolerance: float = IRREGULAR_TOLERANCE) -> bool:
    """True when every sample interval is within ``tolerance`` of the median."""
    dt = np.diff(np.asarray(t_s, dtype=float))
    if dt.size == 0:
        return True
    med = np.median(dt)
    return bool(np.all(np.abs(dt - med) <= tolerance * med))


def resample_uniform(
    t_s: np.ndarray, x: np.ndarray, *, fs_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate ``x`` onto a uniform time grid.

    Parameters
    ----------
    t_s : (N,) increasing timestamps, seconds (irregular allowed).
    x : (N, ...) signal sampled at ``t_s``. NaN propagate to neighbouring grid points.
    fs_hz : rate of the new grid, Hz; the grid starts at ``t_s[0]``.

    Returns
    -------
    t_uniform_s : (M,) uniform grid within [t_s[0], t_s[-1]].
    x_uniform : (M, ...) interpolated signal.

    Raises
    ------
    TimestampGapError
        The grid would exceed :func:`resampled_length`'s cap (a bad timestamp).

    Notes
    -----
    Linear interpolation is exact for the piecewise-linear reconstruction and adds no
    ringing; the low-pass afterwards removes the small attenuation it causes.
    """
    t = np.asarray(t_s, dtype=float)
    xs = np.asarray(x, dtype=float)
    n = resampled_length(t, fs_hz=fs_hz)
    grid = t[0] + np.arange(n) / fs_hz
    flat = xs.reshape(len(t), -1)
    out = np.empty((n, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(grid, t, flat[:, j])
    return grid, out.reshape((n, *xs.shape[1:]))


def resampled_length(t_s: np.ndarray, *, fs_hz: float) -> int:
    """Samples of the uniform grid over ``t_s`` at ``fs_hz``, checked against the cap.

    Parameters
    ----------
    t_s : (N,) increasing timestamps, seconds.
    fs_hz : rate of the grid, Hz.

    Returns
    -------
    int
        M = floor((t_s[-1] - t_s[0]) * fs_hz) + 1.

    Raises
    ------
    TimestampGapError
        M exceeds N * :data:`MAX_RESAMPLE_FACTOR` + :data:`MIN_RESAMPLED_LENGTH`; the
        message names the largest gap and ``index`` the sample after it. Checked
        before anything is allocated.
    """
    t = np.asarray(t_s, dtype=float)
    span_s = float(t[-1] - t[0])
    cap = len(t) * MAX_RESAMPLE_FACTOR + MIN_RESAMPLED_LENGTH
    if not np.isfinite(span_s) or not np.isfinite(fs_hz) or span_s * fs_hz >= cap:
        gaps_s = np.diff(t)
        k = int(np.argmax(gaps_s)) + 1 if len(gaps_s) else 0
        raise TimestampGapError(
            f"the timestamps span {span_s:.6g} s for {len(t)} samples at {fs_hz:.4g} Hz; the largest gap, "
            f"{float(gaps_s[k - 1]) if k else 0.0:.6g} s, ends at t = {float(t[k]):.6g} s",
            index=k,
            hint="A timestamp is wrong: check the time column around that sample.",
        )
    return int(np.floor(span_s * fs_hz + 1e-9)) + 1


def butter_lowpass(
    x: np.ndarray,
    *,
    fs_hz: float,
    cutoff_hz: float | None = None,
    order: int = FILTER_ORDER,
) -> np.ndarray:
    """Zero-lag Butterworth low-pass along axis 0, NaN-aware.

    Parameters
    ----------
    x : (N, ...) uniformly sampled signal; NaN marks gaps (e.g. unloaded plate).
    fs_hz : sample rate, Hz.
    cutoff_hz : -3 dB frequency of the designed filter; default min(10 Hz, fs/4).
    order : design order (4). ``sosfiltfilt`` runs it forward and backward, which
        cancels the phase lag (Winter 2009, *Biomechanics and Motor Control of Human
        Movement*, ch. 3) and squares the magnitude response.

    Returns
    -------
    ndarray
        Filtered copy of ``x``. Each run of finite samples is filtered on its own;
        runs too short for the filter's padding (3 * (order + 1) * 2 samples) are
        left unfiltered rather than distorted.
    """
    xs = np.asarray(x, dtype=float)
    if cutoff_hz is None:
        cutoff_hz = lowpass_cutoff_hz(fs_hz)
    sos = butter(order, cutoff_hz, btype="low", fs=fs_hz, output="sos")
    flat = xs.reshape(len(xs), -1)
    out = flat.copy()
    for j in range(flat.shape[1]):
        col = flat[:, j]
        finite = np.isfinite(col)
        if finite.all():
            if len(col) > 6 * (order + 1):
                out[:, j] = sosfiltfilt(sos, col)
            continue
        for start, stop in finite_runs(finite):
            if stop - start > 6 * (order + 1):
                out[start:stop, j] = sosfiltfilt(sos, col[start:stop])
    return out.reshape(xs.shape)


def finite_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the runs where ``mask`` is True."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
