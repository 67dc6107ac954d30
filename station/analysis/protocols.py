"""What each protocol's analysis adds to the common part: one function per protocol.

The common part (:func:`station.analysis.report.analyze_plates`) measures contacts,
phases, the analysis window the protocol names, sway over it, the ``single_leg`` block and
the weight distribution. Then it calls ``ANALYSES[protocol]`` with a :class:`TrialView`;
the function returns the result blocks specific to the protocol (keys of
:data:`station.core.protocols.RESULT_BLOCKS` the protocol names in ``result_blocks``) and
adds its warnings to ``view.warnings``. A protocol that adds nothing maps to
:func:`common_only`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from station.analysis.contacts import Contact
from station.analysis.filters import butter_lowpass
from station.analysis.squat import rep_sway, segment_reps, stability_score
from station.analysis.stabilization import TTS_WINDOW_S, time_to_stabilization_s

#: weight_shift: the ML shift is the combined CoP's mean over the last second minus over the first
SHIFT_AVERAGE_S = 1.0


@dataclass
class TrialView:
    """What a protocol's analysis function sees of one trial (uniform grid, s, N, mm).

    Attributes
    ----------
    t_s : (N,) uniform time grid, s (the trial's timestamps when they were regular).
    t0_s, t1_s : the trial's first and last timestamp, s.
    fz_n : (N, 2) vertical force [left, right] on that grid, N.
    fs_hz, cutoff_hz : sample rate and the CoP low-pass cut-off, Hz.
    leg : stance leg ("left"/"right"; inferred for single-leg protocols), or as given.
    lift_off_s, landing_s, touchdowns : the single-leg events of the window
        (:class:`station.analysis.windows.Timeline`); None / empty otherwise.
    body_weight_n : mass x g when the mass is given, else measured.
    body_mass_kg : as given (None: not given).
    lowpassed : "left" / "right" / "combined" -> filtered CoP (N, 2), mm, computed once.
    warnings : the result's warnings; a function appends its own.
    """

    t_s: np.ndarray
    t0_s: float
    t1_s: float
    fz_n: np.ndarray
    fs_hz: float
    cutoff_hz: float
    leg: str | None
    lift_off_s: float | None
    landing_s: float | None
    touchdowns: list[Contact]
    body_weight_n: float
    body_mass_kg: float | None
    lowpassed: Callable[[str], np.ndarray]
    warnings: list[str]


def common_only(view: TrialView) -> dict[str, Any]:
    """Protocols measured by the common part alone (sway over their window, phases, ...)."""
    return {}


def weight_shift(view: TrialView) -> dict[str, Any]:
    """``ml_shift_mm``: the combined ML CoP's mean over the last second minus over the first, mm."""
    tu = view.t_s
    first = tu <= tu[0] + SHIFT_AVERAGE_S
    last = tu >= tu[-1] - SHIFT_AVERAGE_S
    comb_f = view.lowpassed("combined")
    a_first, a_last = comb_f[first, 0], comb_f[last, 0]
    if np.isfinite(a_first).any() and np.isfinite(a_last).any():
        return {"ml_shift_mm": float(a_last[np.isfinite(a_last)].mean() - a_first[np.isfinite(a_first)].mean())}
    view.warnings.append("nobody stood on the plates during the first or the last second; no ML shift.")
    return {"ml_shift_mm": None}


def single_leg_squat(view: TrialView) -> dict[str, Any]:
    """``squat``: the repetitions (from the total force after lift-off), the sway of each
    and the stability score (see :mod:`station.analysis.squat`)."""
    if view.leg is None:
        return {"squat": None}
    tu, fzu, fs = view.t_s, view.fz_n, view.fs_hz
    squat_start = view.lift_off_s if view.lift_off_s is not None else view.t0_s
    sq = (tu >= squat_start) & (tu <= view.t1_s)
    idx0 = int(np.flatnonzero(sq)[0]) if sq.any() else 0
    reps_idx = segment_reps(fzu[sq].sum(axis=1), fs_hz=fs) if sq.sum() > 3 * fs else []
    reps = []
    cop = view.lowpassed(view.leg)
    for s, b, e in reps_idx:
        r: dict[str, float | None] = {
            "start_s": float(tu[idx0 + s]), "bottom_s": float(tu[idx0 + b]), "end_s": float(tu[idx0 + e]),
        }
        r.update(rep_sway(cop[idx0 + s : idx0 + e + 1], fs_hz=fs))
        reps.append(r)
    touchdowns = len(view.touchdowns)
    score = None
    good = [r for r in reps if r["ml_rms_mm"] is not None and r["mean_velocity_mm_s"] is not None]
    if good:
        score = stability_score(
            ml_rms_mm=float(np.mean([r["ml_rms_mm"] for r in good])),
            mean_velocity_mm_s=float(np.mean([r["mean_velocity_mm_s"] for r in good])),
            touchdowns=touchdowns,
        )
    else:
        view.warnings.append(
            "no squat repetition was found in the vertical force; check that the athlete squatted on the plates."
        )
    return {"squat": {"reps": reps, "touchdowns": touchdowns, "stability_score": score}}


def hop_and_stick(view: TrialView) -> dict[str, Any]:
    """``time_to_stabilization_s`` after the landing (see :mod:`station.analysis.stabilization`)."""
    landing_s = view.landing_s
    if landing_s is None:
        view.warnings.append("no landing on the stance plate was found; time to stabilisation not computed.")
        return {"time_to_stabilization_s": None}
    tu, fs = view.t_s, view.fs_hz
    i0 = int(np.searchsorted(tu, landing_s))
    f_low = butter_lowpass(view.fz_n.sum(axis=1), fs_hz=fs, cutoff_hz=view.cutoff_hz)
    bw = view.body_weight_n
    if view.body_mass_kg is None:
        # measured: the mean force over the last second of the fixed window after landing
        last = (tu >= landing_s + TTS_WINDOW_S - 1.0) & (tu <= landing_s + TTS_WINDOW_S)
        bw = float(np.mean(f_low[last])) if last.any() else 0.0
    tts = time_to_stabilization_s(f_low[i0:], fs_hz=fs, body_weight_n=bw)
    if tts is None:
        view.warnings.append(
            f"the recording ends less than {TTS_WINDOW_S:.0f} s after landing; time to stabilisation "
            "needs that fixed window - record longer."
        )
        return {"time_to_stabilization_s": None}
    return {"time_to_stabilization_s": tts + float(tu[i0] - landing_s)}


#: Protocol name -> its analysis function; every protocol of
#: :data:`station.core.protocols.PROTOCOLS` has one (tests/analysis/test_protocol_rules.py).
ANALYSES: dict[str, Callable[[TrialView], dict[str, Any]]] = {
    "bilateral_stance": common_only,
    "weight_shift": weight_shift,
    "single_leg_stance": common_only,
    "single_leg_squat": single_leg_squat,
    "stepping": common_only,
    "hop_and_stick": hop_and_stick,
}
