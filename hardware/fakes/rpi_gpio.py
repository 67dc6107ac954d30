"""A fake ``RPi.GPIO`` module wired to simulated HX711 chips, bit by bit.

This module *is* the fake ``RPi.GPIO``: its module-level functions (``setmode``, ``setup``,
``output``, ``input``, ``cleanup``, ...) have the real module's signatures and error
messages and act on the current :class:`FakeBoard`. :func:`install_fake_gpio` makes a board
current and registers this module in ``sys.modules`` as ``RPi.GPIO`` (with a parent ``RPi``
package), so any code doing ``import RPi.GPIO as GPIO`` -- our backend and the PyPI ``hx711``
package alike -- runs unmodified against the simulated chips.

What a simulated chip does (HX711 datasheet, Avia Semiconductor, rev. 2.0):

* It converts continuously at its own rate: ``rate_sps`` (about 80-93 SPS on the internal
  oscillator, so eight chips drift in phase) when its RATE input is high, ``rate_sps / 8``
  (about 10 SPS) when low. After power-up or a RATE change the first data comes after the
  settling time, four conversion periods (datasheet: 50 ms at 80 SPS, 400 ms at 10 SPS).
* DOUT goes low when a conversion is ready. The first SCK rising edge latches the newest
  conversion and shifts out its MSB; each following rising edge shifts the next bit (24 bits,
  two's complement). The 25th pulse ends the word and pulls DOUT high until the next
  conversion; 25 pulses in total select channel A gain 128 for the next reading, 26 channel B
  gain 32, 27 channel A gain 64. A conversion that is not read before the next one completes
  is overwritten (counted in ``overruns``).
* Pulses while DOUT is high (no data) are ignored. A chip that becomes ready while the clock
  is already running starts shifting at the next rising edge, i.e. out of step with the
  clock's owner -- exactly what happens on a real shared clock line.
* SCK held high for more than 60 us powers the chip down: the word being shifted is lost and
  DOUT goes high; on the falling edge the chip resets (channel A, gain 128) and settles again.
* Out-of-range inputs clip to the codes 0x7FFFFF / 0x800000.

Injectable faults: ``FakeHX711.disconnected`` (chip unpowered, its DOUT line floats: it reads
high with a pull-up, low with a pull-down, random bits without either),
``FakeHX711.spike_prob`` (a word gets one high bit flipped, as a bit-bang timing glitch
does), a saturating ``value``, ``FakeBoard.glitch_prob`` (the process is "preempted" for
``glitch_us`` right after raising SCK, so the chips power down), and the RATE strap or pin.

Every GPIO call costs ``call_cost_us`` (default 3 us, about what ``RPi.GPIO`` /
``rpi-lgpio`` cost per call on a Raspberry Pi 4), so timing-sensitive code meets realistic
delays. By default the chips run on ``time.monotonic_ns()``, the clock the backends stamp
frames with, and a call's cost is spent busy-waiting. Given a
:class:`~hardware.fakes.clock.VirtualClock` instead, the board runs on it: a call advances it
by its cost, the fake's own bookkeeping takes no time, and the code under test, reading the
same clock, behaves the same on any machine (tests). A
:class:`~hardware.fakes.clock.CompensatedClock` is the real clock without the fake's
bookkeeping (benchmarks: real speed, real preemption, Pi-like call costs). The chips keep ground truth
(conversions, words delivered with their data-ready time, overruns, injected spikes) for
tests to check against.
"""

from __future__ import annotations

import os
import random
import sys
import time
import types
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from hardware.fakes.clock import CompensatedClock, VirtualClock

# --- RPi.GPIO constants (same values as the real module) -------------------------------
BOARD = 10
BCM = 11
OUT = 0
IN = 1
LOW = 0
HIGH = 1
PUD_OFF = 20
PUD_DOWN = 21
PUD_UP = 22
RISING = 31
FALLING = 32
BOTH = 33
UNKNOWN = -1
VERSION = "0.7.1 (stance-station fake)"
RPI_REVISION = 3
RPI_INFO = {"P1_REVISION": 3, "REVISION": "c03111", "TYPE": "Pi 4 Model B (fake)", "MANUFACTURER": "fake",
            "PROCESSOR": "BCM2711", "RAM": "4G"}

