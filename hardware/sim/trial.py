"""One simulated trial: frames as the station would record them, plus the ground truth.

``simulate_trial`` builds the noise-free physics of a protocol on a 1 kHz grid
(:mod:`hardware.sim.athlete`), samples it at jittered frame times, distributes the plate
loads to the corner cells by statics and turns them into HX711 counts
(:mod:`hardware.sim.cells`). The truth (:class:`GroundTruth`) is the fine-grid physics; the
frames are linear interpolations of the same piecewise-linear signals, so a 20 N crossing
in the truth is exactly where the sampled force would cross it without noise.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hardware.base import HX711_CODE_MAX
from hardware.sim.athlete import (
    FOOT,
    NEEDS_LEG,
    OPTIONAL_LEG,
    OWN_SCENARIOS,
    SINGLE_LEG,
    Athlete,
    Motion,
    build_motion,
    scenario_for,
)
from hardware.sim.cells import CODE_ALL_ONES, SimCells, split_loads
from station.core.calibration import Calibration
from station.core.errors import InputError
from station.core.geometry import CHANNELS, Geometry
from station.core.physics import CONTACT_THRESHOLD_N, G_M_S2
from station.core.protocols import DEFAULT_REPS, PROTOCOLS

#: Frame timestamp jitter (s, sd) of a real acquisition loop on Linux, and its bound as a
#: fraction of the frame period.
JITTER_SD_S = 0.15e-3
JITTER_MAX_FRACTION = 0.3

#: Scenarios whose truth has an ML shift: those playing a protocol that reports one.
ML_SHIFT = frozenset(p.sim_scenario for p in PROTOCOLS.values() if "ml_shift_mm" in p.result_blocks)


def crossings(t_s: np.ndarray, f_n: np.ndarray, threshold_n: float = CONTACT_THRESHOLD_N) -> list[tuple[float | None, float | None]]:
    """Intervals where the piecewise-linear ``f_n(t_s)`` is at or above ``threshold_n``.

    Crossing times are exact for the linear interpolation; ``None`` marks an interval that
    began before the first sample or lasts past the last.
    """
    above = f_n >= threshold_n
    idx = np.flatnonzero(above[1:] != above[:-1])
    times = t_s[idx] + (threshold_n - f_n[idx]) / (f_n[idx + 1] - f_n[idx]) * (t_s[idx + 1] - t_s[idx])
    out: list[tuple[float | None, float | None]] = []
    on: float | None = None  # None while inside an interval that began before the first sample
    inside = bool(above[0])
    for i, tc in zip(idx, times, strict=True):
        if not above[i]:  # rising through the threshold
            on, inside = float(tc), True
        else:
            out.append((on, float(tc)))
            on, inside = None, False
    if inside:
        out.append((on, None))
    return out


@dataclass
class GroundTruth:
    """Noise-free physics of a simulated trial (see the module docstring).

    Series are on the fine grid ``t_s`` (1 kHz). ``cop_mm`` is NaN where that plate carries
    no load; ``cop_combined_mm`` where neither does.
    """

    t_s: np.ndarray
    fz_n: np.ndarray                # (M, 2) [left, right]
    cop_mm: np.ndarray              # (M, 2, 2) [plate, (x, y)]
    cop_combined_mm: np.ndarray     # (M, 2)
    pelvic_obliquity_deg: np.ndarray
    knee_fppa_deg: np.ndarray
    contacts: list[dict[str, Any]]
    reps: list[dict[str, float]]
    touchdowns: list[dict[str, Any]]
    stance_leg: str | None
    body_mass_kg: float
    protocol: str
    lift_off_s: float | None = None
    landing_s: float | None = None
    time_to_stabilization_s: float | None = None
    ml_shift_mm: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: (M,) vertical displacement of the centre of mass from standing (m, + up), where the
    #: protocol prescribes it (squats); ``None`` otherwise.
    com_z_m: np.ndarray | None = None
    _moments: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 2)), repr=False)

    @property
    def body_weight_n(self) -> float:
        return self.body_mass_kg * G_M_S2

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    def at(self, t_s: np.ndarray | float) -> dict[str, np.ndarray]:
        """Truth linearly interpolated at arbitrary times (force and moments are
        interpolated, the CoP is their ratio, as the frames are built)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        fz = np.column_stack([np.interp(t, self.t_s, self.fz_n[:, p]) for p in range(2)])
        mom = np.stack(
            [np.column_stack([np.interp(t, self.t_s, self._moments[:, p, a]) for a in range(2)]) for p in range(2)],
            axis=1,
        )
        out = {
            "t_s": t,
            "fz_n": fz,
            "cop_mm": _cop(fz, mom),
            "cop_combined_mm": _cop(fz.sum(axis=1), mom.sum(axis=1)),
            "pelvic_obliquity_deg": np.interp(t, self.t_s, self.pelvic_obliquity_deg),
            "knee_fppa_deg": np.interp(t, self.t_s, self.knee_fppa_deg),
        }
        if self.com_z_m is not None:
            out["com_z_m"] = np.interp(t, self.t_s, self.com_z_m)
        return out

    def events_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "stance_leg": self.stance_leg,
            "body_mass_kg": self.body_mass_kg,
            "body_weight_n": self.body_weight_n,
            "duration_s": self.duration_s,
            "contact_threshold_n": CONTACT_THRESHOLD_N,
            "contacts": self.contacts,
            "reps": self.reps,
            "touchdowns": self.touchdowns,
            "lift_off_s": self.lift_off_s,
            "landing_s": self.landing_s,
            "time_to_stabilization_s": self.time_to_stabilization_s,
            "ml_shift_mm": self.ml_shift_mm,
            "extra": _jsonable(self.extra),
        }


