"""The HX711 PIO program run cycle by cycle in ``pioemu`` against eight fake HX711 chips.

The chips are :class:`hardware.fakes.FakeHX711`, the same model the GPIO backend is tested
on (conversion timing per chip, DOUT low when ready, 25/26/27 pulses, power-down after 60 us
of SCK high, out-of-range codes, unplugging), on a clock of the state machine's cycles
(200 ns each at :data:`hardware.pio.program.SM_HZ`). The harness does what the board's
firmware does: drains the RX FIFO as words arrive, applies :mod:`hardware.pio.policy` after
each frame (new wait pattern through the TX FIFO, restart on an out-of-step chip), and
records every SCK pulse (rise, fall in cycles) and the DOUT levels seen at each sample.

``pioemu`` specifics (its source, v0.88): ``in pins`` reads from pin 0, so DOUT k is pin k
and SCK is the side-set pin 8; an instruction with delay d advances the clock by 1 + d in
one step; the input callback is called before each instruction (and needs a type hint to be
given the state); the side-set of an instruction takes effect from its first cycle; the RX
FIFO holds 4 words (the board's is joined to 8) and autopush stalls when it is full.

While the program polls and no chip can change its DOUT (the next conversion is further
away than a polling round), the harness skips whole polling rounds: each round only counts
the time-out down (OSR - 1, 16 cycles), so n rounds are skipped by setting the clock, OSR and
X as n rounds would. A test checks that this gives the same trace as emulating every cycle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from hardware.fakes.rpi_gpio import FakeHX711
from hardware.pio import program as pio_program
from hardware.pio.frames import WORDS_PER_FRAME
from hardware.pio.policy import next_pattern, ones_mask

if TYPE_CHECKING:  # pioemu is a dev dependency: imported for real only where it runs
    from pioemu import State

SCK_PIN = 8
NS_PER_CYCLE = 1_000_000_000 // pio_program.SM_HZ


class EmulatedFrame(NamedTuple):
    """One frame as the firmware gets it from the FIFO."""

    t_cycle: int              # when the status word arrived (cycles)
    not_ready: int            # the status word: bit k = chip k not in the word
    words: tuple[int, ...]    # the six bit-sliced data words
    pattern: int              # the wait pattern the firmware set after this frame
    reset: bool               # the firmware restarted the program after this frame


class _Board:
    """What a FakeHX711 asks of its board: the time and the RATE level (strapped high)."""

    rate_high = True

    def __init__(self) -> None:
        self.now_ns = 0

    def now(self) -> int:
        return self.now_ns

    def rate_level(self) -> bool:
        return True


class EmulatedArray:
    """Eight fake chips on DOUT pins 0-7 and SCK on pin 8, read by the PIO program."""

    def __init__(
        self,
        chips: Sequence[FakeHX711],
        *,
        prog: pio_program.Assembled | None = None,
        fast_forward: bool = True,
        start_ns: int = 0,
        firmware: bool = True,
    ) -> None:
        from pioemu import State

        if len(chips) != 8:
            raise ValueError("the program reads eight chips")
        self.prog = prog or pio_program.assemble()
        self.chips = list(chips)
        self.fast_forward = fast_forward
        self.board = _Board()
        self.board.now_ns = start_ns
        self._t0_cycles = start_ns // NS_PER_CYCLE
        for c in self.chips:
            c.attach(self.board, start_ns)  # type: ignore[arg-type]  # the duck-typed board
        self.state = State(clock=self._t0_cycles, pin_directions=1 << SCK_PIN)
        self.pattern = 0  # the program's entry sets Y = 0: wait for all eight
        self.pulses: list[tuple[int, int]] = []       # (rise, fall) cycles of every SCK pulse
        self.samples: list[tuple[int, int]] = []      # (cycle, DOUT pins) of each `in pins`
        self.frames: list[EmulatedFrame] = []
        self.resets = 0
        self.steps = 0
        self.skipped_rounds = 0
        self._rx: list[int] = []
        self._rx_clock = 0
        self._sck_since: int | None = None
        self._events: list[tuple[int, Callable[[], None]]] = []
        self._poll = self.prog.labels["poll"]
        self._bit = self.prog.labels["bit"]
        self._stop_for_skip = False
        #: False: the caller plays the firmware through :meth:`get`, :meth:`put`, :meth:`restart`
        self.firmware = firmware
        self.rx_words: list[int] = []
        self._want_words = 1 << 62
        self._want = 1 << 62
        self._until = 1 << 62
        self._restart = False

    # --- the chips' side ---------------------------------------------------------------
    def at(self, t_ns: int, action: Callable[[], None]) -> None:
        """Run ``action`` (e.g. unplug a chip) when the emulation reaches ``t_ns``."""
        self._events.append((t_ns // NS_PER_CYCLE, action))
        self._events.sort(key=lambda e: e[0])

    def _set_time(self, cycle: int) -> int:
        while self._events and self._events[0][0] <= cycle:
            self.board.now_ns = self._events[0][0] * NS_PER_CYCLE
            self._events.pop(0)[1]()
        t = cycle * NS_PER_CYCLE
        self.board.now_ns = t
        return t

    def _pins(self, state: State) -> int:
        cycle = state.clock
        t = self._set_time(cycle)
        since = None if self._sck_since is None else self._sck_since * NS_PER_CYCLE
        level = 0
        for k, c in enumerate(self.chips):
            v = c.dout_level(t, since)
            if v is None or v:  # unplugged: the pull-up reads 1
                level |= 1 << k
        if state.program_counter == self._bit + 1:
            self.samples.append((cycle, level))
        return level

    def _edges(self, prev: State, cur: State) -> None:
        was = (prev.pin_values >> SCK_PIN) & 1
        now = (cur.pin_values >> SCK_PIN) & 1
        if was == now:
            return
        cycle = prev.clock
        t = self._set_time(cycle)
        if now:
            for c in self.chips:
                c.rising(t)
            self._sck_since = cycle
        else:
            since = self._sck_since if self._sck_since is not None else cycle
            self.pulses.append((since, cycle))
            for c in self.chips:
                c.falling(t, (cycle - since) * NS_PER_CYCLE)
            self._sck_since = None

    # --- the firmware's side ---------------------------------------------------------
    def _drain(self, cur: State) -> None:
        fifo = cur.receive_fifo
        if not self.firmware:
            while fifo:
                self.rx_words.append(fifo.popleft())
            return
        while fifo:
            if not self._rx:
                self._rx_clock = cur.clock
            self._rx.append(fifo.popleft())  # in place: the generator holds this state
            if len(self._rx) == 1 + WORDS_PER_FRAME:
                self._frame_done(cur)

    def _frame_done(self, cur: State) -> None:
        status, *words = self._rx
        self._rx = []
        pattern, reset = next_pattern(status, ones_mask(words))
        if pattern != self.pattern:
            cur.transmit_fifo.append(pattern)
            self.pattern = pattern
        self.frames.append(EmulatedFrame(self._rx_clock, status & 0xFF, tuple(words), pattern, reset))
        if reset:
            self._restart = True

    # --- running ------------------------------------------------------------------------
    def _skip_rounds(self, state: State) -> int:
        """Polling rounds that can be skipped from ``state`` (at ``poll``): none if a chip
        could change DOUT before they end or the time-out would be reached."""
        s = state
        osr = s.output_shift_register.contents
        now_ns = s.clock * NS_PER_CYCLE
        changes = [t for t in (self._next_change_ns(c, now_ns) for c in self.chips) if t is not None]
        nxt = min(changes, default=None)
        if self._events:
            nxt = min(nxt if nxt is not None else self._events[0][0] * NS_PER_CYCLE,
                      self._events[0][0] * NS_PER_CYCLE)
        until_ns = self._until * NS_PER_CYCLE
        nxt = until_ns if nxt is None else min(nxt, until_ns)  # stop where run() was told to
        horizon = (nxt - now_ns) // (NS_PER_CYCLE * pio_program.POLL_CYCLES) - 2
        return max(0, min(horizon, osr - 2))

    @staticmethod
    def _next_change_ns(chip: FakeHX711, now: int) -> int | None:
        if chip.disconnected:
            return None
        newest = chip._newest(now)
        if newest > chip._latched:
            return None  # ready: DOUT stays low until the clock runs
        return chip._t0 + (newest + 1) * chip._period

    def _stop(self, opcode: int, state: State) -> bool:
        if self._restart or self._done():
            return True
        if not self.fast_forward or state.program_counter != self._poll:
            return False
        pins = self._pins_now(state)
        y = state.y_register
        if pins == 0 or pins == y:
            return False
        if self._skip_rounds(state) >= 4:
            self._stop_for_skip = True
            return True
        return False

    def _pins_now(self, state: State) -> int:
        t = state.clock * NS_PER_CYCLE
        level = 0
        for k, c in enumerate(self.chips):
            if c.disconnected or c._newest(t) <= c._latched:
                level |= 1 << k
        return level

    def _done(self) -> bool:
        return (len(self.frames) >= self._want or self.state.clock >= self._until
                or len(self.rx_words) >= self._want_words)

    # --- the state machine as the firmware sees it (firmware=False) ------------------------
    def rx_fifo(self) -> int:
        """Words waiting (the firmware polls this); runs the program 2 ms further when none,
        so the firmware's loop turns between its polls as on the board."""
        if not self.rx_words:
            self.run(words=1, until_ns=(self.state.clock + pio_program.SM_HZ // 500) * NS_PER_CYCLE)
        return len(self.rx_words)

    def get(self) -> int:
        while not self.rx_words:
            self.run(words=1)
        return self.rx_words.pop(0)

    def put(self, word: int) -> None:
        self.state.transmit_fifo.append(word)

    def restart(self) -> None:
        self._apply_restart()

    def ticks_us(self) -> int:
        return self.state.clock * NS_PER_CYCLE // 1000

    def _apply_restart(self) -> None:
        from pioemu import ShiftRegister

        # sm.restart(): the program starts again at its entry (the reset pulse); the FIFOs
        # and X/Y keep their contents, the shift registers are cleared.
        self._restart = False
        self.resets += 1
        self._rx = []
        self.state = dataclasses.replace(
            self.state, program_counter=0, input_shift_register=ShiftRegister(0, 0),
            output_shift_register=ShiftRegister(0, 32),
        )

    def run(self, *, frames: int | None = None, until_ns: int | None = None,
            words: int | None = None) -> list[EmulatedFrame]:
        """Emulate until ``frames`` more frames have arrived (``words`` FIFO words are waiting,
        without the firmware) or the clock reaches ``until_ns``."""
        from pioemu import ShiftRegister, State, emulate

        self._want = len(self.frames) + frames if frames is not None else 1 << 62
        self._until = until_ns // NS_PER_CYCLE if until_ns is not None else 1 << 62
        self._want_words = words if words is not None else 1 << 62
        p = self.prog

        def pins(state: State) -> int:
            return self._pins(state)

        # pioemu passes the state only to a callback annotated with its State class (the
        # annotation itself, not the string this module's future import makes of it)
        pins.__annotations__["state"] = State
        while not self._done():
            gen = emulate(
                list(p.words), stop_when=self._stop, initial_state=self.state, input_source=pins,
                auto_push=True, push_threshold=32, shift_isr_right=False, side_set_base=SCK_PIN,
                side_set_count=1, wrap_target=p.wrap_target, wrap_top=p.wrap,
            )
            for prev, cur in gen:
                self.steps += 1
                self._edges(prev, cur)
                self._drain(cur)
                self.state = cur
            if self._restart:
                self._apply_restart()
            elif self._stop_for_skip:
                self._stop_for_skip = False
                n = self._skip_rounds(self.state)
                s = self.state
                osr = s.output_shift_register.contents - n
                self.skipped_rounds += n
                self.state = dataclasses.replace(
                    s, clock=s.clock + n * pio_program.POLL_CYCLES, x_register=osr,
                    output_shift_register=ShiftRegister(osr, s.output_shift_register.counter),
                )
                assert isinstance(self.state, State)
        return self.frames