#: SCK high longer than this powers an HX711 down (datasheet: 60 us).
POWER_DOWN_NS = 60_000
CODE_MAX = 0x7FFFFF  # positive full scale / out of range
CODE_MIN = 0x800000  # negative full scale / out of range
_VALID_BCM = range(0, 28)
#: How often a board with a power file reads it (ns of its clock).
POWER_FILE_POLL_NS = 50_000_000
#: Names the power file of the board :func:`install_from_env` makes.
POWER_FILE_ENV = "STATION_FAKE_GPIO_POWER_FILE"


class DeliveredWord(NamedTuple):
    """Ground truth for one word a chip shifted out (latched at the first rising edge).

    A NamedTuple because it is made inside a simulated GPIO call, where time is SCK-high time.
    """

    conversion: int      # index of the conversion since the chip was created
    t_ready_ns: int      # monotonic time the conversion completed (DOUT went low)
    value: int           # the signed value the chip meant to send (after clipping)
    word: int            # the 24-bit word actually sent (differs from value if spiked)
    spiked: bool


class FakeHX711:
    """One simulated HX711 (channel A, gain 128) on its own DOUT pin.

    ``value`` is the signed count the chip converts: an int, or a function of the
    conversion's monotonic time in ns (for steps, ramps, ...). ``noise_counts`` adds seeded
    Gaussian noise. ``phase`` (0-1) places the first conversion within the first period.
    ``power_down_ns`` is this chip's power-down threshold (real chips differ a little around
    the datasheet's 60 us) and ``settle_periods`` how many periods its first conversion takes
    after a reset (datasheet: 4); both are there to test the driver beyond the datasheet.
    """

    def __init__(
        self,
        dout: int,
        *,
        sck: int = 17,
        rate_sps: float = 86.0,
        rate_low_sps: float | None = None,
        value: int | Callable[[int], int] = 0,
        noise_counts: float = 0.0,
        phase: float = 0.0,
        spike_prob: float = 0.0,
        seed: int = 0,
        power_down_ns: int = POWER_DOWN_NS,
        settle_periods: float = 4.0,
    ) -> None:
        self.dout = dout
        self.power_down_ns = power_down_ns
        self.settle_periods = settle_periods
        self.sck = sck
        self.rate_sps = float(rate_sps)
        self.rate_low_sps = float(rate_low_sps) if rate_low_sps else self.rate_sps / 8.0
        self.value = value
        self.noise_counts = noise_counts
        self.phase = phase
        self.spike_prob = spike_prob
        self._rng = random.Random(seed)
        self.board: FakeBoard | None = None
        # conversion timing: conversion k of the current epoch completes at t0 + k * period
        self._t0 = 0
        self._period = 1
        self._rate_high = True
        self._base = 0            # conversions completed in earlier epochs (before resets)
        self._latched = -1        # index (in this epoch) of the last conversion latched
        self._shift = 0           # 0 idle, 1..24 = bits shifted of the current word
        self._word = 0
        self._extra = 1           # pulses after the last word: 1 -> A128, 2 -> B32, 3 -> A64
        self._after_word = False  # the 26th/27th pulses count only right after a word
        self._prep: tuple[tuple[int, int, int], tuple[int, int, int, bool]] | None = None
        self._to_latch = -1       # conversion latched at the last rising edge, not yet booked
        self._disconnected = False
        # ground truth
        self.delivered: deque[DeliveredWord] = deque(maxlen=200_000)
        self.overruns = 0
        self.powerdowns = 0
        self.resets = 0

    # --- set-up and faults -----------------------------------------------------------
    def attach(self, board: FakeBoard, now: int) -> None:
        self.board = board
        self._rate_high = board.rate_level()
        self._period = self._period_for(self._rate_high)
        self._t0 = now + int(self.phase * self._period)

    def _period_for(self, high: bool) -> int:
        return int(1e9 / (self.rate_sps if high else self.rate_low_sps))

    @property
    def period_ns(self) -> int:
        return self._period

    @property
    def disconnected(self) -> bool:
        return self._disconnected

    @disconnected.setter
    def disconnected(self, value: bool) -> None:
        # Unplugged: the chip loses power. Plugged back: it powers up and settles again.
        now = self._clock_now()
        if value and not self._disconnected:
            self._base += self._epoch_conversions(now)
            self._t0 = 1 << 62  # no conversions while unpowered
            self._latched = -1
            self._shift = 0
        elif self._disconnected and not value:
            self._reset(now)
        self._disconnected = value

    # --- timing ---------------------------------------------------------------------
    def _clock_now(self) -> int:
        return self.board.now() if self.board is not None else time.monotonic_ns()

    def _reset(self, now: int) -> None:
        """Power-up reset: lose the word in progress, channel A gain 128, settle ``settle_periods``."""
        if self._to_latch >= 0:
            self._latch(self._to_latch)  # it was latched (and is now lost): keep the record
        self._base += self._epoch_conversions(now)
        self._period = self._period_for(self._rate_high)
        self._t0 = now + int(self.settle_periods * self._period)
        self._latched = -1
        self._shift = 0
        self._to_latch = -1
        self._extra = 1
        self._after_word = False
        self.resets += 1

    def _sync(self, now: int) -> None:
        assert self.board is not None
        high = self.board.rate_high
        if high != self._rate_high:
            self._rate_high = high
            self._reset(now)

    def _newest(self, now: int) -> int:
        """Index in this epoch of the newest completed conversion (-1: none yet)."""
        return (now - self._t0) // self._period if now >= self._t0 else -1

    def _epoch_conversions(self, now: int) -> int:
        return self._newest(now) + 1

    def conversions(self, now: int | None = None) -> int:
        """Ground truth: conversions completed since the chip was created."""
        now = self._clock_now() if now is None else now
        if self._disconnected:
            return self._base
        return self._base + self._epoch_conversions(now)

    # --- pins -----------------------------------------------------------------------
    # These run inside every simulated GPIO call, so the common cases return early: the
    # fake's own bookkeeping must stay well inside the per-call cost it models.
    def dout_level(self, now: int, sck_high_since: int | None) -> int | None:
        """DOUT as the chip drives it; ``None`` when the line floats (chip unplugged)."""
        if self._disconnected:
            return None
        if sck_high_since is not None and now - sck_high_since > self.power_down_ns:
            return 1  # powered down
        if self._shift:
            if self._to_latch >= 0:
                self._latch(self._to_latch)
            return (self._word >> (24 - self._shift)) & 1
        self._sync(now)
        newest = self._newest(now)
        if newest > self._latched:
            self._prepare(newest)  # compute the word now, not while SCK is high
            return 0
        return 1

    def rising(self, now: int) -> None:
        s = self._shift
        if s:
            if self._to_latch >= 0:
                self._latch(self._to_latch)
            if s < 24:
                self._shift = s + 1
            else:  # 25th pulse: end of word, DOUT high until the next conversion
                self._shift = 0
                self._extra = 1
                self._after_word = True
            return
        if self._disconnected:
            return
        self._sync(now)
        newest = self._newest(now)
        if newest > self._latched:
            # Which conversion is latched is fixed now; the bookkeeping waits for the next
            # DOUT read, outside the SCK-high time the caller measures.
            self._to_latch = newest
            self._shift = 1
            self._after_word = False
        elif self._after_word and self._extra < 3:
            self._extra += 1  # 26th / 27th pulse: gain and channel for the next word
        else:
            self._after_word = False  # any other pulse without data is ignored

    def falling(self, now: int, high_ns: int) -> None:
        if self._disconnected:
            return
        if high_ns > self.power_down_ns:
            self.powerdowns += 1
            self._reset(now)

    def _prepare(self, newest: int) -> tuple[int, int, int, bool]:
        key = (self.resets, newest, self._extra)
        prep = self._prep
        if prep is not None and prep[0] == key:
            return prep[1]
        t_ready = self._t0 + newest * self._period
        v = self.value(t_ready) if callable(self.value) else self.value
        if self._extra == 2:  # channel B (nothing connected): noise around zero, gain 32
            v = 0
        elif self._extra == 3:  # channel A at gain 64: half the counts
            v //= 2
        if self.noise_counts:
            v += round(self._rng.gauss(0.0, self.noise_counts))
        v = max(-0x800000, min(0x7FFFFF, int(v)))
        word = v & 0xFFFFFF
        spiked = self.spike_prob > 0 and self._rng.random() < self.spike_prob
        if spiked:
            word ^= 1 << self._rng.randint(17, 22)
        result = (t_ready, v, word, spiked)
        self._prep = (key, result)
        return result

    def _latch(self, newest: int) -> None:
        self._to_latch = -1
        t_ready, v, word, spiked = self._prepare(newest)
        self.overruns += newest - self._latched - 1
        self._latched = newest
        self._word = word
        self.delivered.append(DeliveredWord(self._base + newest, t_ready, v, word, spiked))


