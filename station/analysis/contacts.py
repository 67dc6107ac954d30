"""Foot contacts from a plate's vertical force, and the gait phases they make.

A contact is the plate's vertical force at or above 20 N (force-plate vendors use
10-20 N; 20 N stays clear of load-cell noise). Its start and end are the 20 N
crossing times, interpolated between samples. A hysteresis band only decides
*whether* the force really crossed (noise chatter around 20 N is one crossing, not
many); the reported time is always the 20 N crossing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from station.core.physics import CONTACT_THRESHOLD_N

#: Half-width of the hysteresis band (N): a contact begins once the force reaches
#: 20 + 5 N and ends once it falls below 20 - 5 N. Several times the summed HX711
#: noise of a plate (about 1 N RMS) so chatter cannot split a contact.
HYSTERESIS_N = 5.0

CrossingMethod = Literal["edge", "linear", "naive"]


@dataclass(frozen=True)
class Contact:
    """One contact of one plate; ``None`` where it began before / ended after the recording."""

    foot: str
    on_s: float | None
    off_s: float | None

    def as_dict(self) -> dict[str, object]:
        return {"foot": self.foot, "on_s": self.on_s, "off_s": self.off_s}


def _hysteresis_state(fz: np.ndarray, lo: float, hi: float, start_above: bool) -> np.ndarray:
    """Boolean contact state with hysteresis, vectorised by forward-filling decisions."""
    code = np.full(len(fz), -1, dtype=np.int8)
    code[fz >= hi] = 1
    code[fz < lo] = 0
    if code[0] == -1:
        code[0] = 1 if start_above else 0
    idx = np.where(code >= 0, np.arange(len(fz)), 0)
    np.maximum.accumulate(idx, out=idx)
    return code[idx] == 1


def crossing_times(
    t_s: np.ndarray,
    fz_n: np.ndarray,
    index: np.ndarray,
    *,
    rising: bool,
    threshold_n: float = CONTACT_THRESHOLD_N,
    method: CrossingMethod = "edge",
) -> np.ndarray:
    """Times at which ``fz_n`` crosses ``threshold_n`` between samples ``index-1`` and ``index``.

    Parameters
    ----------
    t_s : (N,) timestamps, s.
    fz_n : (N,) vertical force, N.
    index : sample indices i (>= 1) such that the crossing lies in (t[i-1], t[i]].
    rising : True for loading (on) crossings, False for unloading (off).
    threshold_n : crossing level, 20 N.
    method : ``"linear"`` interpolates linearly between the two samples.
        ``"edge"`` (default) does the same, except where the sample outside the
        contact lies near zero load (< threshold / 2): there the force was flat
        before the foot landed and the linear chord reaches 20 N too early (a kink
        between the samples makes the curve convex). The rising edge is then
        extrapolated from the two samples inside the contact and the result is
        clipped to [linear estimate, first sample inside]. ``"naive"`` returns the
        first sample inside the contact (what a plain threshold test reports).

    Returns
    -------
    (len(index),) crossing times, s.

    References
    ----------
    Linear interpolation of threshold crossings: e.g. Zeni et al. 2008, Gait Posture
    27:710 (event detection); the edge correction is this station's, measured against
    the simulator's ground truth in ``bench/bench_analysis.py``.
    """
    t = np.asarray(t_s, dtype=float)
    f = np.asarray(fz_n, dtype=float)
    i = np.asarray(index, dtype=int)
    if method == "naive":
        return t[i]
    # a = sample on the contact-free side, b = first sample on the contact side
    a, b = (i - 1, i) if rising else (i, i - 1)
    fa, fb = f[a], f[b]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (threshold_n - f[i - 1]) / (f[i] - f[i - 1])
    frac = np.clip(np.nan_to_num(frac, nan=1.0), 0.0, 1.0)
    t_lin = t[i - 1] + frac * (t[i] - t[i - 1])
    if method == "linear" or len(i) == 0:
        return t_lin
    # the next sample deeper into the contact
    c = np.clip(b + 1 if rising else b - 1, 0, len(f) - 1)
    fc = f[c]
    use = (fa < threshold_n / 2) & (fc > fb) & (c != b)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_edge = t[b] - (fb - threshold_n) / (fc - fb) * (t[c] - t[b])
    lo = np.minimum(t_lin, t[b])
    hi = np.maximum(t_lin, t[b])
    t_edge = np.clip(np.nan_to_num(t_edge, nan=0.0), lo, hi)
    return np.where(use, t_edge, t_lin)


def detect_contacts(
    t_s: np.ndarray,
    fz_n: np.ndarray,
    *,
    foot: str,
    threshold_n: float = CONTACT_THRESHOLD_N,
    hysteresis_n: float = HYSTERESIS_N,
    method: CrossingMethod = "edge",
) -> list[Contact]:
    """Contacts of one plate.

    Parameters
    ----------
    t_s : (N,) increasing timestamps, s (irregular allowed).
    fz_n : (N,) vertical force of the plate, N.
    foot : label stored in each contact ("left"/"right").
    threshold_n : contact threshold, 20 N.
    hysteresis_n : half-width of the band that rejects chatter; never shifts times.
    method : crossing interpolation, see :func:`crossing_times`.

    Returns
    -------
    list[Contact]
        In time order; ``on_s`` is None for a contact already running at the first
        sample, ``off_s`` None for one still running at the last.
    """
    t = np.asarray(t_s, dtype=float)
    f = np.nan_to_num(np.asarray(fz_n, dtype=float), nan=0.0)
    if len(f) == 0:
        return []
    above = f >= threshold_n
    state = _hysteresis_state(f, threshold_n - hysteresis_n, threshold_n + hysteresis_n, bool(above[0]))
    change = np.flatnonzero(np.diff(state.astype(np.int8))) + 1
    on_idx = change[state[change]]
    off_idx = change[~state[change]]
    # the real 20 N crossing is the last one at or before the hysteresis decision
    ups = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    downs = np.flatnonzero(~above[1:] & above[:-1]) + 1
    on_cross = ups[np.searchsorted(ups, on_idx, side="right") - 1] if len(on_idx) else on_idx
    off_cross = downs[np.searchsorted(downs, off_idx, side="right") - 1] if len(off_idx) else off_idx
    on_t = crossing_times(t, f, on_cross, rising=True, threshold_n=threshold_n, method=method)
    off_t = crossing_times(t, f, off_cross, rising=False, threshold_n=threshold_n, method=method)
    ons: list[float | None] = [float(v) for v in on_t]
    offs: list[float | None] = [float(v) for v in off_t]
    if state[0]:
        ons.insert(0, None)
    if state[-1]:
        offs.append(None)
    return [Contact(foot, a, b) for a, b in zip(ons, offs, strict=True)]


def phase_durations(
    t_s: np.ndarray,
    contacts: list[Contact],
    *,
    total_fz_n: np.ndarray | None = None,
    threshold_n: float = CONTACT_THRESHOLD_N,
) -> dict[str, float]:
    """Total time in double support, left/right single support and flight.

    Parameters
    ----------
    t_s : (N,) timestamps, s; the recording spans t_s[0]..t_s[-1].
    contacts : contacts of both feet (``foot`` "left"/"right").
    total_fz_n : (N,) sum of both plates; flight additionally needs it below
        ``threshold_n`` (time without a contact but with load spread over both
        plates is not flight). Counted per sample interval.
    threshold_n : 20 N.

    Returns
    -------
    dict with ``double_support``, ``left_single_support``, ``right_single_support``,
    ``flight`` in seconds (stance = on..off of one plate; double support = both;
    single support = exactly one; flight = neither).
    """
    t = np.asarray(t_s, dtype=float)
    t0, t1 = float(t[0]), float(t[-1])
    intervals: dict[str, np.ndarray] = {}
    for foot in ("left", "right"):
        iv = [
            (t0 if c.on_s is None else c.on_s, t1 if c.off_s is None else c.off_s)
            for c in contacts
            if c.foot == foot
        ]
        intervals[foot] = np.array(iv, dtype=float).reshape(-1, 2)
    bps = np.unique(np.concatenate([[t0, t1], intervals["left"].ravel(), intervals["right"].ravel()]))
    bps = bps[(bps >= t0) & (bps <= t1)]
    seg = np.diff(bps)
    mid = (bps[:-1] + bps[1:]) / 2

    left, right = inside_at(intervals["left"], mid), inside_at(intervals["right"], mid)
    flight = float(seg[~left & ~right].sum())
    if total_fz_n is not None and flight > 0:
        # sample intervals without any contact where the total still carries load
        tot = np.asarray(total_fz_n, dtype=float)
        tm = (t[:-1] + t[1:]) / 2
        nocontact = ~inside_at(intervals["left"], tm) & ~inside_at(intervals["right"], tm)
        loaded = (tot[:-1] >= threshold_n) & (tot[1:] >= threshold_n)
        flight = max(0.0, flight - float(np.diff(t)[nocontact & loaded].sum()))
    return {
        "double_support": float(seg[left & right].sum()),
        "left_single_support": float(seg[left & ~right].sum()),
        "right_single_support": float(seg[~left & right].sum()),
        "flight": flight,
    }


def inside_at(iv: np.ndarray, times: np.ndarray) -> np.ndarray:
    """True where ``times`` fall inside one of the sorted, disjoint intervals ``iv`` (K, 2)."""
    if len(iv) == 0:
        return np.zeros(len(times), dtype=bool)
    k = np.searchsorted(iv[:, 0], times, side="right") - 1
    res = np.zeros(len(times), dtype=bool)
    ok = k >= 0
    res[ok] = times[ok] < iv[k[ok], 1]
    return res
