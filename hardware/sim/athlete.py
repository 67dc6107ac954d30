"""The simulated athlete: body, feet and what each scenario makes them do.

A scenario plays a station protocol (its ``Protocol.sim_scenario``, same name today) or is
the simulator's own (:data:`OWN_SCENARIOS`: ``hopping``; and ``quiet_stance``, the endless
stance between the director's runs). Which scenarios need a leg, which are single-leg and
the default number of squat reps come from :mod:`station.core.protocols`.

Everything here is noise-free physics on a fine time grid (1 kHz):

- **Vertical force.** Newton: the total vertical force on both plates is
  ``m * (g + a_com)``, with ``a_com`` the vertical acceleration of the centre of mass. For
  squats ``a_com`` is the second derivative of a minimum-jerk descent and rise
  (Flash & Hogan 1985), which gives the unweighting at the start of the descent and the
  braking at the bottom; for hops the contact force is a half-sine whose impulse carries
  the body through the next flight (``integral F dt = m g (t_contact + t_flight)``);
  landings rise within tens of ms to 2-3 body weights and settle as a damped oscillation.
- **Split between the feet.** Statics: the combined CoP is the force-weighted mean of
  the two foot CoPs, so in bilateral stance the load share of the right foot is
  ``(x_c - x_left) / (x_right - x_left)`` (the load/unload mechanism of ML balance,
  Winter 1995). Lift-off and touch-down ramp a foot's share with a quarter-cosine (smooth on
  the loaded side, a finite slope at zero), so the 20 N crossing is sharply defined.
- **Sway.** :mod:`hardware.sim.sway` (inverted pendulum driven by filtered noise).
- **Camera angles.** Pelvic obliquity (+ = drop on the unsupported side) and knee frontal
  plane projection angle (+ = valgus) of the stance leg, rising with single-leg support
  and squat depth.

Builders return a :class:`Motion`; contacts and the other event truths are derived from
its force in :mod:`hardware.sim.trial`, so they agree with the force by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hardware.sim.sway import SwayNoise
from station.core.errors import InputError
from station.core.geometry import Geometry
from station.core.physics import G_M_S2
from station.core.protocols import DEFAULT_REPS, PROTOCOL_NAMES, PROTOCOLS

#: Fine grid of the physics (s).
DT = 1e-3
#: Grid of the sway generators (Hz); sway has no content above ~5 Hz, so it is generated
#: at 200 Hz and interpolated onto the 1 kHz grid.
SWAY_FS = 200.0

#: Unit noise signals each builder receives, in this column order.
NOISE_COLUMNS = (
    "bi_ml", "bi_ap", "left_ml", "left_ap", "right_ml", "right_ap", "vertical", "pelvis", "knee",
)
#: CoM low-pass cut-off per noise column (Hz): bilateral sway slow, single-leg sway faster.
NOISE_FC = (0.35, 0.3, 0.7, 0.6, 0.7, 0.6, 1.5, 0.5, 0.5)

#: The simulator's own scenarios that play no station protocol -> their natural length (s):
#: repeated hops, on both legs or (option ``single_leg``) on one.
OWN_SCENARIOS: dict[str, float] = {"hopping": 12.0}
#: What a simulated trial can play: the station's protocols and the simulator's own scenarios.
SIM_PROTOCOLS = (*PROTOCOL_NAMES, *OWN_SCENARIOS)
FOOT = {"left": 0, "right": 1}


@dataclass(frozen=True)
class Athlete:
    """Per-seed body and habits. Sway figures are CoP RMS targets (mm)."""

    body_mass_kg: float
    height_m: float
    feet_mm: np.ndarray  # (2, 2): mean CoP under [left, right] foot, (x, y) lab frame
    bi_ml_rms_mm: float
    bi_ap_rms_mm: float
    sl_ml_rms_mm: float
    sl_ap_rms_mm: float
    local_rms_mm: float  # sway of each foot's own CoP in bilateral stance
    stand_fppa_deg: float
    peak_fppa_deg: float
    sl_pelvic_drop_deg: float
    peak_pelvic_drop_deg: float
    squat_depth_m: float

    @property
    def weight_n(self) -> float:
        return self.body_mass_kg * G_M_S2

    @classmethod
    def draw(cls, rng: np.random.Generator, *, body_mass_kg: float, geometry: Geometry) -> Athlete:
        feet = np.array([geometry.plates[p].center_mm for p in ("left", "right")], dtype=float)
        feet += np.column_stack([rng.uniform(-15, 15, 2), rng.uniform(-25, 25, 2)])
        bi_ml = rng.uniform(2.8, 4.0)
        sl_ml = rng.uniform(6.0, 8.5)
        values: dict[str, Any] = dict(
            body_mass_kg=body_mass_kg,
            height_m=float(np.clip(1.0 + 0.0065 * body_mass_kg + rng.normal(0, 0.05), 1.45, 2.1)),
            feet_mm=feet,
            bi_ml_rms_mm=bi_ml,
            bi_ap_rms_mm=bi_ml * rng.uniform(1.3, 1.7),
            sl_ml_rms_mm=sl_ml,
            sl_ap_rms_mm=sl_ml * rng.uniform(1.0, 1.3),
            local_rms_mm=rng.uniform(0.8, 1.5),
            stand_fppa_deg=rng.uniform(1.0, 4.0),
            peak_fppa_deg=float(np.clip(rng.normal(11.0, 5.0), 2.0, 25.0)),
            sl_pelvic_drop_deg=rng.uniform(0.5, 3.0),
            peak_pelvic_drop_deg=rng.uniform(3.0, 9.0),
            squat_depth_m=rng.uniform(0.15, 0.25),
        )
        return cls(**values)


#: A weak side (:func:`weak_side_overrides`): single-leg sway on that leg times this factor...
WEAK_SIDE_SWAY_FACTOR = 1.6
#: ... and this much more contralateral pelvic drop (degrees), in stance and at squat depth:
#: well above the 2-D measure's smallest detectable difference (2.7-2.8 degrees), so a
#: summary must see it.
WEAK_SIDE_PELVIC_DROP_DEG = 5.0


def weak_side_overrides(athlete: Athlete) -> dict[str, float]:
    """Athlete parameters of a stance on the weak leg: weaker hip abductors show as more
    single-leg sway and more pelvic drop on the unsupported side. Given as per-trial
    options (:func:`hardware.sim.trial.protocol_motion` takes athlete parameters)."""
    return {
        "sl_ml_rms_mm": athlete.sl_ml_rms_mm * WEAK_SIDE_SWAY_FACTOR,
        "sl_ap_rms_mm": athlete.sl_ap_rms_mm * WEAK_SIDE_SWAY_FACTOR,
        "sl_pelvic_drop_deg": athlete.sl_pelvic_drop_deg + WEAK_SIDE_PELVIC_DROP_DEG,
        "peak_pelvic_drop_deg": athlete.peak_pelvic_drop_deg + WEAK_SIDE_PELVIC_DROP_DEG,
    }

@dataclass
class Motion:
    """Noise-free physics of one scenario on the fine grid."""

    t_s: np.ndarray            # (M,)
    fz_n: np.ndarray           # (M, 2) per plate [left, right]
    cop_mm: np.ndarray         # (M, 2, 2) per-foot CoP [plate, (x, y)], defined everywhere
    pelvic_obliquity_deg: np.ndarray
    knee_fppa_deg: np.ndarray
    protocol: str              # the scenario played (a station protocol's name, or the simulator's own)
    stance_leg: str | None
    reps: list[dict[str, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    athlete: Athlete | None = None  # who did it (with any per-trial parameter overrides)


# ---------------------------------------------------------------- shape helpers


def _u(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    return np.asarray(np.clip((t - t0) / dur, 0.0, 1.0))


def ramp_down(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """1 before ``t0``, 0 after ``t0 + dur``: quarter cosine (zero slope at the top,
    finite slope where it reaches zero)."""
    return np.asarray(np.cos(0.5 * np.pi * _u(t, t0, dur)))


def ramp_up(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """0 before ``t0``, 1 after: quarter sine (finite slope leaving zero)."""
    return np.asarray(np.sin(0.5 * np.pi * _u(t, t0, dur)))


def minjerk(t: np.ndarray, t0: float, dur: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-jerk 0 -> 1 transition and its second derivative (1/s^2); ``t`` sorted.

    Only the samples inside the transition are computed (a trial has many short ones)."""
    pos = np.zeros(len(t))
    acc = np.zeros(len(t))
    i0, i1 = np.searchsorted(t, [t0, t0 + dur], side="right")
    pos[i1:] = 1.0
    u = (t[i0:i1] - t0) / dur
    pos[i0:i1] = u**3 * (10 - 15 * u + 6 * u**2)
    acc[i0:i1] = (60 * u - 180 * u**2 + 120 * u**3) / dur**2
    return pos, acc