@dataclass
class _Pin:
    direction: int
    pull: int = PUD_OFF
    level: int = LOW


class FakeBoard:
    """The GPIO header with HX711 chips wired to it (BCM numbering)."""

    def __init__(
        self,
        chips: Sequence[FakeHX711],
        *,
        rate_pin: int | None = None,
        rate_strap_high: bool = True,
        call_cost_us: float = 3.0,
        glitch_prob: float = 0.0,
        glitch_us: float = 150.0,
        seed: int = 0,
        clock: VirtualClock | CompensatedClock | None = None,
        power_file: str | os.PathLike[str] | None = None,
    ) -> None:
        douts = [c.dout for c in chips]
        if len(set(douts)) != len(douts):
            raise ValueError(f"two fake chips share a DOUT pin: {douts}")
        self.chips = list(chips)
        self.rate_pin = rate_pin
        self.rate_strap_high = rate_strap_high  # RATE level when no pin drives it
        self.call_cost_ns = int(call_cost_us * 1000)
        self.glitch_prob = glitch_prob
        self.glitch_ns = int(glitch_us * 1000)
        self._rng = random.Random(seed)
        self.clock = clock
        self.now: Callable[[], int] = clock.monotonic_ns if clock is not None else time.monotonic_ns
        self.mode: int | None = None
        self.warnings = True
        self.pins: dict[int, _Pin] = {}
        self._by_dout = {c.dout: c for c in self.chips}
        self._by_sck: dict[int, list[FakeHX711]] = {}
        for c in self.chips:
            self._by_sck.setdefault(c.sck, []).append(c)
        self._sck_high_since: dict[int, int] = {}
        self.rate_high = self.rate_level()
        self.calls = 0
        self.glitches_injected = 0
        #: Ground truth: how long each clock pulse kept SCK high, in ns, oldest first.
        self.sck_high_ns: deque[int] = deque(maxlen=200_000)
        now = self.now()
        for c in self.chips:
            c.attach(self, now)
        #: The amplifiers' supply, read from this file ("on" = powered; missing = off), for a
        #: test driving a board in another process (:func:`install_from_env`).
        self.power_file = power_file
        self._power_checked_ns = -POWER_FILE_POLL_NS
        self._poll_power_file(now)

    def _poll_power_file(self, now: int) -> None:
        if self.power_file is None or now - self._power_checked_ns < POWER_FILE_POLL_NS:
            return
        self._power_checked_ns = now
        try:
            with open(self.power_file) as f:
                on = f.read().strip() == "on"
        except OSError:
            on = False
        if any(c.disconnected == on for c in self.chips):
            self.set_power(on)

    def _update_rate(self) -> None:
        self.rate_high = self.rate_level()

    def rate_level(self) -> bool:
        if self.rate_pin is not None:
            pin = self.pins.get(self.rate_pin)
            if pin is not None and pin.direction == OUT:
                return bool(pin.level)
            return False  # an undriven RATE input: the boards' pull-down selects 10 SPS
        return self.rate_strap_high

    def _spin(self, entry: int, extra_ns: int = 0) -> None:
        if self.clock is not None:
            self.clock.spend_call(entry, self.call_cost_ns + extra_ns)
            return
        # Busy-wait, as the real call's cost is CPU time, not a sleep.
        end = entry + self.call_cost_ns + extra_ns
        while time.monotonic_ns() < end:
            pass

    # --- the RPi.GPIO API -------------------------------------------------------------
    def setmode(self, mode: int) -> None:
        if mode not in (BCM, BOARD):
            raise ValueError("An invalid mode was passed to setmode()")
        if self.mode is not None and mode != self.mode:
            raise ValueError("A different mode has already been set!")
        self.mode = mode

    def getmode(self) -> int | None:
        return self.mode

    def setwarnings(self, flag: bool) -> None:
        self.warnings = bool(flag)

    def _check_channel(self, channel: int) -> None:
        if self.mode is None:
            raise RuntimeError(
                "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)"
            )
        if self.mode != BCM:
            raise NotImplementedError("the fake GPIO only simulates BCM numbering")
        if not isinstance(channel, int) or channel not in _VALID_BCM:
            raise ValueError("The channel sent is invalid on a Raspberry Pi")

    def setup(self, channel: int | Iterable[int], direction: int, pull_up_down: int = PUD_OFF,
              initial: int = UNKNOWN) -> None:
        for ch in _channels(channel):
            self._check_channel(ch)
            if direction not in (IN, OUT):
                raise ValueError("An invalid direction was passed to setup()")
            if direction == OUT and pull_up_down != PUD_OFF:
                raise ValueError("pull_up_down parameter is not valid for outputs")
            old = self.pins.get(ch)
            kept = old.level if old is not None and old.direction == OUT else LOW
            level = int(bool(initial)) if (direction == OUT and initial != UNKNOWN) else kept
            self.pins[ch] = _Pin(direction, pull_up_down, kept)
            if ch == self.rate_pin:
                self._update_rate()
            if direction == OUT:
                self._drive(ch, level, self.now())

    def output(self, channel: int | Iterable[int], value: int | bool | Iterable[int | bool]) -> None:
        entry = self.now()
        self.calls += 1
        chans = _channels(channel)
        values = list(value) if isinstance(value, (list, tuple)) else [value] * len(chans)
        if len(values) != len(chans):
            raise RuntimeError("Number of channels != number of values")
        extra = 0
        for ch, v in zip(chans, values, strict=True):
            self._check_channel(ch)
            pin = self.pins.get(ch)
            if pin is None or pin.direction != OUT:
                raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
            raised = self._drive(ch, int(bool(v)), entry)
            if raised and self.glitch_prob and self._rng.random() < self.glitch_prob:
                # The process is preempted right after raising SCK: the clock stays high.
                self.glitches_injected += 1
                extra += self.glitch_ns
        self._spin(entry, extra)

    def input(self, channel: int) -> int:
        entry = self.now()
        self._poll_power_file(entry)
        self.calls += 1
        self._check_channel(channel)
        pin = self.pins.get(channel)
        if pin is None:
            raise RuntimeError("You must setup() the GPIO channel first")
        level = self._level(channel, pin, entry)
        self._spin(entry)
        return level

    def cleanup(self, channel: int | Iterable[int] | None = None) -> None:
        chans = list(self.pins) if channel is None else _channels(channel)
        now = self.now()
        for ch in chans:
            pin = self.pins.pop(ch, None)
            if pin is not None and pin.direction == OUT and pin.level:
                self._edge(ch, LOW, now)  # the line floats low, like a falling edge
            if ch == self.rate_pin:
                self._update_rate()
        if channel is None:
            self.mode = None

    def gpio_function(self, channel: int) -> int:
        self._check_channel(channel)
        pin = self.pins.get(channel)
        return UNKNOWN if pin is None else pin.direction

    # --- wiring ---------------------------------------------------------------------
    def _drive(self, ch: int, level: int, now: int) -> bool:
        """Set an output level; True on a rising edge of a clock line."""
        pin = self.pins[ch]
        if pin.level == level:
            return False
        pin.level = level
        if ch == self.rate_pin:
            self._update_rate()
        return self._edge(ch, level, now)

    def _edge(self, ch: int, level: int, now: int) -> bool:
        chips = self._by_sck.get(ch)
        if not chips:
            return False
        if level:
            for c in chips:
                c.rising(now)
            # The edge counts from the end of our bookkeeping, which a real GPIO call
            # does not have: only the caller's time between the calls keeps SCK high. (A
            # given clock leaves the bookkeeping out by itself: the call's entry is the edge.)
            self._sck_high_since[ch] = now if self.clock is not None else time.monotonic_ns()
            return True
        since = self._sck_high_since.pop(ch, now)
        self.sck_high_ns.append(now - since)
        if now - since > min(c.power_down_ns for c in chips):
            for c in chips:  # each chip applies its own threshold
                c.falling(now, now - since)
        return False

    def _level(self, ch: int, pin: _Pin, now: int) -> int:
        chip = self._by_dout.get(ch)
        if chip is not None:
            level = chip.dout_level(now, self._sck_high_since.get(chip.sck))
            if level is not None:
                return level
        elif pin.direction == OUT:
            return pin.level
        # a floating line
        if pin.pull == PUD_UP:
            return HIGH
        if pin.pull == PUD_DOWN:
            return LOW
        return self._rng.getrandbits(1)

    def chip_on(self, dout: int) -> FakeHX711:
        """The chip whose DOUT is wired to BCM pin ``dout``."""
        return self._by_dout[dout]

    def set_power(self, on: bool) -> None:
        """Cut or restore the amplifiers' supply: every chip unplugged / back (fault tests)."""
        for c in self.chips:
            c.disconnected = not on


