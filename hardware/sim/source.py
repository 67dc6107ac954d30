"""An endless simulated load-cell array (:class:`SimLoadCellSource`).

It behaves like the HX711 backend as the acquisition sees it: frames of eight raw counts
on CLOCK_MONOTONIC, bad reads (out-of-range codes, spikes, a dead chip) flagged in
``invalid`` with the channel's last valid value held, counters in :meth:`health`, and a
:class:`~station.core.errors.HardwareError` while the whole array is gone.

What stands on the plates is a *scenario* (``empty``, ``quiet_stance`` or any protocol
of :func:`hardware.sim.simulate_trial`), plus dead weights placed for calibration. The
physics runs on a 1 kHz grid a few seconds ahead; frames are produced in vectorised
chunks, so the source delivers far more than 16,000 frames/s unpaced.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from hardware.base import HX711_CODE_MAX, ChannelHealth, LoadCellFrame, LoadCellSource
from hardware.sim.athlete import (
    DT,
    SIM_PROTOCOLS,
    SWAY_FS,
    Athlete,
    Motion,
    build_motion,
    minjerk,
    upsample,
)
from hardware.sim.cells import CODE_ALL_ONES, N_CH, SimCells, split_loads
from hardware.sim.sway import SwayNoise
from hardware.sim.trial import (
    FAULT_KINDS,
    JITTER_MAX_FRACTION,
    JITTER_SD_S,
    SPIKE_BURST_FRACTION,
    GroundTruth,
    protocol_motion,
    truth_from_motion,
)
from station.core.errors import HardwareError, InputError
from station.core.geometry import CHANNELS, PLATES, Geometry
from station.core.physics import G_M_S2

SCENARIOS = ("empty", "quiet_stance", *SIM_PROTOCOLS)
#: Length of the blend between scenarios (s): the athlete steps on, off or over.
CROSSFADE_S = 0.5
#: Quiet stance between two runs of a looped protocol (s).
LOOP_PAUSE_S = 3.0
#: A paced source that falls further behind than this drops the missed frames (s), as
#: real chips overwrite unread samples; shorter stalls are caught up.
MAX_CATCH_UP_S = 1.0


@dataclass
class _Mass:
    mass_kg: float
    position_mm: tuple[float, float]
    plate: int
    placed_s: float


@dataclass
class _Fault:
    kind: str
    until_s: float | None
    stuck_code: int | None = None


class _EndlessNoise:
    """The sway generator of :mod:`hardware.sim.athlete`, run without end (no seams)."""

    def __init__(self, rng: np.random.Generator) -> None:
        from hardware.sim.athlete import NOISE_FC

        self._gen = SwayNoise(rng, len(NOISE_FC), fs_hz=SWAY_FS, com_fc_hz=NOISE_FC)
        self._last = self._gen.next(1)[0]
        self._step = int(round(1.0 / (SWAY_FS * DT)))  # fine samples per coarse sample

    def fine(self, n: int) -> np.ndarray:
        """(n, 9) next fine-grid samples; ``n`` must be a multiple of the step (5)."""
        coarse = np.vstack([self._last, self._gen.next(n // self._step)])
        self._last = coarse[-1]
        return upsample(coarse, n + 1)[1:]


class _Engine:
    """The athlete's physics on a 1 kHz grid, extended on demand.

    Columns of the buffer: fz left/right, moments (Fz*x, Fz*y) left/right, pelvic
    obliquity, knee FPPA.
    """

    BLOCK = 20000  # fine samples per block of endless stance (20 s)

    def __init__(
        self, athlete: Athlete, rng: np.random.Generator, programs: np.random.SeedSequence | None = None
    ) -> None:
        self.athlete = athlete
        self.rng = rng
        # Each protocol draws from its own stream (the n-th protocol played gets the n-th
        # child), so what the athlete does for a seed does not depend on how long the
        # endless stance before it ran, i.e. on thread timing.
        self._programs = programs or np.random.SeedSequence(0)
        self.noise = _EndlessNoise(rng)
        self.t0 = 0.0
        self.buf = np.zeros((1, 8))
        self.mode = "empty"
        self.pending: list[tuple[str, np.ndarray]] = []  # blocks to append, with a fade flag
        self.fade_next = False
        self.loop: dict[str, Any] | None = None
        self.truth: GroundTruth | None = None
        self.truth_t0_s: float | None = None

    @property
    def end_s(self) -> float:
        return self.t0 + (len(self.buf) - 1) * DT

    def sample(self, t_s: np.ndarray) -> np.ndarray:
        while self.end_s < t_s[-1]:
            self._extend()
        # uniform grid: index arithmetic instead of a search
        x = np.clip((np.asarray(t_s) - self.t0) / DT, 0.0, len(self.buf) - 1.000001)
        i = x.astype(np.int64)
        frac = (x - i)[:, None]
        return np.asarray(self.buf[i] * (1.0 - frac) + self.buf[i + 1] * frac)

    def forget_before(self, t_s: float) -> None:
        drop = int((t_s - self.t0) / DT) - 1
        if drop > 2 * self.BLOCK:
            self.buf = self.buf[drop:]
            self.t0 += drop * DT

    # ---------------------------------------------------------------- programs

    def set_program(self, t_now: float, scenario: str, leg: str | None, options: dict[str, Any],
                    loop: bool) -> None:
        """Start ``scenario`` at the first grid point after ``t_now``."""
        while self.end_s < t_now:
            self._extend()
        keep = int(np.floor((t_now - self.t0) / DT)) + 1
        self.buf = self.buf[:keep]
        self.pending = []
        self.loop = None
        self.truth = None
        self.truth_t0_s = None
        if scenario in ("empty", "quiet_stance"):
            self.mode = scenario
            self.fade_next = True
            return
        self.mode = "quiet_stance"
        self.loop = {"protocol": scenario, "leg": leg, "options": dict(options)} if loop else None
        self._queue_protocol(scenario, leg, options)

    def _queue_protocol(self, protocol: str, leg: str | None, options: dict[str, Any]) -> None:
        opts = dict(options)
        duration = opts.pop("duration_s", None)
        rng = np.random.default_rng(self._programs.spawn(1)[0])
        motion = protocol_motion(protocol, rng=rng, athlete=self.athlete, leg=leg,
                                 duration_s=duration, options=opts)
        block = self._motion_block(motion)
        t_start = self.end_s + DT
        block = self._fade(block)
        # the truth of what is actually played, crossfade included
        fz = block[:, 0:2]
        mom = block[:, 2:6].reshape(-1, 2, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            cop = np.where(fz[:, :, None] > 1e-9, mom / fz[:, :, None], 0.0)
        played = Motion(motion.t_s, fz, cop, block[:, 6], block[:, 7], motion.protocol, motion.stance_leg,
                        reps=motion.reps, extra=motion.extra)
        self.pending.append(("protocol", block))
        self.truth = truth_from_motion(played, body_mass_kg=self.athlete.body_mass_kg)
        self.truth_t0_s = t_start
        self.fade_next = True

    @staticmethod
    def _motion_block(m: Motion) -> np.ndarray:
        mom = m.fz_n[:, :, None] * m.cop_mm
        return np.column_stack([m.fz_n, mom.reshape(-1, 4), m.pelvic_obliquity_deg, m.knee_fppa_deg])

    def _fade(self, block: np.ndarray) -> np.ndarray:
        """Blend from the buffer's last sample into ``block`` over CROSSFADE_S (forces and
        moments blend linearly, so the statics stay consistent)."""
        last = self.buf[-1]
        t = np.arange(len(block)) * DT + DT
        alpha, _ = minjerk(t, 0.0, CROSSFADE_S)
        out = block.copy()
        out[:] = last + (block - last) * alpha[:, None]
        return out

    def _extend(self) -> None:
        if self.pending:
            _, block = self.pending.pop(0)
            self.buf = np.vstack([self.buf, block])
            if not self.pending and self.loop is not None:
                self._append(self._stance_block(int(LOOP_PAUSE_S / DT)), fade=True)
                self._queue_protocol(self.loop["protocol"], self.loop["leg"], self.loop["options"])
            return
        n = self.BLOCK
        block = np.zeros((n, 8)) if self.mode == "empty" else self._stance_block(n)
        self._append(block, fade=self.fade_next)
        self.fade_next = False

    def _append(self, block: np.ndarray, *, fade: bool) -> None:
        self.buf = np.vstack([self.buf, self._fade(block) if fade else block])

    def _stance_block(self, n: int) -> np.ndarray:
        n = max(5, n - n % 5)
        motion = build_motion("quiet_stance", rng=self.rng, athlete=self.athlete, duration_s=(n - 1) * DT,
                              leg=None, options={}, noise=self.noise.fine(n))
        return self._motion_block(motion)


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Run a control method under the source's lock (it is called from other threads
    than the one reading frames)."""

    @functools.wraps(method)
    def wrapper(self: SimLoadCellSource, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


class SimLoadCellSource(LoadCellSource):
    """An endless, seeded stream of :class:`LoadCellFrame` from the simulated plates.

    Parameters
    ----------
    seed : seeds the athlete, the cells, the noise and the timing.
    rate_hz : frame rate (10-1000 Hz).
    paced : sleep to real time (CLOCK_MONOTONIC) at ``rate_hz``; otherwise return frames at
        once with timestamps advancing by 1/rate (plus jitter).
    cells, geometry : hidden cell truth (random when omitted) and plate geometry.
    body_mass_kg : the simulated athlete's mass.
    flag_spikes : flag random single-read spikes as a backend would (default); ``False``
        lets them through unflagged, to test a consumer's own spike rejection.
    """

    def __init__(
        self,
        *,
        seed: int,
        rate_hz: float = 80.0,
        paced: bool = True,
        cells: SimCells | None = None,
        geometry: Geometry | None = None,
        body_mass_kg: float = 70.0,
        flag_spikes: bool = True,
    ) -> None:
        if not 10.0 <= float(rate_hz) <= 1000.0:
            raise InputError(f"rate_hz must be between 10 and 1000 Hz, got {rate_hz:g}")
        self.rate_hz = float(rate_hz)
        self.paced = paced
        self.seed = int(seed)
        self.geometry = geometry or Geometry()
        self.flag_spikes = flag_spikes
        ss = np.random.SeedSequence([self.seed, 0x5151])
        children = ss.spawn(7)
        r_athlete, r_motion, r_cells, self._r_counts, self._r_time, self._r_fault = (
            np.random.default_rng(s) for s in children[:6]
        )
        self.cells = cells if cells is not None else SimCells.random(r_cells)
        self.athlete = Athlete.draw(r_athlete, body_mass_kg=float(body_mass_kg), geometry=self.geometry)
        self._engine = _Engine(self.athlete, r_motion, children[6])
        self._period = 1.0 / self.rate_hz
        self._phase = float(self._r_time.uniform(0.1, 0.9))
        self._k = 0                      # index of the next frame to generate
        self._t0_ns: int | None = None   # monotonic time of sim time 0
        self._walk = 0.0
        self._masses: list[_Mass] = []
        self._jiggles: list[tuple[float, float, float, float]] = []  # (t, amplitude, angle, decay)
        self._faults: dict[int, _Fault] = {}
        self._gone_until: float | None = None
        self._health = [ChannelHealth(name) for name in CHANNELS]
        self._frames = 0
        self.frames_skipped = 0
        self._last_valid: tuple[int, ...] | None = None
        self._chunk: dict[str, Any] | None = None
        self._ci = 0
        self._last_ci = -1
        self._last_chunk: dict[str, Any] | None = None
        # read_frame runs in the acquisition thread, the controls in the API's
        self._lock = threading.RLock()
        self.scenario = "empty"
        self._switched_s = 0.0

    # ---------------------------------------------------------------- time

    def start(self) -> None:
        if self._t0_ns is None:
            self._t0_ns = time.monotonic_ns()

    def _t0(self) -> int:
        if self._t0_ns is None:
            self._t0_ns = time.monotonic_ns()
        return self._t0_ns

    @property
    def sim_time_s(self) -> float:
        """Simulated time of the next frame (s since the source started)."""
        return (self._k + self._phase) * self._period

    def _next_frame_time(self) -> float:
        if self._chunk is not None and self._ci < len(self._chunk["t_s"]):
            return float(self._chunk["t_s"][self._ci])
        return self.sim_time_s

    # ---------------------------------------------------------------- control

    @_locked
    def set_scenario(self, scenario: str, *, leg: str | None = None, loop: bool = False,
                     body_mass_kg: float | None = None, **options: Any) -> GroundTruth | None:
        """Switch what the athlete does, from the next frame on.

        ``scenario`` is ``"empty"`` (nobody on the plates), ``"quiet_stance"`` (bilateral,
        endless) or a protocol name with its options (``duration_s`` included); after the
        protocol the athlete stands quietly, or repeats it when ``loop=True``.
        ``body_mass_kg`` makes the athlete that heavy from now on (the same person
        otherwise). Returns the protocol's ground truth (times relative to
        :attr:`scenario_start_ns`).
        """
        if scenario not in SCENARIOS:
            raise InputError(f"unknown scenario {scenario!r}", hint=f"Use one of: {', '.join(SCENARIOS)}.")
        if leg is not None and leg not in ("left", "right"):
            raise InputError(f"leg must be 'left' or 'right', got {leg!r}")
        if body_mass_kg is not None:
            if not 10.0 <= float(body_mass_kg) <= 300.0:
                raise InputError(f"body_mass_kg must be between 10 and 300 kg, got {body_mass_kg:g}")
            self.athlete = dataclasses.replace(self.athlete, body_mass_kg=float(body_mass_kg))
            self._engine.athlete = self.athlete
        t_now = max(self._next_frame_time() - self._period, 0.0)
        self._engine.set_program(t_now, scenario, leg, options, loop)
        self.scenario = scenario
        self._switched_s = t_now
        self._invalidate()
        return self._engine.truth

    @property
    def scenario_switch_ns(self) -> int:
        """CLOCK_MONOTONIC ns of the last :meth:`set_scenario`: frames from then on show
        the new scenario (for a protocol, :attr:`scenario_start_ns` is its time zero)."""
        return self._t0() + int(round(self._switched_s * 1e9))

    @property
    def scenario_truth(self) -> GroundTruth | None:
        """Ground truth of the protocol now playing (``None`` for empty/quiet stance)."""
        return self._engine.truth

    @property
    def scenario_start_ns(self) -> int | None:
        """CLOCK_MONOTONIC ns of the protocol's time zero (frames' ``t_ns`` minus this,
        in seconds, is the truth's time axis)."""
        if self._engine.truth_t0_s is None:
            return None
        return self._t0() + int(round(self._engine.truth_t0_s * 1e9))

    @_locked
    def place_mass(self, mass_kg: float, position_mm: tuple[float, float] = (-150.0, 0.0)) -> int:
        """Put a dead weight at a lab position on whichever plate contains it; returns the
        plate index (0 left, 1 right). It settles with a tiny decaying oscillation."""
        if not 0.0 < float(mass_kg) <= 500.0:
            raise InputError(f"mass must be between 0 and 500 kg, got {mass_kg:g}")
        x, y = (float(v) for v in position_mm)
        plate = self._plate_at(x, y)
        self._masses.append(_Mass(float(mass_kg), (x, y), plate, self._next_frame_time()))
        self._invalidate()
        return plate

    @_locked
    def clear_masses(self) -> None:
        self._masses.clear()
        self._jiggles.clear()
        self._invalidate()

    @_locked
    def jiggle(self, amplitude_mm: float = 15.0, decay_s: float = 0.6) -> None:
        """The operator bumps the weights: they slide and rock, settling after ~3 x decay_s."""
        angle = float(self._r_fault.uniform(0, 2 * np.pi))
        self._jiggles.append((self._next_frame_time(), float(amplitude_mm), angle, float(decay_s)))
        self._invalidate()

    def _plate_at(self, x: float, y: float) -> int:
        for p, name in enumerate(PLATES):
            cells = self.geometry.plates[name].cell_positions_mm()
            lo, hi = cells.min(axis=0), cells.max(axis=0)
            if lo[0] <= x <= hi[0] and lo[1] <= y <= hi[1]:
                return p
        raise InputError(
            f"position ({x:g}, {y:g}) mm is on neither plate",
            hint="Place the mass inside the rectangle spanned by a plate's four cells.",
        )

    @_locked
    def inject_fault(self, channel: int | str, kind: str, duration_s: float | None = None) -> None:
        """Make one channel misbehave from the next frame on.

        ``dead``: the chip never becomes ready (DOUT stuck high): flagged invalid, value
        held, health ``disconnected``. ``saturated``: out-of-range code 0x7FFFFF: flagged,
        held, counted. ``spikes``: a burst where 20 % of reads have a flipped high bit:
        flagged, held, counted as rejected spikes. ``stuck``: the reading freezes at its
        current value and is *not* flagged (a backend cannot tell; consumers see a flat
        channel). ``duration_s`` in simulated seconds; ``None`` = until :meth:`clear_faults`.
        """
        c = self._channel(channel)
        if kind not in FAULT_KINDS:
            raise InputError(f"unknown fault kind {kind!r}", hint=f"Use one of: {', '.join(FAULT_KINDS)}.")
        t = self._next_frame_time()
        until = None if duration_s is None else t + float(duration_s)
        stuck = None
        if kind == "stuck":
            stuck = self._last_valid[c] if self._last_valid is not None else int(self.cells.offsets_counts[c])
        self._faults[c] = _Fault(kind, until, stuck)

    @_locked
    def array_gone(self, duration_s: float) -> None:
        """The whole array stops answering for ``duration_s`` simulated seconds:
        :meth:`read_frame` raises :class:`HardwareError` meanwhile (one frame period per
        call)."""
        self._gone_until = self._next_frame_time() + float(duration_s)

    @_locked
    def clear_faults(self) -> None:
        self._faults.clear()
        self._gone_until = None
        for h in self._health:
            h.disconnected = False

    @staticmethod
    def _channel(channel: int | str) -> int:
        if isinstance(channel, str):
            if channel not in CHANNELS:
                raise InputError(f"unknown channel {channel!r}", hint=f"Use one of: {', '.join(CHANNELS)}.")
            return CHANNELS.index(channel)
        if not 0 <= int(channel) < N_CH:
            raise InputError(f"channel index must be 0-{N_CH - 1}, got {channel}")
        return int(channel)

    # ---------------------------------------------------------------- frames

    def _invalidate(self) -> None:
        """Drop precomputed frames so a change takes effect at the next frame."""
        if self._chunk is not None and self._ci < len(self._chunk["t_s"]):
            self._k = int(self._chunk["k"][self._ci])
        self._chunk = None
        self._ci = 0

    def _make_chunk(self) -> None:
        n = max(8, int(round(self.rate_hz * (8.0 if not self.paced else 2.0))))
        k = np.arange(self._k, self._k + n)
        period = self._period
        jitter = np.clip(self._r_time.normal(0.0, JITTER_SD_S, n), -JITTER_MAX_FRACTION * period,
                         JITTER_MAX_FRACTION * period)
        t_s = (k + self._phase) * period + jitter
        phys = self._engine.sample(t_s)
        fz = phys[:, 0:2].copy()
        mx = phys[:, [2, 4]].copy()
        my = phys[:, [3, 5]].copy()
        for m in self._masses:
            f, x, y = self._mass_load(m, t_s)
            fz[:, m.plate] += f
            mx[:, m.plate] += f * x
            my[:, m.plate] += f * y
        loads = split_loads(fz, mx, my, self.geometry)
        drift, self._walk = self.cells.drift_counts(t_s, self._r_counts, walk0=self._walk)
        counts, saturated, spikes = self.cells.to_counts(loads, drift, self._r_counts)
        bad = saturated | (spikes if self.flag_spikes else np.zeros_like(spikes))
        t0 = self._t0()
        t_ns = (t0 + np.rint(t_s * 1e9).astype(np.int64)).tolist()
        self._chunk = {
            "k": k,
            "t_s": t_s,
            "t_ns": t_ns,
            # ready-made frames: when paced, read_frame runs on a cold cache 80 times a
            # second, and picking a frame up costs far less there than building it
            "t_s_list": t_s.tolist(),
            "frames": [LoadCellFrame(t, tuple(row)) for t, row in zip(t_ns, counts.tolist(), strict=True)],
            "bad_row": bad.any(axis=1).tolist(),
            "saturated": saturated,
            "spikes": spikes & self.flag_spikes,
            "fz": fz,
            "mx": mx,
            "my": my,
            "loads": loads,
            "drift": drift,
            "angles": phys[:, 6:8],
        }
        self._ci = 0
        self._k += n
        self._engine.forget_before(float(t_s[0]) - 2.0)

    def _mass_load(self, m: _Mass, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dt = np.clip(t_s - m.placed_s, 0.0, None)
        # lowered onto the plate over 0.3 s, then a tiny decaying rocking (1 %, 4 Hz)
        on, _ = minjerk(t_s, m.placed_s, 0.3)
        settle = 1.0 + 0.01 * np.exp(-dt / 0.4) * np.sin(2 * np.pi * 4.0 * dt)
        f = m.mass_kg * G_M_S2 * on * settle
        x = np.full_like(t_s, m.position_mm[0])
        y = np.full_like(t_s, m.position_mm[1])
        for tj, amp, ang, decay in self._jiggles:
            tau = np.clip(t_s - tj, 0.0, None)
            env = amp * np.exp(-tau / decay) * np.sin(2 * np.pi * 1.5 * tau) * (t_s >= tj)
            x += env * np.cos(ang)
            y += env * np.sin(ang)
            f *= 1.0 + 0.05 * np.exp(-tau / decay) * np.sin(2 * np.pi * 3.0 * tau) * (t_s >= tj)
        return f, x, y

    def read_frame(self) -> LoadCellFrame:
        with self._lock:
            frame = self._next_frame()
        if self.paced:
            wait_ns = frame.t_ns - time.monotonic_ns()
            if wait_ns > 0:
                time.sleep(wait_ns / 1e9)
        if isinstance(frame, HardwareError):
            raise frame
        return frame

    def _next_frame(self) -> Any:
        while True:
            ch = self._chunk
            if ch is None or self._ci >= len(ch["frames"]):
                self._make_chunk()
                ch = self._chunk
                assert ch is not None
            i = self._ci
            frame: LoadCellFrame = ch["frames"][i]
            t_ns = frame.t_ns
            if self.paced:
                late_s = (time.monotonic_ns() - t_ns) / 1e9
                if late_s > MAX_CATCH_UP_S:
                    skip = int(late_s * self.rate_hz)
                    self.frames_skipped += skip
                    self._k = int(ch["k"][i]) + skip
                    self._chunk = None
                    continue
            break
        self._ci = i + 1
        if self._gone_until is not None:
            if ch["t_s_list"][i] < self._gone_until:
                err = HardwareError(
                    "the load-cell array is not responding (no data-ready from any HX711)",
                    hint="Check the cable and the 5 V supply of the amplifier board.",
                )
                err.t_ns = t_ns  # type: ignore[attr-defined]  # when to raise (paced)
                return err
            self._gone_until = None
        if ch["bad_row"][i] or self._faults:
            frame = LoadCellFrame(t_ns, *self._faulty(ch, frame.counts, i, ch["t_s_list"][i]))
        self._last_valid = frame.counts
        self._last_ci = i
        self._last_chunk = ch
        self._frames += 1
        return frame

    def _faulty(self, ch: dict[str, Any], raw: tuple[int, ...], i: int, t_s: float) -> tuple[tuple[int, ...], int]:
        row = list(raw)
        invalid = 0
        last = self._last_valid
        for c in range(N_CH):
            fault = self._faults.get(c)
            if fault is not None and fault.until_s is not None and t_s >= fault.until_s:
                del self._faults[c]
                self._health[c].disconnected = False
                fault = None
            h = self._health[c]
            bad = False
            if fault is not None:
                if fault.kind == "dead":
                    row[c] = CODE_ALL_ONES
                    h.not_ready += 1
                    h.disconnected = True
                    h.last_error = f"{CHANNELS[c]}: HX711 never ready (DOUT stuck high); check its wiring"
                    bad = True
                elif fault.kind == "saturated":
                    row[c] = HX711_CODE_MAX
                    h.saturated += 1
                    h.last_error = f"{CHANNELS[c]}: reading out of range (0x7FFFFF)"
                    bad = True
                elif fault.kind == "spikes":
                    if self._r_fault.random() < SPIKE_BURST_FRACTION:
                        h.spikes_rejected += 1
                        h.last_error = f"{CHANNELS[c]}: spike rejected"
                        bad = True
                elif fault.kind == "stuck" and fault.stuck_code is not None:
                    row[c] = fault.stuck_code
            elif ch["saturated"][i, c]:
                h.saturated += 1
                h.last_error = f"{CHANNELS[c]}: reading out of range"
                bad = True
            elif ch["spikes"][i, c]:
                h.spikes_rejected += 1
                bad = True
            if bad:
                invalid |= 1 << c
                row[c] = last[c] if last is not None else 0
        return tuple(row), invalid

    @_locked
    def health(self) -> list[ChannelHealth]:
        for h in self._health:
            h.frames = self._frames
        return [ChannelHealth(**vars(h)) for h in self._health]

    # ---------------------------------------------------------------- truth

    @_locked
    def truth_now(self) -> dict[str, Any]:
        """Ground truth of the last frame returned: per-plate force and CoP (athlete plus
        masses, noise-free), combined CoP, true per-cell loads, current offsets (with
        drift), the athlete's camera angles, scenario and active faults."""
        ch = self._last_chunk
        if ch is None:
            raise InputError("no frame read yet", hint="Call read_frame() first.")
        i = self._last_ci
        fz = ch["fz"][i]
        mom = np.stack([ch["mx"][i], ch["my"][i]], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cop = np.where(fz[:, None] > 1e-9, mom / fz[:, None], np.nan)
            comb = mom.sum(axis=0) / fz.sum() if fz.sum() > 1e-9 else np.full(2, np.nan)
        t_s = float(ch["t_s"][i])
        start = self._engine.truth_t0_s
        return {
            "t_ns": int(ch["t_ns"][i]),
            "t_s": t_s,
            "scenario": self.scenario,
            "scenario_t_s": None if start is None else t_s - start,
            "fz_n": fz.copy(),
            "cop_mm": cop,
            "cop_combined_mm": comb,
            "loads_n": ch["loads"][i].copy(),
            "drift_counts": ch["drift"][i].copy(),
            "offsets_counts": self.cells.offsets_counts + ch["drift"][i],
            "pelvic_obliquity_deg": float(ch["angles"][i, 0]),
            "knee_fppa_deg": float(ch["angles"][i, 1]),
            "masses": [{"mass_kg": m.mass_kg, "position_mm": m.position_mm, "plate": PLATES[m.plate]}
                       for m in self._masses],
            "faults": {CHANNELS[c]: f.kind for c, f in self._faults.items()},
        }

    current_truth = truth_now