def noise_block(rng: np.random.Generator, n_fine: int) -> np.ndarray:
    """(n_fine, 9) unit sway/noise signals for one finite trial on the fine grid, each
    rescaled to a realised sd of 1 (so a trial's sway is the amplitude asked for)."""
    n_coarse = int(np.ceil(n_fine * DT * SWAY_FS)) + 2
    gen = SwayNoise(rng, len(NOISE_FC), fs_hz=SWAY_FS, com_fc_hz=NOISE_FC, h_m=0.95)
    x = gen.next(n_coarse)
    x -= x.mean(axis=0)
    x /= np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    return upsample(x, n_fine)


def upsample(coarse: np.ndarray, n_fine: int) -> np.ndarray:
    """Linear interpolation of the uniform SWAY_FS grid onto the first ``n_fine`` fine
    samples. Returned as the transpose of a (k, n) array, so each column is contiguous."""
    x = np.arange(n_fine) * (DT * SWAY_FS)
    i = np.minimum(x.astype(np.int64), len(coarse) - 2)
    frac = x - i
    cols = np.ascontiguousarray(coarse.T)
    out = np.empty((cols.shape[0], n_fine))
    for k, c in enumerate(cols):
        lo = c[i]
        out[k] = lo + (c[i + 1] - lo) * frac
    return out.T