def _cop(fz: np.ndarray, moments: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        cop = moments / fz[..., None]
    cop[~(fz > 1e-9)] = np.nan
    return np.asarray(cop)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items() if not isinstance(x, np.ndarray) or x.ndim == 0}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def truth_from_motion(motion: Motion, *, body_mass_kg: float) -> GroundTruth:
    t, fz = motion.t_s, motion.fz_n
    moments = fz[:, :, None] * motion.cop_mm
    contacts: list[dict[str, Any]] = []
    for p, foot in enumerate(("left", "right")):
        for on, off in crossings(t, fz[:, p]):
            contacts.append({"foot": foot, "on_s": on, "off_s": off})
    contacts.sort(key=lambda c: (c["on_s"] if c["on_s"] is not None else -1.0, c["foot"]))
    leg = motion.stance_leg
    lift_off = landing = tts = None
    touchdowns: list[dict[str, Any]] = []
    nominal = motion.extra.get("landing_nominal_s")  # scenarios that land on the stance plate (hop_and_stick)
    if leg is not None and nominal is None and (motion.protocol in SINGLE_LEG or motion.protocol == "hopping"):
        other = "right" if leg == "left" else "left"
        offs = [c["off_s"] for c in contacts if c["foot"] == other and c["off_s"] is not None]
        lift_off = offs[0] if offs else None
        if lift_off is not None:
            touchdowns = [c for c in contacts if c["foot"] == other and c["on_s"] is not None and c["on_s"] > lift_off]
    if nominal is not None and leg is not None:
        lands = [c["on_s"] for c in contacts if c["foot"] == leg and c["on_s"] is not None and c["on_s"] >= nominal - 0.01]
        landing = lands[0] if lands else None
        offs = [c["off_s"] for c in contacts if c["off_s"] is not None and landing is not None and c["off_s"] < landing]
        lift_off = max(offs) if offs else None
        other = "right" if leg == "left" else "left"
        if landing is not None:
            touchdowns = [c for c in contacts if c["foot"] == other and c["on_s"] is not None and c["on_s"] > landing]
            tts = nominal + motion.extra["stabilization_after_contact_s"] - landing
    ml_shift = None
    total = fz[:, 0] + fz[:, 1]
    comb = _cop(total, moments[:, 0] + moments[:, 1])
    if motion.protocol in ML_SHIFT:
        first, last = t <= t[0] + 1.0, t >= t[-1] - 1.0
        ml_shift = float(np.nanmean(comb[last, 0]) - np.nanmean(comb[first, 0]))
    return GroundTruth(
        t_s=t,
        fz_n=fz,
        cop_mm=_cop(fz, moments),
        cop_combined_mm=comb,
        pelvic_obliquity_deg=motion.pelvic_obliquity_deg,
        knee_fppa_deg=motion.knee_fppa_deg,
        contacts=contacts,
        reps=[r for r in motion.reps if r["end_s"] <= t[-1]],
        touchdowns=touchdowns,
        stance_leg=leg,
        body_mass_kg=body_mass_kg,
        protocol=motion.protocol,
        lift_off_s=lift_off,
        landing_s=landing,
        time_to_stabilization_s=tts,
        ml_shift_mm=ml_shift,
        extra={k: v for k, v in motion.extra.items() if not isinstance(v, np.ndarray)},
        com_z_m=motion.extra.get("com_z_m"),
        _moments=moments,
    )


