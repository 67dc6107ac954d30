"""The analysis of one trial: from plate forces / corner loads to the result dictionary.

:func:`analyze_plates` is the core (per-plate vertical force and CoP in the lab frame);
:func:`analyze_corner_loads` builds those from the eight cell loads first. The result
is plain JSON (floats, lists, dicts, None) with every key of issue 3 always present.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from station.analysis.contacts import Contact, detect_contacts, phase_durations
from station.analysis.cop import combined_cop, combined_cop_from_cells, plate_force_and_cop
from station.analysis.filters import (
    FILTER_ORDER,
    butter_lowpass,
    finite_runs,
    is_regular,
    lowpass_cutoff_hz,
    resample_uniform,
    sample_rate_hz,
)
from station.analysis.protocols import ANALYSES, TrialView
from station.analysis.quality import (
    channel_warnings,
    gap_warnings,
    quality_flags,
    stepped_off_warning,
)
from station.analysis.stabilization import TTS_BAND_FRACTION, TTS_WINDOW_S
from station.analysis.sway import frequency_measures, sway_measures
from station.analysis.windows import find_window
from station.core.errors import InputError
from station.core.geometry import CHANNELS, Geometry
from station.core.physics import CONTACT_THRESHOLD_N, G_M_S2
from station.core.protocols import PROTOCOLS, RESULT_BLOCKS

MIN_DURATION_S = 1.0
#: sway is skipped (with a warning) for windows shorter than this
MIN_SWAY_WINDOW_S = 2.0
FEET = ("left", "right")


def analyze_corner_loads(
    t_s: np.ndarray,
    loads_n: np.ndarray,
    *,
    geometry: Geometry,
    protocol: str,
    leg: str | None = None,
    body_mass_kg: float | None = None,
    invalid: np.ndarray | None = None,
) -> dict[str, Any]:
    """Analyse a trial recorded as eight corner loads.

    Parameters
    ----------
    t_s : (N,) timestamps, s, strictly increasing (irregular allowed).
    loads_n : (N, 8) vertical load per cell, N, in CHANNELS order.
    geometry : plate and cell positions (lab frame).
    protocol : one of :data:`station.core.protocols.PROTOCOL_NAMES`.
    leg : stance leg of single-leg protocols ("left"/"right"); inferred when None.
    body_mass_kg : when given, body weight = mass * G_M_S2; else measured.
    invalid : (N,) per-frame bitmask of channels the hardware flagged.

    Returns
    -------
    dict
        See :func:`analyze_plates`; the combined CoP is the moment sum over all cells
        (Winter 1995), continuous through touch-downs. Plus ``quality``: channels the
        hardware flagged (``invalid_fraction``, ``dead_channels``), gaps in the data
        (``gaps_s``), the metrics they make ``unreliable`` and those ``withheld`` (None).
    """
    loads = np.asarray(loads_n, dtype=float)
    t = np.asarray(t_s, dtype=float)
    if loads.ndim != 2 or loads.shape[1] != len(CHANNELS) or len(loads) != len(t):
        raise InputError(f"loads_n must have shape (N, 8) matching t_s (got {loads.shape} for {t.shape})")
    fz, cop = plate_force_and_cop(loads, geometry=geometry)
    comb = combined_cop_from_cells(loads, geometry=geometry)
    result = _analyze(
        t, fz, cop, comb,
        protocol=protocol, leg=leg, body_mass_kg=body_mass_kg,
        warnings=channel_warnings(loads, invalid=invalid),
    )
    # Flag (or withhold) what flagged channels and gaps in the data make unreliable,
    # instead of reporting numbers computed from held or missing readings.
    quality = quality_flags(result, t, invalid)
    warnings: list[str] = list(result.get("warnings") or []) + gap_warnings(quality["gaps_s"])
    if quality["withheld"]:
        warnings.append(
            f"withheld because channel(s) {', '.join(quality['dead_channels'])} gave no valid reading: "
            f"{', '.join(quality['withheld'])}."
        )
    result["quality"] = quality
    result["warnings"] = warnings
    return result


def analyze_plates(
    t_s: np.ndarray,
    fz_n: np.ndarray,
    cop_mm: np.ndarray,
    *,
    protocol: str,
    leg: str | None = None,
    body_mass_kg: float | None = None,
    invalid_channels: list[str] | None = None,
    channel_loads_n: np.ndarray | None = None,
) -> dict[str, Any]:
    """Analyse a trial given per-plate vertical force and CoP.

    Parameters
    ----------
    t_s : (N,) timestamps, s, strictly increasing, at least 1 s long.
    fz_n : (N, 2) vertical force [left, right], N.
    cop_mm : (N, 2, 2) CoP [plate, (x, y)], mm, lab frame; NaN where unloaded.
    protocol : protocol name.
    leg : stance leg for single-leg protocols; inferred from the data when None.
    body_mass_kg : optional; body weight = mass * g, else measured.
    invalid_channels : channels known to be bad (adds a warning).
    channel_loads_n : (N, 8) optional cell loads for the clipping / dead-cell checks.

    Returns
    -------
    dict
        JSON-ready result: ``protocol``, ``sample_rate_hz``, ``duration_s``,
        ``body_weight_n``, ``contacts``, ``stance_time_s``, ``phases_s``,
        ``stance_symmetry_index_pct``, ``weight_left_pct``, ``sway``, ``ml_shift_mm``,
        ``single_leg``, ``squat``, ``time_to_stabilization_s``, ``warnings`` and the
        extras ``leg``, ``analysis_window_s``, ``filter``, ``sway_frequency``,
        ``measured_body_weight_n``, ``methods``. See docs/analysis.md.
    """
    fz = np.asarray(fz_n, dtype=float)
    cop = np.asarray(cop_mm, dtype=float)
    t = np.asarray(t_s, dtype=float)
    if fz.shape != (len(t), 2) or cop.shape != (len(t), 2, 2):
        raise InputError(
            f"fz_n must be (N, 2) and cop_mm (N, 2, 2) with N = len(t_s) = {len(t)} "
            f"(got {fz.shape} and {cop.shape})"
        )
    warnings = channel_warnings(channel_loads_n, invalid_channels=invalid_channels)
    return _analyze(t, fz, cop, combined_cop(fz, cop), protocol=protocol, leg=leg,
                    body_mass_kg=body_mass_kg, warnings=warnings)


def _validate(t: np.ndarray, fz: np.ndarray, protocol: str, leg: str | None, body_mass_kg: float | None) -> None:
    if protocol not in PROTOCOLS:
        raise InputError(
            f"unknown protocol {protocol!r}", hint=f"Use one of: {', '.join(PROTOCOLS)}."
        )
    if leg is not None and leg not in FEET:
        raise InputError(f"unknown leg {leg!r}", hint="Use left or right.")
    if body_mass_kg is not None and not (10.0 <= body_mass_kg <= 400.0):
        raise InputError(f"body mass {body_mass_kg} kg is not plausible", hint="Give it in kilograms (10-400).")
    if t.ndim != 1 or len(t) < 2:
        raise InputError("a trial needs at least two samples", hint="Record at least 1 s.")
    if not np.isfinite(t).all() or not np.isfinite(fz).all():
        bad = int(np.flatnonzero(~np.isfinite(t) | ~np.isfinite(fz).all(axis=1))[0])
        raise InputError(f"sample {bad} has a missing (NaN) time or force", hint="Remove or repair that sample.")
    d = np.diff(t)
    if (d <= 0).any():
        bad = int(np.flatnonzero(d <= 0)[0]) + 1
        raise InputError(
            f"time does not increase at sample {bad} ({t[bad - 1]} then {t[bad]} s)",
            hint="Timestamps must be strictly increasing.",
        )
    if t[-1] - t[0] < MIN_DURATION_S:
        raise InputError(
            f"the recording lasts {t[-1] - t[0]:.3f} s, less than the {MIN_DURATION_S:.0f} s the analysis needs",
            hint="Record a longer trial.",
        )


def _clean(x: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN/inf to None."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if np.isfinite(v) else None
    return x


def _window_mask(t: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    if window is None:
        return np.zeros(len(t), dtype=bool)
    return (t >= window[0]) & (t <= window[1])


def _sway_on_window(
    t_s: np.ndarray,
    cop_mm: np.ndarray,
    window: tuple[float, float] | None,
    *,
    fs_hz: float,
    t0_s: float,
    warnings: list[str],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, tuple[float, float] | None]:
    """Sway and sway-frequency measures of the filtered CoP over the analysis window.

    Parameters
    ----------
    t_s : (N,) uniform time grid, s.
    cop_mm : (N, 2) filtered CoP (ML, AP), mm; NaN where the plate was unloaded.
    window : [start, end] of the analysis window, s; None when it is empty.
    fs_hz : sample rate, Hz.
    t0_s : the trial's first timestamp, s (warnings give times from it).
    warnings : the result's warnings; too short or unloaded windows add one.

    Returns
    -------
    tuple
        ``sway`` and ``sway_frequency`` (None when not measured) and the window they were
        measured on: the longest loaded part of it when the plates were unloaded for a while.
    """
    m = _window_mask(t_s, window)
    seg = cop_mm[m]
    if window is None or window[1] - window[0] < MIN_SWAY_WINDOW_S or len(seg) < 3:
        warnings.append(
            "the trial is too short for sway measures (less than "
            f"{MIN_SWAY_WINDOW_S:.0f} s of steady stance after the first second); record a longer trial."
        )
        return None, None, window
    if not np.isfinite(seg).all():
        # unloaded frames (athlete stepped off, zero rows): keep the longest loaded run
        runs = finite_runs(np.isfinite(seg).all(axis=1))
        a, b = max(runs, key=lambda r: r[1] - r[0]) if runs else (0, 0)
        ts = t_s[m]
        if b - a < 3 or ts[b - 1] - ts[a] < MIN_SWAY_WINDOW_S:
            warnings.append("the plates were unloaded during most of the sway window; sway not computed.")
            return None, None, window
        warnings.append(
            f"the plates were unloaded during part of the sway window; sway uses "
            f"{ts[a] - t0_s:.2f}-{ts[b - 1] - t0_s:.2f} s of the trial only."
        )
        window = (float(ts[a]), float(ts[b - 1]))
        seg = seg[a:b]
    return sway_measures(seg, fs_hz=fs_hz), frequency_measures(seg, fs_hz=fs_hz), window


def _analyze(
    t: np.ndarray,
    fz: np.ndarray,
    cop: np.ndarray,
    comb: np.ndarray,
    *,
    protocol: str,
    leg: str | None,
    body_mass_kg: float | None,
    warnings: list[str],
) -> dict[str, Any]:
    _validate(t, fz, protocol, leg, body_mass_kg)
    proto = PROTOCOLS[protocol]
    warnings = list(warnings)
    fs = sample_rate_hz(t)
    t0, t1 = float(t[0]), float(t[-1])
    total = fz.sum(axis=1)

    # --- contacts and phases: on the raw timestamps (interpolated crossings) ---
    contacts: list[Contact] = []
    for k, foot in enumerate(FEET):
        contacts += detect_contacts(t, fz[:, k], foot=foot)
    contacts.sort(key=lambda c: (t0 if c.on_s is None else c.on_s, c.foot))
    stance = {
        foot: [c.off_s - c.on_s for c in contacts if c.foot == foot and c.on_s is not None and c.off_s is not None]
        for foot in FEET
    }
    phases = phase_durations(t, contacts, total_fz_n=total)
    symmetry = None
    if stance["left"] and stance["right"]:
        ml, mr = float(np.mean(stance["left"])), float(np.mean(stance["right"]))
        symmetry = 100.0 * abs(ml - mr) / ((ml + mr) / 2)

    loaded = total >= CONTACT_THRESHOLD_N
    if not loaded.any():
        warnings.append(
            "nobody stood on the plates during the whole recording (total force below 20 N); "
            "check that the plates are connected and tared, then record again."
        )
    measured_bw = float(np.median(total[loaded])) if loaded.any() else 0.0
    body_weight = body_mass_kg * G_M_S2 if body_mass_kg is not None else measured_bw

    # --- uniform grid and zero-lag low-pass for everything CoP-based ---
    if is_regular(t):
        tu, fzu, copu, combu = t, fz, cop, comb
    else:
        tu, fzu = resample_uniform(t, fz, fs_hz=fs)
        _, copu = resample_uniform(t, cop, fs_hz=fs)
        _, combu = resample_uniform(t, comb, fs_hz=fs)
    cutoff = lowpass_cutoff_hz(fs)
    filtered: dict[str, np.ndarray] = {}

    def lowpassed(name: str) -> np.ndarray:
        """Filtered CoP series "left"/"right"/"combined", computed once and only if used
        (a stepping trial has a gap per step; filtering unused series would dominate)."""
        if name not in filtered:
            raw = combu if name == "combined" else copu[:, FEET.index(name)]
            filtered[name] = butter_lowpass(raw, fs_hz=fs, cutoff_hz=cutoff)
        return filtered[name]

    # --- stance leg and the protocol's analysis window ---
    if proto.single_leg and leg is None:
        single_time = {"left": phases["left_single_support"], "right": phases["right_single_support"]}
        leg = max(FEET, key=lambda f: single_time[f])
        warnings.append(f"no stance leg given; the {leg} leg was taken (it carried the body alone longest).")
    timeline = find_window(proto.window, contacts, leg=leg, t0_s=t0, t1_s=t1)
    window = timeline.window_s
    single_leg: dict[str, Any] | None = None
    if "single_leg" in proto.result_blocks:
        lift_off = timeline.lift_off_s
        first_td = timeline.touchdowns[0].on_s if timeline.touchdowns else None
        single_leg = {
            "leg": leg,
            "lift_off_s": lift_off,
            "time_to_touchdown_s": first_td - lift_off if first_td is not None and lift_off is not None else None,
            "touchdowns": len(timeline.touchdowns),
        }

    # --- sway on the window: the stance plate's CoP on one leg, else the combined CoP ---
    sway: dict[str, Any] | None = None
    freq: dict[str, Any] | None = None
    if "sway" in proto.result_blocks and timeline.start_s is not None:
        sway_cop = lowpassed(str(leg) if proto.single_leg else "combined")
        sway, freq, window = _sway_on_window(tu, sway_cop, window, fs_hz=fs, t0_s=t0, warnings=warnings)

    # --- weight distribution ---
    wmask = _window_mask(tu, window) if window is not None else np.ones(len(tu), dtype=bool)
    tot_w = fzu[wmask].sum()
    weight_left = float(100.0 * fzu[wmask, 0].sum() / tot_w) if tot_w > 0 else None

    # --- what the protocol adds: ml shift, squat reps, time to stabilisation, ... ---
    view = TrialView(
        t_s=tu, t0_s=t0, t1_s=t1, fz_n=fzu, fs_hz=fs, cutoff_hz=cutoff, leg=leg,
        lift_off_s=timeline.lift_off_s, landing_s=timeline.landing_s, touchdowns=timeline.touchdowns,
        body_weight_n=body_weight, body_mass_kg=body_mass_kg, lowpassed=lowpassed, warnings=warnings,
    )
    analysis = ANALYSES.get(protocol)
    if analysis is None:  # a programming error: a protocol entry without its function
        raise RuntimeError(f"protocol {protocol} has no analysis function in station.analysis.protocols.ANALYSES")
    specific = analysis(view)
    blocks: dict[str, Any] = {name: None for name in RESULT_BLOCKS}
    blocks.update(sway=sway, single_leg=single_leg)
    undeclared = specific.keys() - set(proto.result_blocks)
    if undeclared:  # a programming error: the protocol's entry and its function disagree
        raise RuntimeError(f"the analysis of {protocol} fills result block(s) it does not declare: {sorted(undeclared)}")
    blocks.update(specific)

    so = stepped_off_warning(t, total, body_weight_n=body_weight) if body_weight > 0 else None
    if so:
        warnings.append(so)

    result: dict[str, Any] = {
        "protocol": protocol,
        "sample_rate_hz": fs,
        "duration_s": t1 - t0,
        "body_weight_n": body_weight,
        "contacts": [c.as_dict() for c in contacts],
        "stance_time_s": stance,
        "phases_s": phases,
        "stance_symmetry_index_pct": symmetry,
        "weight_left_pct": weight_left,
        **blocks,
        "warnings": warnings,
        # extras
        "leg": leg,
        "analysis_window_s": list(window) if window is not None else None,
        "filter": {"type": "butterworth low-pass, zero-lag (sosfiltfilt)", "cutoff_hz": cutoff, "order": FILTER_ORDER},
        "sway_frequency": freq,
        "measured_body_weight_n": measured_bw,
        "methods": {
            "contact_threshold_n": CONTACT_THRESHOLD_N,
            "symmetry_index": "100 * |L - R| / ((L + R) / 2) of mean stance times",
            "sway": "Prieto et al. 1996; ellipse = pi * 5.991 * sqrt(det(cov))",
            "time_to_stabilization": (
                f"vertical force within BW +- {100 * TTS_BAND_FRACTION:.0f} % until the end of a fixed "
                f"{TTS_WINDOW_S:.0f} s window after landing (Fransz et al. 2015)"
            ),
        },
    }
    return _clean(result)