# ---------------------------------------------------------------- building blocks


class _Build:
    """Shared state of one protocol build."""

    def __init__(self, athlete: Athlete, t: np.ndarray, noise: np.ndarray, rng: np.random.Generator,
                 leg: str | None, sway_scale: dict[str, float]) -> None:
        self.a = athlete
        self.t = t
        self.n = noise
        self.rng = rng
        self.leg = leg
        self.s = FOOT[leg] if leg else 0         # stance foot index
        self.o = 1 - self.s                        # other foot index
        self.bi_ml = sway_scale.get("bi_ml", athlete.bi_ml_rms_mm)
        self.bi_ap = sway_scale.get("bi_ap", athlete.bi_ap_rms_mm)
        self.sl_ml = sway_scale.get("sl_ml", athlete.sl_ml_rms_mm)
        self.sl_ap = sway_scale.get("sl_ap", athlete.sl_ap_rms_mm)
        m = len(t)
        # m (g + a): a small vertical CoM acceleration in stance (breathing, heartbeat;
        # 0.06 m/s^2 sd, about +-4 N for 70 kg); protocols add their own
        self.total = np.full(m, athlete.weight_n) + athlete.body_mass_kg * 0.06 * noise[:, 6]
        self.depth = np.zeros(m)                   # squat depth fraction 0..1
        self.single = np.zeros(m)                  # 0 bilateral .. 1 on the stance leg only
        self.extra_ml = np.zeros(m)                # extra ML offset of the stance foot CoP
        self.extra_ap = np.zeros(m)
        self.sway_gain = np.ones(m)                # multiplies single-leg sway (grows at depth)

    def foot_cops(self) -> np.ndarray:
        """(M, 2, 2) each foot's own CoP: its mean position, the common AP sway of
        bilateral stance, its own small sway, or the full single-leg sway (plus any
        protocol offset) while it carries the body alone."""
        a, n = self.a, self.n
        cops = np.empty((len(self.t), 2, 2))
        common_ap = self.bi_ap * n[:, 1]
        for f, (ml, ap) in enumerate(((2, 3), (4, 5))):
            # a foot's own sway: small in bilateral stance, full single-leg sway when it
            # carries the body alone (blended by self.single for the stance foot)
            amp_ml = np.full(len(self.t), a.local_rms_mm)
            amp_ap = np.full(len(self.t), a.local_rms_mm)
            ap_common = common_ap.copy()
            if self.leg is not None and f == self.s:
                w = self.single
                amp_ml = amp_ml + (self.sl_ml * self.sway_gain - amp_ml) * w
                amp_ap = amp_ap + (self.sl_ap * self.sway_gain - amp_ap) * w
                ap_common = common_ap * (1.0 - w)
            cops[:, f, 0] = a.feet_mm[f, 0] + amp_ml * n[:, ml]
            cops[:, f, 1] = a.feet_mm[f, 1] + ap_common + amp_ap * n[:, ap]
            if self.leg is not None and f == self.s:
                cops[:, f, 0] += self.extra_ml
                cops[:, f, 1] += self.extra_ap
        return cops

    def bilateral_share_right(self, cops: np.ndarray, target_share_right: np.ndarray | float | None = None) -> np.ndarray:
        """Right foot's load share from the statics of the desired combined ML CoP."""
        a = self.a
        mid = a.feet_mm[:, 0].mean()
        xc = mid + self.bi_ml * self.n[:, 0]
        if target_share_right is not None:
            xc = xc + (a.feet_mm[0, 0] + np.asarray(target_share_right) * (a.feet_mm[1, 0] - a.feet_mm[0, 0]) - mid)
        xl, xr = cops[:, 0, 0], cops[:, 1, 0]
        return np.asarray(np.clip((xc - xl) / (xr - xl), 0.02, 0.98))

    def angles(self) -> tuple[np.ndarray, np.ndarray]:
        a, n = self.a, self.n
        pelvis = self.single * a.sl_pelvic_drop_deg + self.depth * (a.peak_pelvic_drop_deg - a.sl_pelvic_drop_deg)
        pelvis = pelvis + 0.4 * n[:, 7]
        knee = a.stand_fppa_deg + self.depth * (a.peak_fppa_deg - a.stand_fppa_deg) + 0.3 * n[:, 8]
        return pelvis, knee

    def motion(self, protocol: str, fz: np.ndarray, cops: np.ndarray, **kw: Any) -> Motion:
        pelvis, knee = self.angles()
        return Motion(self.t, np.maximum(fz, 0.0), cops, pelvis, knee, protocol, self.leg, **kw)

    def split(self, share_right: np.ndarray) -> np.ndarray:
        return np.column_stack([self.total * (1.0 - share_right), self.total * share_right])