@dataclass
class SimTrial:
    """A simulated recording. Per frame: ``t_ns``, ``t_s``, raw ``counts`` (N, 8),
    ``invalid`` bitmask, ``loads_n`` (N, 8) through the true calibration; ``truth`` is
    the noise-free physics."""

    protocol: str
    leg: str | None
    seed: int
    rate_hz: float
    geometry: Geometry
    cells: SimCells
    athlete: Athlete
    t_ns: np.ndarray
    t_s: np.ndarray
    counts: np.ndarray
    invalid: np.ndarray
    loads_n: np.ndarray
    true_loads_n: np.ndarray     # noise-free per-cell loads at the frame times
    drift_counts: np.ndarray     # (N, 8) offset drift included in ``counts``
    truth: GroundTruth
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def calibration(self) -> Calibration:
        return self.cells.true_calibration(self.geometry)

    @property
    def truth_at_frames(self) -> dict[str, np.ndarray]:
        return self.truth.at(self.t_s)

    def metadata(self) -> dict[str, Any]:
        return {
            "source": "simulator",
            "protocol": self.protocol,
            "leg": self.leg,
            "seed": self.seed,
            "sample_rate_hz": self.rate_hz,
            "body_mass_kg": self.truth.body_mass_kg,
            "units": "t_s seconds from trial start; loads newtons per cell",
            "geometry": self.geometry.to_dict(),
        }

    def to_csv(self, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
        """Write the raw CSV of the analysis issue: ``# key: value`` metadata lines (values
        JSON-encoded unless plain strings), the header ``t_s,left_fl,...,right_br``, then
        one row per frame, loads in newtons per cell."""
        path = Path(path)
        meta = {**self.metadata(), **(metadata or {})}
        lines = []
        for k, v in meta.items():
            text = v if isinstance(v, str) else json.dumps(_jsonable(v), separators=(",", ":"))
            lines.append(f"# {k}: {text}")
        lines.append(",".join(("t_s", *CHANNELS)))
        body = np.column_stack([self.t_s, self.loads_n])
        fmt = ["%.6f"] + ["%.4f"] * len(CHANNELS)
        rows = "\n".join(",".join(f % v for f, v in zip(fmt, row, strict=True)) for row in body.tolist())
        path.write_text("\n".join(lines) + "\n" + rows + "\n")
        return path

    def truth_dict(self, *, series: bool = False) -> dict[str, Any]:
        """JSON-able ground truth: events and parameters; with ``series=True`` also the
        noise-free force, CoP and angles at every frame time (the CSV's rows)."""
        d = self.truth.events_dict()
        d["seed"] = self.seed
        d["sample_rate_hz"] = self.rate_hz
        d["frames"] = int(len(self.t_s))
        d["athlete"] = _jsonable({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                  for k, v in vars(self.athlete).items()})
        d["cells"] = {
            "offsets_counts": self.cells.offsets_counts.tolist(),
            "gains_counts_per_n": self.cells.gains_counts_per_n.tolist(),
            "noise_sd_counts": self.cells.noise_sd_counts,
            "drift_counts_per_h": self.cells.drift_counts_per_h.tolist(),
        }
        d["options"] = _jsonable(self.options)
        if series:
            at = self.truth_at_frames

            def clean(a: np.ndarray) -> Any:
                return np.where(np.isfinite(a), np.round(a, 4), np.nan).tolist()

            d["series"] = {
                "t_s": np.round(self.t_s, 6).tolist(),
                "fz_n": clean(at["fz_n"]),
                "cop_mm": clean(at["cop_mm"]),
                "cop_combined_mm": clean(at["cop_combined_mm"]),
                "pelvic_obliquity_deg": clean(at["pelvic_obliquity_deg"]),
                "knee_fppa_deg": clean(at["knee_fppa_deg"]),
            }
            if "com_z_m" in at:
                d["series"]["com_z_m"] = clean(at["com_z_m"])
            d["series"] = _nan_to_none(d["series"])
        return d


def _nan_to_none(v: Any) -> Any:
    if isinstance(v, list):
        return [_nan_to_none(x) for x in v]
    if isinstance(v, dict):
        return {k: _nan_to_none(x) for k, x in v.items()}
    if isinstance(v, float) and v != v:
        return None
    return v


def frame_times(rng: np.random.Generator, duration_s: float, rate_hz: float) -> np.ndarray:
    """Frame times (s from trial start) at ``rate_hz`` with a random phase and loop jitter."""
    period = 1.0 / rate_hz
    n = int(np.floor((duration_s - period) * rate_hz)) + 1
    t = rng.uniform(0.1, 0.9) * period + np.arange(n) * period
    jitter = np.clip(rng.normal(0.0, JITTER_SD_S, n), -JITTER_MAX_FRACTION * period, JITTER_MAX_FRACTION * period)
    return np.asarray(np.clip(t + jitter, 0.0, duration_s))


def forward_fill(values: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """Replace invalid entries by the column's last valid value (the next one before the
    first), as a backend holds a channel's last valid reading."""
    out = values.astype(float).copy()
    n = len(out)
    for c in range(out.shape[1]):
        bad = invalid[:, c]
        if not bad.any():
            continue
        idx = np.where(~bad, np.arange(n), -1)
        np.maximum.accumulate(idx, out=idx)
        first_valid = int(np.argmax(~bad)) if (~bad).any() else -1
        idx[idx < 0] = first_valid
        out[:, c] = out[idx, c] if first_valid >= 0 else np.nan
    return out


FAULT_KINDS = ("dead", "saturated", "spikes", "stuck")
#: Fraction of reads corrupted on a channel with a "spikes" fault.
SPIKE_BURST_FRACTION = 0.2


def apply_faults(t_s: np.ndarray, counts: np.ndarray, bad: np.ndarray, faults: list[dict[str, Any]],
                 rng: np.random.Generator) -> None:
    """Overlay sensor faults on chip codes (in place). ``dead``: all ones (DOUT stuck
    high), flagged; ``saturated``: 0x7FFFFF, flagged; ``spikes``: 20 % of reads with a
    flipped high bit, flagged; ``stuck``: frozen at the last code before the fault, *not*
    flagged (a backend cannot tell)."""
    for i, f in enumerate(faults):
        if not isinstance(f, dict):
            raise InputError(f"fault {i + 1} must be an object with channel and kind")
        unknown = set(f) - {"channel", "kind", "start_s", "duration_s"}
        if unknown:
            raise InputError(f"fault {i + 1}: unknown key(s) {', '.join(sorted(unknown))}")
        ch = f.get("channel")
        if isinstance(ch, str) and ch in CHANNELS:
            c = CHANNELS.index(ch)
        elif isinstance(ch, int) and not isinstance(ch, bool) and 0 <= ch < len(CHANNELS):
            c = ch
        else:
            raise InputError(f"fault {i + 1}: unknown channel {ch!r}", hint=f"Use one of: {', '.join(CHANNELS)}.")
        kind = f.get("kind")
        if kind not in FAULT_KINDS:
            raise InputError(f"fault {i + 1}: unknown kind {kind!r}", hint=f"Use one of: {', '.join(FAULT_KINDS)}.")
        try:
            start = float(f.get("start_s", 0.0))
            dur = f.get("duration_s")
            end = np.inf if dur is None else start + float(dur)
        except (TypeError, ValueError):
            raise InputError(f"fault {i + 1}: start_s and duration_s must be numbers") from None
        m = (t_s >= start) & (t_s < end)
        if not m.any():
            continue
        if kind == "dead":
            counts[m, c] = CODE_ALL_ONES
            bad[m, c] = True
        elif kind == "saturated":
            counts[m, c] = HX711_CODE_MAX
            bad[m, c] = True
        elif kind == "spikes":
            hit = m & (rng.random(len(t_s)) < SPIKE_BURST_FRACTION)
            counts[hit, c] = np.where(counts[hit, c] >= 0, counts[hit, c] - (1 << 22), counts[hit, c] + (1 << 22))
            bad[hit, c] = True
        else:  # stuck
            first = int(np.argmax(m))
            counts[m, c] = counts[first - 1, c] if first > 0 else counts[first, c]
            bad[m, c] = False


def _check(protocol: str, leg: str | None, duration_s: float | None, rate_hz: float, body_mass_kg: float) -> None:
    scenario_for(protocol)  # refuses an unknown protocol
    if leg is not None and leg not in FOOT:
        raise InputError(f"leg must be 'left' or 'right', got {leg!r}")
    if not 10.0 <= rate_hz <= 1000.0:
        raise InputError(f"rate_hz must be between 10 and 1000 Hz, got {rate_hz:g}")
    if duration_s is not None and not 1.0 <= duration_s <= 3600.0:
        raise InputError(f"duration_s must be between 1 and 3600 s, got {duration_s:g}")
    if not 20.0 <= body_mass_kg <= 250.0:
        raise InputError(f"body_mass_kg must be between 20 and 250 kg, got {body_mass_kg:g}")


def _num(options: dict[str, Any], key: str, default: float) -> float:
    v = options.get(key)
    if v is None:
        return default
    try:
        if isinstance(v, bool):
            raise ValueError
        return float(v)
    except (TypeError, ValueError):
        raise InputError(f"option {key} must be a number, got {v!r}") from None


def _build_length(protocol: str, scenario: str, duration_s: float | None, options: dict[str, Any]) -> float:
    """The length to build: ``duration_s`` when given; else long enough for a squat set's
    reps or the hops asked for, or the protocol's default duration."""
    if duration_s is not None:
        return duration_s
    if scenario == "single_leg_squat":
        reps = min(max(_num(options, "reps", DEFAULT_REPS), 1), 50)
        tempo = min(max(_num(options, "tempo_s", 3.0), 1.0), 10.0)
        lift = min(max(_num(options, "lift_off_s", 3.0), 0.0), 60.0)
        return min(3600.0, lift + 4.0 + reps * (tempo + 1.2))
    if scenario == "hopping":
        hops = min(max(_num(options, "hops", 10), 1), 500)
        contact = min(max(_num(options, "contact_s", 0.3), 0.05), 2.0)
        flight = min(max(_num(options, "flight_s", 0.3), 0.05), 2.0)
        return min(3600.0, max(OWN_SCENARIOS["hopping"], 4.0 + hops * (contact + flight) * 1.15))
    proto = PROTOCOLS.get(protocol)
    return proto.default_duration_s if proto is not None else OWN_SCENARIOS[protocol]


def protocol_motion(
    protocol: str,
    *,
    rng: np.random.Generator,
    athlete: Athlete,
    leg: str | None,
    duration_s: float | None,
    options: dict[str, Any],
) -> Motion:
    """The fine-grid physics of the scenario that plays ``protocol`` (a station protocol or
    one of :data:`hardware.sim.athlete.OWN_SCENARIOS`), trimmed to its natural end when
    ``duration_s`` is None. ``options`` is copied, not consumed."""
    options = dict(options)
    # athlete parameters given as options (peak_fppa_deg=20, sl_ml_rms_mm=9, ...)
    tunable = {f.name for f in dataclasses.fields(Athlete)} - {"body_mass_kg", "feet_mm"}
    over = {k: options.pop(k) for k in list(options) if k in tunable}
    if over:
        try:
            values: dict[str, Any] = {k: float(v) for k, v in over.items()}
            athlete = dataclasses.replace(athlete, **values)
        except (TypeError, ValueError):
            raise InputError(f"athlete options must be numbers, got {over}") from None
    scenario = scenario_for(protocol)
    stance = leg if scenario in NEEDS_LEG | OPTIONAL_LEG else None
    if scenario == "hopping" and not options.pop("single_leg", False):
        stance = None
    length = _build_length(protocol, scenario, duration_s, options)
    motion = build_motion(scenario, rng=rng, athlete=athlete, duration_s=length, leg=stance, options=options)
    if duration_s is None:
        end = motion.extra.get("natural_end_s")
        if end is not None and end < length:
            motion = _trim(motion, float(end))
    proto = PROTOCOLS.get(protocol)
    if proto is not None and not proto.needs_leg:
        # a protocol on both legs has no stance leg (stepping's leg is the first foot to lift)
        motion.stance_leg = None
    motion.athlete = athlete
    return motion


def simulate_trial(
    protocol: str,
    *,
    seed: int,
    leg: str | None = "left",
    duration_s: float | None = None,
    rate_hz: float = 80.0,
    body_mass_kg: float = 70.0,
    noise: bool = True,
    cells: SimCells | None = None,
    geometry: Geometry | None = None,
    faults: list[dict[str, Any]] | None = None,
    **protocol_options: Any,
) -> SimTrial:
    """Simulate one trial of ``protocol``; the same ``seed`` gives the same trial.

    Parameters
    ----------
    protocol : one of :data:`hardware.sim.athlete.SIM_PROTOCOLS` (the station's protocols
        plus ``hopping``).
    seed : seeds every random draw (athlete, motion, cells, noise, timing).
    leg : stance leg of single-leg protocols (the side of a weight shift); ignored by
        bilateral ones (the first foot to lift when stepping).
    duration_s : recording length; ``None`` = the protocol's natural length (a squat set's
        reps, a single-leg stance until the touch-down, the protocol's default otherwise).
    rate_hz : frame rate, 10-1000 Hz.
    noise : ``False`` gives noise-free counts (no HX711 noise, drift or spikes; the
        frame timing jitter stays).
    cells, geometry : hidden cell truth and plate geometry (random cells / default
        geometry when omitted).
    faults : sensor faults, as the endless source injects them: dicts with ``channel``
        (name or index), ``kind`` (``dead``, ``saturated``, ``spikes``, ``stuck``),
        ``start_s`` (default 0) and ``duration_s`` (default: to the end).
    protocol_options : per protocol, e.g. ``reps``, ``depth_m``, ``tempo_s``,
        ``touchdown_prob``, ``touchdown_reps`` (squat); ``lift_off_s``, ``hold_s``,
        ``never_touch_down`` (single-leg stance); ``target_pct`` (weight shift);
        ``start``, ``flight_s``, ``peak_bw`` (hop_and_stick); ``hops``, ``contact_s``
        (hopping); ``double_support_s``, ``swing_s`` (stepping); sway targets ``bi_ml``,
        ``bi_ap``, ``sl_ml``, ``sl_ap`` (RMS, mm). See docs/simulator.md.
    """
    _check(protocol, leg, duration_s, float(rate_hz), float(body_mass_kg))
    geometry = geometry or Geometry()
    ss = np.random.SeedSequence(int(seed))
    r_athlete, r_motion, r_cells, r_counts, r_time = (np.random.default_rng(s) for s in ss.spawn(5))
    if cells is None:
        cells = SimCells.random(r_cells)
    if not noise:
        cells = cells.quiet()
    options = dict(protocol_options)
    athlete = Athlete.draw(r_athlete, body_mass_kg=float(body_mass_kg), geometry=geometry)
    motion = protocol_motion(protocol, rng=r_motion, athlete=athlete, leg=leg, duration_s=duration_s,
                             options=options)
    stance = motion.stance_leg
    truth = truth_from_motion(motion, body_mass_kg=float(body_mass_kg))
    dur = float(motion.t_s[-1])
    t_s = frame_times(r_time, dur, float(rate_hz))
    t0_ns = int(r_time.integers(10**11, 10**13))
    t_ns = t0_ns + np.rint(t_s * 1e9).astype(np.int64)
    at = truth.at(t_s)
    mom = truth._moments
    mx = np.column_stack([np.interp(t_s, truth.t_s, mom[:, p, 0]) for p in range(2)])
    my = np.column_stack([np.interp(t_s, truth.t_s, mom[:, p, 1]) for p in range(2)])
    true_loads = split_loads(at["fz_n"], mx, my, geometry)
    drift, _ = cells.drift_counts(t_s, r_counts)
    counts, saturated, spikes = cells.to_counts(true_loads, drift, r_counts)
    bad = saturated | spikes
    if faults:
        apply_faults(t_s, counts, bad, faults, r_counts)
    invalid = (bad.astype(np.int64) << np.arange(len(CHANNELS), dtype=np.int64)).sum(axis=1)
    loads = cells.true_calibration(geometry).counts_to_newtons(forward_fill(counts, bad))
    return SimTrial(
        protocol=protocol,
        leg=stance,
        seed=int(seed),
        rate_hz=float(rate_hz),
        geometry=geometry,
        cells=cells,
        athlete=motion.athlete or athlete,
        t_ns=t_ns,
        t_s=t_s,
        counts=counts,
        invalid=invalid,
        loads_n=loads,
        true_loads_n=true_loads,
        drift_counts=drift,
        truth=truth,
        options={**protocol_options, **({"faults": faults} if faults else {})},
    )


def _trim(m: Motion, end_s: float) -> Motion:
    keep = m.t_s <= end_s + 1e-9
    return Motion(
        t_s=m.t_s[keep], fz_n=m.fz_n[keep], cop_mm=m.cop_mm[keep],
        pelvic_obliquity_deg=m.pelvic_obliquity_deg[keep], knee_fppa_deg=m.knee_fppa_deg[keep],
        protocol=m.protocol, stance_leg=m.stance_leg, reps=m.reps, athlete=m.athlete,
        extra={k: (v[keep] if isinstance(v, np.ndarray) and v.shape[:1] == keep.shape else v) for k, v in m.extra.items()},
    )