def _channels(channel: int | Iterable[int]) -> list[int]:
    if isinstance(channel, int):
        return [channel]
    return list(channel)


def default_chips(
    dout_pins: Sequence[int] = (5, 6, 13, 19, 26, 16, 20, 21),
    *,
    sck: int | Sequence[int] = 17,
    seed: int = 1,
    values: Sequence[int] | None = None,
    noise_counts: float = 30.0,
) -> list[FakeHX711]:
    """Eight chips as on a real station: rates 80-93 SPS, random phases, cell offsets.

    ``sck`` is one shared clock pin (our wiring) or one pin per chip (the wiring the PyPI
    ``hx711`` package expects).
    """
    rng = random.Random(seed)
    scks = [sck] * len(dout_pins) if isinstance(sck, int) else list(sck)
    chips = []
    for i, pin in enumerate(dout_pins):
        value = values[i] if values is not None else rng.randint(-200_000, 200_000) + 400_000
        chips.append(FakeHX711(
            pin, sck=scks[i], rate_sps=rng.uniform(80.0, 93.0), value=value,
            noise_counts=noise_counts, phase=rng.random(), seed=seed * 100 + i,
        ))
    return chips


# --- the module-level RPi.GPIO API, acting on the current board ----------------------
_board: FakeBoard | None = None
_saved_modules: dict[str, types.ModuleType | None] = {}