def _opt(options: dict[str, Any], key: str, default: Callable[[], Any]) -> Any:
    """Pop option ``key``; numbers are checked and converted to the default's type.

    The default is drawn even when the option is given, so giving one option does not
    shift the random draws of the others."""
    d = default()
    v = options.pop(key, None)
    if v is None:
        return d
    if isinstance(d, int | float) and not isinstance(d, bool):
        try:
            if isinstance(v, bool):
                raise ValueError
            x = float(v)
        except (TypeError, ValueError):
            raise InputError(f"option {key} must be a number, got {v!r}") from None
        if not np.isfinite(x):
            raise InputError(f"option {key} must be finite, got {v!r}")
        if isinstance(d, int):
            if x != int(x):
                raise InputError(f"option {key} must be a whole number, got {v!r}")
            return int(x)
        return x
    if isinstance(d, str) and not isinstance(v, str):
        raise InputError(f"option {key} must be text, got {v!r}")
    return v


def _within(name: str, value: float, lo: float, hi: float) -> float:
    if not lo <= value <= hi:
        raise InputError(f"option {name} must be between {lo:g} and {hi:g}, got {value:g}")
    return value


def _flag(options: dict[str, Any], key: str) -> bool:
    v = options.pop(key, False)
    if not isinstance(v, bool | int) or v not in (0, 1):
        raise InputError(f"option {key} must be true or false, got {v!r}")
    return bool(v)


# ---------------------------------------------------------------- protocols


def _bilateral(b: _Build, o: dict[str, Any]) -> Motion:
    cops = b.foot_cops()
    return b.motion("bilateral_stance", b.split(b.bilateral_share_right(cops)), cops)


def _weight_shift(b: _Build, o: dict[str, Any]) -> Motion:
    rng, t = b.rng, b.t
    t_shift = _within("shift_s", _opt(o, "shift_s", lambda: rng.uniform(2.0, 3.0)), 0.5, 3600.0)
    dur = _within("shift_duration_s", _opt(o, "shift_duration_s", lambda: rng.uniform(1.0, 2.0)), 0.2, 30.0)
    target = float(_opt(o, "target_pct", lambda: rng.uniform(80.0, 90.0))) / 100.0
    if not 0.5 <= target <= 0.98:
        raise InputError(f"target_pct must be between 50 and 98, got {target * 100:g}")
    pos, _ = minjerk(t, t_shift, dur)
    share_leg = 0.5 + (target - 0.5) * pos
    share_right = share_leg if b.s == 1 else 1.0 - share_leg
    cops = b.foot_cops()
    fz = b.split(b.bilateral_share_right(cops, share_right))
    return b.motion("weight_shift", fz, cops, extra={"shift_s": t_shift, "shift_duration_s": dur,
                                                       "target_pct": 100 * target})


