"""Eight HX711 load-cell amplifiers read in parallel over one shared clock line.

Wiring (see docs/hx711.md): each chip's DOUT on its own GPIO input, all PD_SCK inputs on one
GPIO output, the RATE inputs on an optional GPIO output (high = 80 SPS, low = 10 SPS).

Why a shared clock: bit-banging eight chips one after another costs eight times the GPIO
calls and, worse, eight waits for data-ready. With one clock we wait until every live chip
has pulled DOUT low, clock 25 pulses once and sample all eight DOUT lines after each pulse,
so one frame costs 25 x (2 + 8) GPIO calls and all eight channels keep the chips' 80 SPS.

What goes wrong on real boards, and what this module does about it (counted per channel in
:meth:`HX711Array.health`, per array in :meth:`HX711Array.status`):

* A chip never becomes ready (unplugged, no power, DOUT stuck high): after waiting
  two sample periods the frame is read without it and the channel is marked
  invalid; after ``dead_after_s`` it is declared dead with a message naming it, and no longer
  waited for, so the other seven keep streaming at full rate. It recovers by itself when its
  DOUT goes low again. DOUT inputs use the internal pull-up so an unplugged line reads high.
* Codes 0x7FFFFF / 0x800000 (input out of range): channel invalid for that frame, counted.
* SCK high for more than 60 us (the process was preempted mid-pulse) powers every chip on
  the clock down and corrupts the word: each pulse is timed, and a word read with a pulse
  longer than :data:`SCK_HIGH_LIMIT_NS` (an upper bound of the high time) is counted and held
  back until the next reading. It is kept (clocked out correctly, only slowly) when no chip
  shows a sign of a power-down: every chip of the word is ready again within 1.5 periods (one
  that powered down settles for four), and no chip shifted out only 1s from the slow pulse
  on (a powered-down chip's DOUT is high). Otherwise it is dropped for all channels.
* A chip that becomes ready while the clock is running starts shifting out of step with the
  other chips; it is seen as a DOUT low during a read it was not part of. The chips are then
  reset together (SCK held high for 100 us), which costs four sample periods of data.
* Single-read spikes that slip through (a flipped bit): a median-of-3 test against the
  previous accepted value and the next reading rejects a reading that stands out from both
  neighbours by more than ``spike_threshold_counts`` and by more than ``spike_ratio`` times
  the neighbours' own difference (Tukey's running median of 3, J. W. Tukey, Exploratory Data
  Analysis, 1977). A genuine step persists into the next reading, so it is kept. The test
  needs the next reading, so frames are returned one sample period late, each with the
  monotonic timestamp of its own data-ready moment.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import deque
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from hardware.base import (
    HX711_CODE_MAX,
    HX711_CODE_MIN,
    N_CHANNELS,
    ChannelHealth,
    LoadCellFrame,
    LoadCellSource,
    rate_hz_from_times,
)
from station.core.config import HX711Pins
from station.core.errors import ConfigError, HardwareError
from station.core.geometry import CHANNELS

log = logging.getLogger(__name__)

#: A clock pulse longer than this may have powered the chips down (datasheet limit 60 us;
#: the margin covers the time between our timer reads and the actual edges).
SCK_HIGH_LIMIT_NS = 50_000
#: SCK is held high this long to reset all chips deliberately (> 60 us).
RESET_PULSE_S = 100e-6
#: Conversion periods an HX711 needs after power-up or reset (datasheet: 50 ms at 80 SPS).
SETTLING_PERIODS = 4
#: The saturation codes as the raw 24-bit words shifted out of the chip.
_RAW_SATURATED = (HX711_CODE_MAX, HX711_CODE_MIN & 0xFFFFFF)
ALL_CHANNELS = (1 << N_CHANNELS) - 1
ALL_ONES = 0xFFFFFF

# Why a channel has no value in a raw reading.
_OK, _NOT_READY, _SATURATED, _GLITCH = 0, 1, 2, 3


@dataclass(slots=True)
class _Raw:
    """One clocked-out reading before spike rejection.

    ``long_at``: the clock pulses (0-24) of this word over the limit; with any, its values
    count only if the next reading shows that the chips did not power down (see
    :meth:`HX711Array._finish`).
    """

    t_ns: int
    values: list[int]
    status: list[int]
    ready: int
    words: list[int]  # the raw 24-bit words (for the power-down test)
    long_at: list[int]

    @property
    def long_pulse(self) -> bool:
        return bool(self.long_at)


class HX711Array(LoadCellSource):
    """Eight HX711 chips on a shared SCK, as a :class:`LoadCellSource`.

    Parameters
    ----------
    pins
        BCM pin map (DOUT per channel in CHANNELS order, shared SCK, optional RATE pin).
    rate_hz
        10 or 80: the chips' nominal rate, set through the RATE pin when one is wired.
    spike_threshold_counts, spike_ratio
        Spike test thresholds (see the module docstring). 20 000 counts is about 10 N on a
        nominal cell (2000 counts/N), far above the chips' noise (~100 counts at 80 SPS).
    dead_after_s
        A channel not ready for this long is declared dead (default 0.5 s, or 10 periods).
    array_timeout_s
        ``read_frame`` raises :class:`HardwareError` when no chip at all became ready for
        this long (default twice ``dead_after_s``).
    poll_interval_s
        Sleep between DOUT polls while waiting for data; bounds the timestamp error.
    """

    def __init__(
        self,
        pins: HX711Pins | None = None,
        rate_hz: float = 80,
        *,
        spike_threshold_counts: int = 20_000,
        spike_ratio: float = 2.0,
        dead_after_s: float | None = None,
        array_timeout_s: float | None = None,
        poll_interval_s: float = 0.0002,
    ) -> None:
        if rate_hz not in (10, 80):
            raise ConfigError("STATION_SAMPLE_RATE_HZ", f"the HX711 runs at 10 or 80 SPS, not {rate_hz}")
        self.pins = pins if pins is not None else HX711Pins()
        self.rate_hz = float(rate_hz)
        self.spike_threshold_counts = spike_threshold_counts
        self.spike_ratio = spike_ratio
        self.dead_after_s = dead_after_s if dead_after_s is not None else max(0.5, 10.0 / rate_hz)
        self.array_timeout_s = array_timeout_s if array_timeout_s is not None else 2 * self.dead_after_s
        self.poll_interval_s = poll_interval_s
        self._gpio: ModuleType | None = None
        self._health = [ChannelHealth(name) for name in CHANNELS]
        self._nominal_period_ns = int(1e9 / rate_hz)
        self._period_ns = self._nominal_period_ns  # learnt from complete frames
        self._last_good = [0] * N_CHANNELS
        self._has_good = [False] * N_CHANNELS
        self._last_ready_ns = [0] * N_CHANNELS
        self._last_frame_ns = 0
        self._pending: _Raw | None = None
        self._frame_times: deque[int] = deque(maxlen=int(2 * rate_hz) + 1)  # ~2 s window
        # complete-frame intervals beyond the learning band, longer and shorter
        self._long_intervals: deque[int] = deque(maxlen=16)
        self._short_intervals: deque[int] = deque(maxlen=16)
        self._late_streak = 0  # complete frames in a row found waiting
        self.frames_read = 0
        self.timing_glitches = 0
        self.long_pulse_words_kept = 0
        self.resyncs = 0
        self.missed_samples = 0
        self._last_glitch_log = -1e9
        self.rate_warning: str | None = None
        self.last_read_complete = False

    # --- life cycle -----------------------------------------------------------------
    def start(self) -> None:
        """Open the GPIO pins, reset the chips and measure their actual rate."""
        try:
            import RPi.GPIO as GPIO  # lazily: only a Raspberry Pi has it (rpi-lgpio)
        except ImportError:
            raise HardwareError(
                "the RPi.GPIO module is not installed, so the HX711 load cells cannot be read",
                hint="On the Raspberry Pi install the pi extra (pip install '.[pi]', it brings "
                "rpi-lgpio), or run with STATION_HARDWARE=sim.",
            ) from None
        p = self.pins
        try:
            GPIO.setwarnings(False)
            GPIO.setmode(GPIO.BCM)
            # Start with SCK high long enough to reset every chip: a known state.
            GPIO.setup(p.sck, GPIO.OUT, initial=GPIO.HIGH)
            for pin in p.dout:
                # Pull-up: an unplugged DOUT wire reads high (= never ready), not random bits.
                GPIO.setup(pin, GPIO.IN, pull_up_down=GPIO.PUD_UP)
            if p.rate is not None:
                GPIO.setup(p.rate, GPIO.OUT, initial=GPIO.HIGH if self.rate_hz == 80 else GPIO.LOW)
            time.sleep(RESET_PULSE_S)
            GPIO.output(p.sck, GPIO.LOW)
        except (RuntimeError, OSError, ValueError) as exc:
            raise HardwareError(
                f"cannot open the GPIO pins of the HX711 amplifiers: {exc}",
                hint="Check that this is a Raspberry Pi, that the user is in the 'gpio' group, "
                "and the pin map (STATION_PINS__*).",
            ) from exc
        self._gpio = GPIO
        now = time.monotonic_ns()
        self._last_ready_ns = [now] * N_CHANNELS
        self._last_frame_ns = 0
        self._pending = None
        self._probe_rate()

    def stop(self) -> None:
        gpio, self._gpio = self._gpio, None
        if gpio is None:
            return
        pins = [*self.pins.dout, self.pins.sck] + ([self.pins.rate] if self.pins.rate is not None else [])
        try:
            gpio.cleanup(pins)
        except (RuntimeError, OSError, ValueError) as exc:  # never mask the reason we stop
            log.warning("GPIO cleanup failed: %s", exc)

    # --- public state ----------------------------------------------------------------
    @property
    def achieved_rate_hz(self) -> float:
        """Frames per second over the last ~2 s (0 before two frames)."""
        return rate_hz_from_times(self._frame_times)

    def health(self) -> list[ChannelHealth]:
        return [replace(h) for h in self._health]

    def status(self) -> dict[str, Any]:
        """Array-level figures: the rate actually achieved and the faults dropped."""
        return {
            "backend": "hx711",
            "configured_rate_hz": self.rate_hz,
            "achieved_rate_hz": round(self.achieved_rate_hz, 2),
            "frames": self.frames_read,
            "missed_samples": self.missed_samples,
            "timing_glitches": self.timing_glitches,
            "long_pulse_words_kept": self.long_pulse_words_kept,
            "resyncs": self.resyncs,
            "rate_warning": self.rate_warning,
            "channels": [h.as_dict() for h in self._health],
        }

    # --- reading ---------------------------------------------------------------------
    def read_frame(self) -> LoadCellFrame:
        """The next frame, one sample period late (the spike test needs the next reading)."""
        if self._gpio is None:
            raise HardwareError("the HX711 array is not started", hint="Call start() first.")
        if self._pending is None:
            self._pending = self._read_raw()
        nxt = self._read_raw()
        frame = self._finish(self._pending, nxt)
        self._pending = nxt
        self.frames_read += 1
        self._frame_times.append(frame.t_ns)
        if self.rate_warning is None and self.frames_read in (10, 100):
            # The start-up probe can be disturbed (dropped words): check the rate again.
            self._check_rate(self.achieved_rate_hz, factor=0.3)
        return frame

    def _check_rate(self, chip_rate: float, *, factor: float) -> None:
        if 0 < chip_rate < factor * self.rate_hz or chip_rate > 1.6 * self.rate_hz:
            self.rate_warning = (
                f"the HX711 chips deliver {chip_rate:.1f} SPS but {self.rate_hz:.0f} is configured: "
                "wire their RATE inputs (or STATION_PINS__RATE) to select the rate, see docs/hx711.md"
            )
            log.warning("%s", self.rate_warning)

    def _finish(self, cur: _Raw, nxt: _Raw) -> LoadCellFrame:
        powered_down = cur.long_pulse and (not self._stayed_up(cur, nxt) or self._shifted_ones_after(cur))
        if cur.long_pulse and not powered_down:
            self.long_pulse_words_kept += 1
        invalid = 0
        for c in range(N_CHANNELS):
            h = self._health[c]
            h.frames += 1
            status = _GLITCH if powered_down and (cur.ready >> c) & 1 else cur.status[c]
            if status == _OK:
                x = cur.values[c]
                left = self._last_good[c] if self._has_good[c] else None
                # a word still under suspicion is no neighbour to judge a spike by
                right = nxt.values[c] if nxt.status[c] == _OK and not nxt.long_pulse else None
                if self._is_spike(x, left, right):
                    h.spikes_rejected += 1
                    h.last_error = f"rejected a spike on load cell {CHANNELS[c]} (read {x} counts)"
                    invalid |= 1 << c
                else:
                    self._last_good[c] = x
                    self._has_good[c] = True
                continue
            invalid |= 1 << c
            if status == _NOT_READY:
                h.not_ready += 1
            elif status == _SATURATED:
                h.saturated += 1
                h.last_error = (
                    f"load cell {CHANNELS[c]} (HX711 on GPIO {self.pins.dout[c]}) is out of range: "
                    "the cell is overloaded or its E+/E-/A+/A- wires are loose"
                )
        return LoadCellFrame(cur.t_ns, tuple(self._last_good), invalid)

    @property
    def _shorter_period_ns(self) -> int:
        """The learnt period or the configured one, whichever is shorter: what bounds the
        power-down checks, so that an estimate measured too long cannot widen them."""
        return min(self._period_ns, self._nominal_period_ns)

    def _stayed_up(self, cur: _Raw, nxt: _Raw) -> bool:
        """True when the chips of ``cur`` cannot have powered down during it: each of them
        was ready again for ``nxt`` within 1.5 periods (one that powered down is not ready
        for four periods, and the wait after a long pulse holds for every live chip)."""
        return cur.ready & nxt.ready == cur.ready and nxt.t_ns - cur.t_ns <= 3 * self._shorter_period_ns // 2

    @staticmethod
    def _shifted_ones_after(raw: _Raw) -> bool:
        """True when a chip of ``raw`` shifted out only 1s from a long pulse on, as a chip
        that powered down in that pulse does (its DOUT goes high). A good word looks like that
        with probability 2**-(24 - k) for a long pulse k: then a good word is dropped, never a
        bad one kept. The 25th pulse comes after the last bit: a power-down there loses
        nothing."""
        for k in raw.long_at:
            if k >= 24:
                continue
            ones = (1 << (24 - k)) - 1
            if any((raw.ready >> c) & 1 and raw.words[c] & ones == ones for c in range(N_CHANNELS)):
                return True
        return False

    def _is_spike(self, x: int, left: int | None, right: int | None) -> bool:
        """Median-of-3 outlier test against the last accepted value and the next reading.

        With one neighbour missing (the first reading; a next reading dropped or not ready)
        nothing tells which of the two is wrong, or a spike from a step, and the pulse
        timing has already caught the glitches that make most spikes: the value is kept.
        """
        if left is None or right is None:
            return False
        a, b = left, right
        median = sorted((a, x, b))[1]
        deviation = abs(x - median)
        return deviation > self.spike_threshold_counts and deviation > self.spike_ratio * abs(b - a)

    def _read_raw(self, *, presleep: bool = True) -> _Raw:
        alive = self._alive_mask()
        ready, t_ns, found_waiting = self._wait_ready(presleep=presleep)
        words, longest_pulse_ns, long_at, low_seen, word_ns = self._clock_word(ready)
        values = [0] * N_CHANNELS
        status = [_NOT_READY] * N_CHANNELS
        glitch = longest_pulse_ns > SCK_HIGH_LIMIT_NS
        if glitch:
            # The chips may have powered down mid-word: the word waits for the next reading
            # to tell (see _finish); meanwhile wait for every chip afresh, as after a reset.
            self.timing_glitches += 1
            now = time.monotonic()
            if now - self._last_glitch_log > 10.0:  # at most one line per 10 s in the log
                self._last_glitch_log = now
                log.warning(
                    "HX711 clock pulse took %.0f us (over %d us; 60 us powers the chips down): "
                    "frame kept only if the chips stayed up (%d such pulses so far)",
                    longest_pulse_ns / 1000, SCK_HIGH_LIMIT_NS // 1000, self.timing_glitches,
                )
        out_of_step = False
        for c in range(N_CHANNELS):
            if not (ready >> c) & 1:
                # Not part of this word: a DOUT low during the read means it got ready while
                # the clock ran and may have started shifting out of step with the others.
                if low_seen[c]:
                    out_of_step = True
                continue
            self._last_ready_ns[c] = t_ns
            h = self._health[c]
            if h.disconnected:
                h.disconnected = False
                log.info("load cell %s is back", CHANNELS[c])
            w = words[c]
            if w in _RAW_SATURATED:
                status[c] = _SATURATED
            elif w == ALL_ONES:
                status[c] = _NOT_READY  # DOUT went high mid-word: unplugged or reset
            else:
                values[c] = w - (1 << 24) if w & 0x800000 else w
                status[c] = _OK
        self._update_dead(time.monotonic_ns())
        settled_mid_word = glitch and word_ns > 2 * self._shorter_period_ns
        if out_of_step or settled_mid_word:
            # Out of step: also after a long pulse (if the chips did not power down, the one
            # that got ready mid-read is still out of step). Settled mid-word: the chips may
            # have powered down and then, while the process stalled, settled and started
            # shifting a new conversion with the word's remaining pulses; all in step, so
            # nothing else would tell, and the next word would start in its middle.
            self._resync()
        if glitch or out_of_step:
            # The chips are settling after a reset: wait for all of them afresh, as at start.
            self._last_frame_ns = 0
            self._long_intervals.clear()
            self._short_intervals.clear()
            self._late_streak = 0
        else:
            if alive and ready & alive == alive and self._last_frame_ns:
                # A complete frame: learn the period (the slowest chip's) for the next wait.
                dt = t_ns - self._last_frame_ns
                # Missed samples: against the learnt period when it is plausible (the chips
                # run at the configured rate or up to 16 % faster) or the chips run at another
                # rate than configured; otherwise the estimate is still converging.
                nominal = self._nominal_period_ns
                plausible = 8 * nominal // 10 <= self._period_ns <= 21 * nominal // 20
                ref = self._period_ns if self.rate_warning or plausible else nominal
                if dt > 3 * ref // 2:
                    # We came back too late (the process was not scheduled): the chips
                    # overwrote conversions we never read. Count them, they are lost frames.
                    self.missed_samples += round(dt / ref) - 1
                self._learn_period(dt, found_waiting=found_waiting)
            self._last_frame_ns = t_ns
        self.last_read_complete = bool(alive) and ready & alive == alive and not glitch
        return _Raw(t_ns, values, status, ready, words, long_at)

    def _learn_period(self, dt: int, *, found_waiting: bool) -> None:
        """Follow the slowest chip's period from the interval between complete frames.

        Intervals within 1/8 of the estimate move it by 1/16 of the difference: a stall
        must not stretch it, or the next sleep overshoots and loses samples. An estimate
        far off (start-up measured it across a stall) is corrected otherwise:

        * too short (or somewhat too long), every interval lies beyond the band on one side:
          when 12 recent ones do, with none inside the band between, their median is taken;
        * too long, we wake (at 0.8 of it) after the data, every time: after 8 frames in a
          row found waiting it is shortened by 1/8. (One found waiting now and then is the
          system waking us late, and says nothing about the period.)
        """
        period = self._period_ns
        if found_waiting:
            self._late_streak += 1
            if self._late_streak >= 8:
                self._period_ns = max(period - period // 8, 1_000_000)
                self._late_streak = 0
            return
        self._late_streak = 0
        if abs(dt - period) < period // 8:
            self._period_ns = period + (dt - period) // 16
            self._long_intervals.clear()
            self._short_intervals.clear()
            return
        off_band = self._long_intervals if dt > period else self._short_intervals
        off_band.append(dt)
        if len(off_band) >= 12:
            self._period_ns = sorted(off_band)[len(off_band) // 2]
            self._long_intervals.clear()
            self._short_intervals.clear()

    def _alive_mask(self) -> int:
        return sum(1 << c for c in range(N_CHANNELS) if not self._health[c].disconnected)

    def _wait_ready(self, *, presleep: bool = True) -> tuple[int, int, bool]:
        """Wait until every live chip has data (DOUT low), or the timeout.

        Returns the mask of ready channels, the monotonic time the last of them was seen
        ready (the frame's data-ready moment), and whether they all were at the first poll
        after a regular wait (we woke after the data).
        """
        assert self._gpio is not None
        inp = self._gpio.input
        dout = self.pins.dout
        call_start = time.monotonic_ns()
        alive = self._alive_mask()
        period = self._period_ns
        # After a reset (start, dropped word, resync) every powered chip restarts at the same
        # moment: give dead ones half a period more, so one that is back joins in step
        # instead of getting ready mid-read. When all are dead, wait two periods after the
        # first one comes back, for the same reason.
        after_reset = not self._last_frame_ns
        grace_end = 0
        if self._last_frame_ns:
            # Sleep through most of the period instead of polling it: no chip can be ready
            # much before the last frame's moment plus the slowest chip's period.
            wake = self._last_frame_ns + period * 8 // 10
            if presleep and wake > call_start:
                time.sleep((wake - call_start) / 1e9)
            # Two periods: a wide margin over the learnt period (a short estimate or a stall
            # must not drop a live chip, which would cost a resync and four settling periods).
            # The price: while one chip is late, the others lose samples (measured on the
            # fake chips: 8 of the slowest's 24 conversions in the 0.3 s before it is dead).
            # (At least two configured periods: an estimate far too short must not make
            # every chip late, or no complete frame would ever correct it.)
            floor = period if self.rate_warning else self._nominal_period_ns
            patience = 2 * max(period, floor)
            deadline = max(self._last_frame_ns + patience, call_start + period)
        else:
            deadline = call_start + (SETTLING_PERIODS + 2) * period
        give_up = call_start + int(self.array_timeout_s * 1e9)
        if not alive:
            deadline = give_up  # until one comes back (then 2 periods, below)
        ready = 0
        seen_at = [0] * N_CHANNELS
        first_poll_ns = 0
        while True:
            # A ready chip keeps DOUT low until clocked: poll only those not yet seen.
            now = time.monotonic_ns()
            first_poll_ns = first_poll_ns or now
            for c in range(N_CHANNELS):
                if not (ready >> c) & 1 and inp(dout[c]) == 0:
                    ready |= 1 << c
                    seen_at[c] = now
            now = time.monotonic_ns()
            if alive and ready & alive == alive:
                if ready == ALL_CHANNELS or not after_reset:
                    break
                grace_end = grace_end or now + period // 2
                if now >= grace_end:
                    break
            if not alive and ready and deadline > now + 2 * period:
                deadline = now + 2 * period  # the first chip is back: give the others time
            if now >= deadline and ready:
                break  # a live chip is late: read the others without it
            if now >= give_up:
                self._update_dead(now)
                raise HardwareError(
                    f"no HX711 became ready for {self.array_timeout_s:.1f} s "
                    f"(DOUT on GPIO {', '.join(map(str, dout))} all stayed high)",
                    hint=f"Check the amplifiers' power (VCC, GND) and the shared clock wire "
                    f"SCK on GPIO {self.pins.sck}.",
                )
            self._update_dead(now)
            time.sleep(self.poll_interval_s)
        t_ready = max(seen_at[c] for c in range(N_CHANNELS) if (ready >> c) & 1)
        return ready, t_ready, not after_reset and t_ready == first_poll_ns

    def _clock_word(self, ready: int) -> tuple[list[int], int, list[int], list[bool], int]:
        """25 clock pulses (channel A, gain 128 next); every DOUT sampled after each pulse.

        DOUT is sampled after the falling edge, not while SCK is high, so SCK stays high for
        one GPIO call only (a few microseconds), far from the 60 us power-down limit.
        Returns the eight 24-bit words, the longest pulse in ns, the pulses (0-24) longer than
        :data:`SCK_HIGH_LIMIT_NS`, for each channel whether its DOUT was low during the read
        (for channels not in ``ready`` that means the chip got ready while the clock ran),
        and how long the 25 pulses took in ns.
        """
        assert self._gpio is not None
        out = self._gpio.output
        inp = self._gpio.input
        sck = self.pins.sck
        dout = self.pins.dout
        clock = time.perf_counter_ns
        words = [0] * N_CHANNELS
        low_seen = [False] * N_CHANNELS
        longest = 0
        long_at: list[int] = []
        gc_was_enabled = gc.isenabled()
        gc.disable()  # a garbage collection (milliseconds) mid-pulse would power the chips down
        start = clock()
        try:
            for bit in range(24):
                # Timed from before the rising call to after the falling one: an upper bound
                # of the high time, whatever part of the calls the edges fall in.
                t0 = clock()
                out(sck, 1)
                out(sck, 0)
                dt = clock() - t0
                if dt > longest:
                    longest = dt
                if dt > SCK_HIGH_LIMIT_NS:
                    long_at.append(bit)
                for c in range(N_CHANNELS):
                    b = inp(dout[c])
                    words[c] = (words[c] << 1) | b
                    if not b:
                        low_seen[c] = True
            t0 = clock()
            out(sck, 1)  # 25th pulse: ends the word, selects channel A gain 128
            out(sck, 0)
            end = clock()
            dt = end - t0
        finally:
            if gc_was_enabled:
                gc.enable()
        for c in range(N_CHANNELS):
            # A chip not in this word that is low now got ready during the read, before or
            # after the last rising edge: it cannot be told which, so it counts as out of step.
            if not (ready >> c) & 1 and not low_seen[c] and inp(dout[c]) == 0:
                low_seen[c] = True
        if dt > SCK_HIGH_LIMIT_NS:
            long_at.append(24)
        return words, max(longest, dt), long_at, low_seen, end - start

    def _resync(self) -> None:
        """Reset every chip on the clock (SCK high > 60 us) so they shift in step again."""
        assert self._gpio is not None
        self.resyncs += 1
        log.warning("an HX711 came ready mid-read and is out of step: resetting the chips")
        self._gpio.output(self.pins.sck, 1)
        time.sleep(RESET_PULSE_S)
        self._gpio.output(self.pins.sck, 0)

    def _update_dead(self, now: int) -> None:
        limit = int(self.dead_after_s * 1e9)
        for c in range(N_CHANNELS):
            h = self._health[c]
            if not h.disconnected and now - self._last_ready_ns[c] > limit:
                h.disconnected = True
                h.last_error = (
                    f"load cell {CHANNELS[c]} (HX711 on GPIO {self.pins.dout[c]}) never became "
                    "ready: check its wiring and power"
                )
                log.warning("%s", h.last_error)

    def _probe_rate(self) -> None:
        """Read two frames after the reset and compare the chips' period with the setting.

        A board whose RATE input is tied low runs at 10 SPS; without this the 80 SPS
        timeouts would fire on every frame. The probe's words (settling data) are dropped.
        """
        saved_timeout, saved_dead = self.array_timeout_s, self.dead_after_s
        saved_missed = self.missed_samples  # the probe's intervals are not the stream's
        # Settling takes 4 periods at the chips' real rate, which may be 10 SPS (0.4 s).
        self.array_timeout_s = max(saved_timeout, 1.5)
        self.dead_after_s = max(saved_dead, 1.0)
        self._period_ns = int(1e9 / 10)  # generous until measured
        measured = 0
        try:
            # Two complete, undisturbed reads in a row give the period; a dropped word
            # (the chips then settle) starts over, a few times at most.
            prev = 0
            for _ in range(10):
                self._read_raw(presleep=False)
                t = self._last_frame_ns if self.last_read_complete else 0
                if prev and t:
                    measured = t - prev
                    break
                prev = t
        except HardwareError:
            self._period_ns = self._nominal_period_ns
            self.array_timeout_s, self.dead_after_s = saved_timeout, saved_dead
            raise
        self.array_timeout_s, self.dead_after_s = saved_timeout, saved_dead
        self.missed_samples = saved_missed
        self._last_frame_ns = 0
        self._last_ready_ns = [time.monotonic_ns()] * N_CHANNELS
        if measured <= 0:
            self._period_ns = self._nominal_period_ns
            return
        self._period_ns = measured
        # Chips slower than configured (RATE low) need longer before they count as dead.
        self.dead_after_s = max(self.dead_after_s, 10 * measured / 1e9)
        self.array_timeout_s = max(self.array_timeout_s, 2 * self.dead_after_s)
        self._check_rate(1e9 / measured, factor=0.6)