def _current() -> FakeBoard:
    if _board is None:
        raise RuntimeError("no fake board installed: call hardware.fakes.install_fake_gpio() first")
    return _board


def setmode(mode: int) -> None:
    _current().setmode(mode)


def getmode() -> int | None:
    return _current().getmode()


def setwarnings(flag: bool) -> None:
    _current().setwarnings(flag)


def setup(channel: Any, direction: int, pull_up_down: int = PUD_OFF, initial: int = UNKNOWN) -> None:
    _current().setup(channel, direction, pull_up_down, initial)


def output(channel: Any, value: Any) -> None:
    _current().output(channel, value)


def input(channel: int) -> int:  # noqa: A001 - the real module's name
    return _current().input(channel)


def cleanup(channel: Any = None) -> None:
    _current().cleanup(channel)


def gpio_function(channel: int) -> int:
    return _current().gpio_function(channel)


def install_fake_gpio(
    chips: Sequence[FakeHX711] | None = None,
    **board_options: Any,
) -> FakeBoard:
    """Make a :class:`FakeBoard` with ``chips`` current and register this module as
    ``RPi.GPIO`` in ``sys.modules``. Returns the board (its chips hold the ground truth).

    ``chips`` defaults to :func:`default_chips` (eight chips on the default pin map).
    Undo with :func:`uninstall_fake_gpio`.
    """
    global _board
    board = FakeBoard(default_chips() if chips is None else chips, **board_options)
    _board = board
    this = sys.modules[__name__]
    if "RPi.GPIO" not in _saved_modules:
        _saved_modules["RPi"] = sys.modules.get("RPi")
        _saved_modules["RPi.GPIO"] = sys.modules.get("RPi.GPIO")
    pkg = types.ModuleType("RPi")
    pkg.__path__ = []  # a package, so "import RPi.GPIO" resolves the submodule
    pkg.GPIO = this  # type: ignore[attr-defined]
    sys.modules["RPi"] = pkg
    sys.modules["RPi.GPIO"] = this
    return board


def install_from_env() -> FakeBoard:
    """Make the current board for a process that imports ``RPi.GPIO`` from
    ``hardware/fakes/gpio_site``: eight :func:`default_chips` on the default pins, powered
    while the file named by :data:`POWER_FILE_ENV` says ``on``. Leaves ``sys.modules`` to
    the import that called it."""
    global _board
    _board = FakeBoard(default_chips(), power_file=os.environ.get(POWER_FILE_ENV))
    return _board


def uninstall_fake_gpio() -> None:
    """Remove the fake from ``sys.modules`` (restoring whatever was there before)."""
    global _board
    _board = None
    for name in ("RPi.GPIO", "RPi"):
        if name in _saved_modules:
            old = _saved_modules.pop(name)
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