def _other_share(b: _Build, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plate forces when the other foot carries ``g`` times its bilateral share."""
    b.single = 1.0 - g
    cops = b.foot_cops()
    share_r = b.bilateral_share_right(cops)
    other = (share_r if b.o == 1 else 1.0 - share_r) * g
    share_right = other if b.o == 1 else 1.0 - other
    return b.split(share_right), cops


def _lift_off(b: _Build, o: dict[str, Any]) -> tuple[float, np.ndarray]:
    rng = b.rng
    t_lo = float(_opt(o, "lift_off_s", lambda: rng.uniform(1.0, 3.0)))
    transfer = rng.uniform(0.4, 0.7)
    if t_lo < transfer + 0.2:
        raise InputError(f"lift_off_s must be at least {transfer + 0.2:.1f} s (time to shift the weight)")
    return t_lo, ramp_down(b.t, t_lo - transfer, transfer)


def _touch(b: _Build, g: np.ndarray, t_on: float, dur: float, peak: float) -> np.ndarray:
    """Add a brief touch-down of the other foot to ``g`` (sine up, hold, cosine down)."""
    rise, fall = b.rng.uniform(0.04, 0.08), b.rng.uniform(0.06, 0.12)
    bump = peak * ramp_up(b.t, t_on, rise) * ramp_down(b.t, t_on + dur - fall, fall)
    return np.asarray(np.maximum(g, bump))


def _single_leg_stance(b: _Build, o: dict[str, Any]) -> Motion:
    rng, t = b.rng, b.t
    t_lo, g = _lift_off(b, o)
    never = _flag(o, "never_touch_down")
    hold = _within("hold_s", _opt(o, "hold_s", lambda: rng.uniform(8.0, 40.0)), 0.2, 3600.0)
    t_td = t_lo + hold
    if not never:
        g = np.maximum(g, ramp_up(t, t_td, rng.uniform(0.05, 0.1)))
    fz, cops = _other_share(b, g)
    return b.motion("single_leg_stance", fz, cops,
                    extra={"planned_touchdown_s": None if never else t_td, "natural_end_s": None if never else t_td + 1.5})


def _single_leg_squat(b: _Build, o: dict[str, Any]) -> Motion:
    rng, t, a = b.rng, b.t, b.a
    t_lo, g = _lift_off(b, o)
    n_reps = int(_opt(o, "reps", lambda: DEFAULT_REPS))
    if not 1 <= n_reps <= 50:
        raise InputError(f"reps must be between 1 and 50, got {n_reps}")
    depth = float(_opt(o, "depth_m", lambda: a.squat_depth_m))
    if not 0.03 <= depth <= 0.5:
        raise InputError(f"depth_m must be between 0.03 and 0.5 m, got {depth:g}")
    tempo = o.get("tempo_s")
    if tempo is not None:
        tempo = _opt(o, "tempo_s", lambda: 2.5)
    p_td = _within("touchdown_prob", _opt(o, "touchdown_prob", lambda: 0.1), 0.0, 1.0)
    td_reps = o.pop("touchdown_reps", None)
    if td_reps is not None and (not isinstance(td_reps, list | tuple | set)
                                or not all(isinstance(k, int) and not isinstance(k, bool) for k in td_reps)):
        raise InputError(f"option touchdown_reps must be a list of rep indices (0-based), got {td_reps!r}")
    grow = _within("sway_growth", _opt(o, "sway_growth", lambda: 0.8), 0.0, 5.0)
    z = np.zeros_like(t)
    acc = np.zeros_like(t)
    reps: list[dict[str, float]] = []
    start = t_lo + rng.uniform(1.2, 2.0)
    td_windows: list[tuple[float, float, float]] = []
    for k in range(n_reps):
        period = float(tempo) if tempo is not None else rng.uniform(2.0, 3.0)
        if not 1.0 <= period <= 10.0:
            raise InputError(f"tempo_s must be between 1 and 10 s per rep, got {period:g}")
        d_k = depth * rng.uniform(0.9, 1.1)
        t_down, t_hold = 0.45 * period, rng.uniform(0.0, 0.15)
        t_up = period - t_down - t_hold
        p1, a1 = minjerk(t, start, t_down)
        p2, a2 = minjerk(t, start + t_down + t_hold, t_up)
        z += -d_k * (p1 - p2)
        acc += -d_k * (a1 - a2)
        bottom = start + t_down + 0.5 * t_hold
        reps.append({"start_s": start, "bottom_s": bottom, "end_s": start + period})
        touch = rng.random() < p_td
        if td_reps is not None:
            touch = k in set(td_reps)
        if touch:
            td_windows.append((bottom + rng.uniform(-0.2, 0.2), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.7)))
        start += period + rng.uniform(0.6, 1.2)
    for t_on, dur, peak in td_windows:
        g = _touch(b, g, t_on, dur, peak)
    b.depth = np.clip(-z / max(depth, 1e-9), 0.0, 1.2)
    b.sway_gain = 1.0 + grow * b.depth
    medial = 1.0 if b.s == 0 else -1.0  # medial is +x for the left foot
    b.extra_ml = medial * 3.0 * b.depth
    b.total = b.total + a.body_mass_kg * acc
    fz, cops = _other_share(b, g)
    end = reps[-1]["end_s"] + rng.uniform(1.0, 1.5)
    return b.motion("single_leg_squat", fz, cops, reps=reps,
                    extra={"natural_end_s": end, "depth_m": depth, "com_z_m": z})


def _stepping(b: _Build, o: dict[str, Any]) -> Motion:
    rng, t, a = b.rng, b.t, b.a
    t0 = _within("start_s", _opt(o, "start_s", lambda: rng.uniform(1.0, 2.0)), 0.2, 600.0)
    ds_mean = _within("double_support_s", _opt(o, "double_support_s", lambda: rng.uniform(0.15, 0.25)), 0.05, 2.0)
    sw_mean = _within("swing_s", _opt(o, "swing_s", lambda: rng.uniform(0.35, 0.5)), 0.1, 5.0)
    amp_v = _within("bounce_m_s2", _opt(o, "bounce_m_s2", lambda: 1.0), 0.0, 5.0)
    cops = b.foot_cops()
    for f, (ml, ap) in enumerate(((2, 3), (4, 5))):  # marching: each foot sways like single-leg, smaller
        cops[:, f, 0] = a.feet_mm[f, 0] + 3.0 * b.n[:, ml]
        cops[:, f, 1] = a.feet_mm[f, 1] + 4.0 * b.n[:, ap]
    share_r = b.bilateral_share_right(cops)
    lift = b.s if b.leg else int(rng.integers(0, 2))  # first foot to lift
    end = t[-1]
    # piecewise-linear transfers: the share of the lifting foot falls to 0 over a double
    # support, stays 0 for its swing, then the foot takes the whole load in the next one
    knots_t = [t0]
    knots_r = [float(np.interp(t0, t, share_r))]
    phase_t, phase_v = [t0], [0.0]
    tk, k = t0, 0
    while tk < end + 2.0:
        ds = ds_mean * rng.uniform(0.85, 1.15)
        sw = sw_mean * rng.uniform(0.85, 1.15)
        stance = 1 - lift
        tk += ds
        knots_t.append(tk)
        knots_r.append(1.0 if stance == 1 else 0.0)
        tk += sw
        knots_t.append(tk)
        knots_r.append(knots_r[-1])
        k += 1
        phase_t.append(tk)
        phase_v.append(float(k))
        lift = stance
    r_knots = np.interp(t, knots_t, knots_r)
    share = np.where(t < t0, share_r, r_knots)
    phase = np.interp(t, phase_t, phase_v)
    # vertical bounce: the CoM dips and rises once per step (force peak in double support)
    # (zero mean, so the CoM neither rises nor sinks over the trial)
    a_z = amp_v * np.sin(2 * np.pi * phase) * ramp_up(t, t0, 0.5)
    b.total = b.total + a.body_mass_kg * a_z
    return b.motion("stepping", b.split(share), cops)


def _landing_profile(w: float, mass_kg: float, v_down: float, peak: float, t_rise: float,
                     tau: float, f_osc: float) -> tuple[np.ndarray, float]:
    """Vertical force of a landing from first contact on (fine grid, 6 s) and the time
    after which it stays within 5 % BW of body weight.

    Impact: a quarter sine to ``peak`` in ``t_rise``, then a damped oscillation about body
    weight. Momentum: the landing must stop the fall, ``integral (F - W) dt = m v_down``;
    what impact and oscillation do not absorb, a smooth absorption bump (knee and hip
    flexion, ``K (s/ta) exp(1 - s/ta)``, ta = 0.12 s) does.
    """
    tl = np.arange(0.0, 6.0, DT)
    s = np.clip(tl - t_rise, 0.0, None)
    f = np.where(
        tl < t_rise,
        peak * np.sin(0.5 * np.pi * tl / t_rise),
        w + (peak - w) * np.exp(-s / tau) * np.cos(2 * np.pi * f_osc * s),
    )
    ta = 0.12
    deficit = mass_kg * v_down - float(np.sum(f - w) * DT)
    f = f + (tl >= t_rise) * deficit / (ta * np.e) * (s / ta) * np.exp(1.0 - s / ta)
    f = np.maximum(f, 0.25 * w)
    outside = np.flatnonzero(np.abs(f - w) > 0.05 * w)
    return f, float(tl[outside[-1]] + DT) if outside.size else 0.0


def _place(t: np.ndarray, t0: float, profile: np.ndarray) -> np.ndarray:
    """``profile`` (fine grid from 0) placed at ``t0`` on ``t``; its last value after it."""
    tl = np.arange(len(profile)) * DT
    return np.interp(t - t0, tl, profile)


def _push_peak(t: np.ndarray, w: float, mass_kg: float, v_up: float,
               build: Callable[[float], np.ndarray], lo: float, hi: float) -> float:
    """The push-off peak force whose impulse above body weight over ``[lo, hi)`` launches
    the body at ``v_up`` (the profile is affine in its peak, so two trials solve it)."""
    m = (t >= lo) & (t < hi)
    i1 = float(np.sum(build(w)[m] - w) * DT)
    i2 = float(np.sum(build(2 * w)[m] - w) * DT)
    p = w + (mass_kg * v_up - i1) / (i2 - i1) * w
    return float(np.clip(p, 1.2 * w, 5.0 * w))


def _hop_force(t: np.ndarray, w: float, mass_kg: float, contacts: list[tuple[float, float, float]],
               t_push: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Force of a hop sequence: standing until ``t_push``, a countermovement and push-off,
    half-sine contacts ``(start, duration, peak)``, and a landing that settles to body
    weight. Each phase conserves momentum with the flights around it. Returns the force
    and the final landing's first contact time."""
    first_s, first_d, _ = contacts[0]
    peak_t = first_s + 0.5 * first_d
    takeoff = first_s + first_d
    dip_d = 0.4 * (peak_t - t_push)
    up, _ = minjerk(t, t_push + dip_d, peak_t - t_push - dip_d)
    cm = (t >= t_push) & (t < t_push + dip_d)
    rise = (t >= t_push + dip_d) & (t < peak_t)
    fall = (t >= peak_t) & (t < takeoff)

    def push(p: float) -> np.ndarray:
        f = np.full_like(t, w)
        f[cm] = w - 0.3 * w * np.sin(np.pi * (t[cm] - t_push) / dip_d)
        f[rise] = w + (p - w) * up[rise]
        f[fall] = p * np.sin(np.pi * (t[fall] - first_s) / first_d)
        f[t >= takeoff] = 0.0
        return f

    first_flight = contacts[1][0] - takeoff
    p0 = _push_peak(t, w, mass_kg, 0.5 * G_M_S2 * first_flight, push, t_push, takeoff)
    f = push(p0)
    for s, d, p in contacts[1:-1]:
        m = (t >= s) & (t < s + d)
        f[m] = p * np.sin(np.pi * (t[m] - s) / d)
    s_land, d_land, p_land = contacts[-1]
    last_flight = s_land - (contacts[-2][0] + contacts[-2][1])
    profile, _ = _landing_profile(w, mass_kg, 0.5 * G_M_S2 * last_flight, p_land, 0.5 * d_land,
                                  tau=rng.uniform(0.1, 0.2), f_osc=rng.uniform(2.0, 3.0))
    f = np.where(t >= s_land, _place(t, s_land, profile), f)
    return f, s_land


def _hopping(b: _Build, o: dict[str, Any]) -> Motion:
    rng, t, a = b.rng, b.t, b.a
    n_hops = int(_within("hops", _opt(o, "hops", lambda: 10), 1, 500))
    tc_mean = _within("contact_s", _opt(o, "contact_s", lambda: rng.uniform(0.2, 0.28)), 0.05, 2.0)
    tf_mean = _within("flight_s", _opt(o, "flight_s", lambda: rng.uniform(0.2, 0.3)), 0.05, 2.0)
    t_push = _within("start_s", _opt(o, "start_s", lambda: rng.uniform(1.0, 2.0)), 0.5, 600.0)
    w = a.weight_n
    contacts: list[tuple[float, float, float]] = []
    s = t_push + 0.5
    for _ in range(n_hops + 1):
        d = tc_mean * rng.uniform(0.9, 1.1)
        tf = tf_mean * rng.uniform(0.9, 1.1)
        contacts.append((s - 0.5 * d if not contacts else s, d, 0.5 * np.pi * w * (d + tf) / d))
        s = contacts[-1][0] + d + tf
    # the first "contact" is the push-off from standing; its start is virtual
    b.total, _ = _hop_force(t, w, a.body_mass_kg, contacts, t_push, rng)
    if b.leg:
        g = ramp_down(t, t_push - 0.6, 0.5)  # shift onto the hopping leg first
        fz, cops = _other_share(b, g)
    else:
        cops = b.foot_cops()
        fz = b.split(b.bilateral_share_right(cops))
    return b.motion("hopping", fz, cops, extra={"hops": n_hops})


def _hop_and_stick(b: _Build, o: dict[str, Any]) -> Motion:
    rng, t, a = b.rng, b.t, b.a
    w = a.weight_n
    # default as the station's instructions: from behind the plates onto the stance plate
    start = str(_opt(o, "start", lambda: "off_plate"))
    if start not in ("other_plate", "both", "off_plate"):
        raise InputError(f"start must be other_plate, both or off_plate, got {start!r}")
    tf = _within("flight_s", _opt(o, "flight_s", lambda: rng.uniform(0.25, 0.4)), 0.05, 1.5)
    peak = _within("peak_bw", _opt(o, "peak_bw", lambda: rng.uniform(2.2, 3.0)), 1.2, 8.0) * w
    tau = _within("settle_tau_s", _opt(o, "settle_tau_s", lambda: rng.uniform(0.12, 0.2)), 0.02, 3.0)
    f_osc = rng.uniform(2.0, 3.0)
    t_rise = rng.uniform(0.04, 0.07)
    p_td = _within("touchdown_prob", _opt(o, "touchdown_prob", lambda: 0.0), 0.0, 1.0)
    if start == "off_plate":
        t_land = _within("landing_at_s", _opt(o, "landing_at_s", lambda: rng.uniform(1.0, 2.0)), 0.2, 3600.0)
        pre = np.zeros_like(t)
        takeoff: float | None = None
    else:
        t_push = _within("push_s", _opt(o, "push_s", lambda: rng.uniform(2.5, 3.5)), 1.5, 3600.0)
        t_fall = 0.1
        t_peak = t_push + 0.4
        takeoff = t_peak + t_fall
        t_land = takeoff + tf
        dip = (t >= t_push) & (t < t_push + 0.16)
        up, _ = minjerk(t, t_push + 0.16, t_peak - t_push - 0.16)
        rise = (t >= t_push + 0.16) & (t < t_peak)
        fall = (t >= t_peak) & (t < takeoff)

        def push(p: float) -> np.ndarray:
            f = np.full_like(t, w)
            f[dip] = w - 0.3 * w * np.sin(np.pi * (t[dip] - t_push) / 0.16)
            f[rise] = w + (p - w) * up[rise]
            f[fall] = p * np.cos(0.5 * np.pi * (t[fall] - t_peak) / t_fall)
            f[t >= takeoff] = 0.0
            return f

        # take-off speed for the flight time (same height): v = g * t_flight / 2
        pre = push(_push_peak(t, w, a.body_mass_kg, 0.5 * G_M_S2 * tf, push, t_push, takeoff))
    profile, tts = _landing_profile(w, a.body_mass_kg, 0.5 * G_M_S2 * tf, peak, t_rise, tau, f_osc)
    land = np.where(t >= t_land, _place(t, t_land, profile), 0.0)
    tau_l = np.clip(t - t_land, 0.0, None)
    b.total = b.total - w + np.where(t < t_land, pre, land)  # keep the small vertical noise
    b.total[(t >= (takeoff if takeoff is not None else 0.0)) & (t < t_land)] = 0.0
    if start == "off_plate":
        b.total[t < t_land] = 0.0
    # ML/AP perturbation of the stance foot after landing, decaying to quiet sway
    side = -1.0 if b.s == 0 else 1.0  # lateral of the stance foot
    off0 = side * rng.uniform(8.0, 20.0)
    tau2, f2 = rng.uniform(0.4, 0.8), rng.uniform(0.8, 1.5)
    env = np.exp(-tau_l / tau2) * (t >= t_land)
    b.extra_ml = off0 * env * np.cos(2 * np.pi * f2 * tau_l)
    b.extra_ap = 0.5 * abs(off0) * env * np.sin(2 * np.pi * f2 * tau_l)
    # who carries the load: before take-off the other foot (or both), after landing the stance foot
    stance_on = (t >= t_land).astype(float)
    b.single = stance_on
    cops = b.foot_cops()
    if start == "other_plate":
        lo = _within("lift_off_s", _opt(o, "lift_off_s", lambda: rng.uniform(1.0, 1.5)), 0.6, 3600.0)
        g_stance_pre = ramp_down(t, lo - 0.5, 0.5)  # stance foot lifts, athlete on the other leg
        share_r = b.bilateral_share_right(cops)
        s_stance = np.where(t < t_land, (share_r if b.s == 1 else 1 - share_r) * g_stance_pre, 1.0)
    elif start == "both":
        share_r = b.bilateral_share_right(cops)
        s_stance = np.where(t < t_land, share_r if b.s == 1 else 1 - share_r, 1.0)
    else:
        s_stance = np.ones_like(t)
    # optional brief touch-down of the other foot during the stick
    g = np.zeros_like(t)
    if rng.random() < p_td:
        g = _touch(b, g, t_land + rng.uniform(0.5, 1.5), rng.uniform(0.25, 0.5), rng.uniform(0.3, 0.6))
        s_stance = np.where(t >= t_land, 1.0 - 0.5 * g, s_stance)
    share_right = s_stance if b.s == 1 else 1.0 - s_stance
    return b.motion(
        "hop_and_stick", b.split(share_right), cops,
        extra={"start": start, "takeoff_nominal_s": takeoff, "landing_nominal_s": t_land,
               "peak_force_n": peak, "settle_tau_s": tau, "settle_hz": f_osc,
               "stabilization_after_contact_s": float(tts)},
    )


BUILDERS: dict[str, Callable[[_Build, dict[str, Any]], Motion]] = {
    "bilateral_stance": _bilateral,
    "quiet_stance": _bilateral,
    "weight_shift": _weight_shift,
    "single_leg_stance": _single_leg_stance,
    "single_leg_squat": _single_leg_squat,
    "stepping": _stepping,
    "hopping": _hopping,
    "hop_and_stick": _hop_and_stick,
}
#: Scenarios that need ``leg`` (the stance leg / the side a weight shift goes to): those
#: playing a protocol that names a leg.
NEEDS_LEG = frozenset(p.sim_scenario for p in PROTOCOLS.values() if p.needs_leg)
#: Scenarios that use ``leg`` when given without needing it: the first foot to lift
#: (stepping), the hopping leg (hopping).
OPTIONAL_LEG = frozenset({"stepping", "hopping"})
#: Scenarios on one leg: those playing a single-leg protocol (hopping is when given a leg).
SINGLE_LEG = frozenset(p.sim_scenario for p in PROTOCOLS.values() if p.single_leg)


def scenario_for(protocol: str) -> str:
    """The scenario that plays ``protocol``: a station protocol's ``sim_scenario``, or the
    simulator's own scenario of that name; :class:`InputError` for anything else."""
    proto = PROTOCOLS.get(protocol)
    if proto is not None:
        return proto.sim_scenario
    if protocol in OWN_SCENARIOS:
        return protocol
    raise InputError(f"unknown protocol {protocol!r}", hint=f"Use one of: {', '.join((*PROTOCOLS, *OWN_SCENARIOS))}.")


def build_motion(
    scenario: str,
    *,
    rng: np.random.Generator,
    athlete: Athlete,
    duration_s: float,
    leg: str | None,
    options: dict[str, Any],
    noise: np.ndarray | None = None,
) -> Motion:
    """Noise-free physics of ``scenario`` on the fine grid over ``[0, duration_s]``.

    ``leg`` is dropped for scenarios that use none (bilateral stance) and defaults to
    "left" for those that need one. ``options`` are consumed (popped); what remains is
    unknown and refused.
    """
    if scenario not in BUILDERS:
        raise InputError(f"unknown scenario {scenario!r}", hint=f"Use one of: {', '.join(BUILDERS)}.")
    if leg is not None and leg not in FOOT:
        raise InputError(f"leg must be left or right, got {leg!r}")
    if scenario in NEEDS_LEG and leg is None:
        leg = "left"
    n = int(round(duration_s / DT)) + 1
    t = np.arange(n) * DT
    if noise is None:
        noise = noise_block(rng, n)
    opts = dict(options)
    scale = {k: float(opts.pop(k)) for k in ("bi_ml", "bi_ap", "sl_ml", "sl_ap") if opts.get(k) is not None}
    b = _Build(athlete, t, noise, rng, leg if scenario in NEEDS_LEG | OPTIONAL_LEG else None, scale)
    motion = BUILDERS[scenario](b, opts)
    if opts:
        raise InputError(f"unknown option(s) for {scenario}: {', '.join(sorted(opts))}")
    return motion
