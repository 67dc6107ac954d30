"""The HX711 PIO program: its source, its timing in cycles, and its assembled words.

The state machine runs at :data:`SM_HZ` whatever the chip's system clock: its clock divider
is ``sys_hz / SM_HZ``. That keeps every width the same number of cycles on an RP2040 at
125 MHz (divider 25), an RP2350 at 150 MHz (30) and the Pi 5's RP1 at 200 MHz (40; piolib's
``rp1_clock_get_hz(clk_sys)`` returns 200 MHz, raspberrypi/utils piolib/pio_rp1.c). At
5 MHz a cycle is 200 ns and an instruction's delay field (4 bits beside one side-set bit)
reaches 3.2 us, enough for every width here without loops.

HX711 datasheet limits (Avia Semiconductor, rev. 2.0): SCK high 0.2-50 us (over 60 us powers
the chip down), SCK low at least 0.2 us, data valid 0.1 us after the rising edge. The program
holds SCK high :data:`SCK_HIGH_CYCLES` (1.0 us: 5x the minimum, 1/50 of the maximum) and
samples DOUT in the last cycle of the high phase, 0.8 us after the data are valid.

Assembling needs ``adafruit-circuitpython-pioasm`` (the ``dev`` extra); the firmware carries
the assembled words in ``hardware/pico/firmware/hx711_program.py``, written by
:func:`firmware_module` (``python -m hardware.pio.program --write``; a test checks it is
current).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import NamedTuple

#: The state machine clock every width below is counted in.
SM_HZ = 5_000_000
#: System clocks of the chips that run the program (Hz).
SYS_CLOCKS_HZ = {"RP2040": 125_000_000, "RP2350": 150_000_000, "RP1 (Pi 5)": 200_000_000}
SCK_HIGH_CYCLES = 5
SCK_LOW_CYCLES = 5
#: Delay field of the polling round; a round takes 9 + this many cycles.
POLL_DELAY = 7
POLL_CYCLES = 9 + POLL_DELAY
#: SCK held high at entry (32 x 16 + 1 cycles) to reset every chip: over the 60 us.
RESET_CYCLES = 1 + 32 * 16
N_CHIPS = 8
#: 24 data bits, 8 DOUT samples per bit, 32 bits per FIFO word.
DATA_WORDS = 24 * N_CHIPS // 32
#: Extra pulses after the 24 bits: 1 = channel A gain 128, 2 = channel B gain 32, 3 = A 64.
GAIN_PULSES = {128: 1, 32: 2, 64: 3}

SOURCE_PATH = Path(__file__).with_name("hx711.pio")
FIRMWARE_MODULE_PATH = Path(__file__).parents[1] / "pico" / "firmware" / "hx711_program.py"


class Assembled(NamedTuple):
    """The program as the state machine takes it."""

    words: tuple[int, ...]
    wrap_target: int
    wrap: int
    labels: dict[str, int]   # the public labels: poll, report, bit
    extra_pulses: int
    timeout_shift: int


def timeout_shift_for(timeout_s: float) -> int:
    """The smallest ``k`` whose time-out (``2**k`` polling rounds) lasts at least ``timeout_s``."""
    rounds = timeout_s * SM_HZ / POLL_CYCLES
    k = max(1, int(rounds - 1).bit_length())
    if k > 24:
        raise ValueError(f"time-out {timeout_s} s is too long for the program")
    return k


def timeout_s(timeout_shift: int) -> float:
    """How long the program polls before it reads without the chips that are not ready."""
    return ((1 << timeout_shift) + 1) * POLL_CYCLES / SM_HZ


def source(*, gain: int = 128, timeout_shift: int = 16) -> str:
    """``hx711.pio`` with its fields filled in."""
    if gain not in GAIN_PULSES:
        raise ValueError(f"gain must be one of {sorted(GAIN_PULSES)}, not {gain}")
    if not 1 <= timeout_shift <= 24:
        raise ValueError("timeout_shift must be 1-24 (1 + shift bits fit the ISR below autopush)")
    fields = {
        "reset_cycles": RESET_CYCLES,
        "timeout_shift": timeout_shift,
        "poll_cycles": POLL_CYCLES,
        "poll_delay": POLL_DELAY,
        "high_delay": SCK_HIGH_CYCLES - 1,
        "sck_high": SCK_HIGH_CYCLES,
        "sample_delay": SCK_LOW_CYCLES - 2,  # + the 1-cycle jmp below = SCK_LOW_CYCLES
        "sck_low": SCK_LOW_CYCLES,
        "extra_minus_1": GAIN_PULSES[gain] - 1,
        "gain_low_delay": SCK_LOW_CYCLES - 1,
    }
    for name, value in fields.items():
        if name.endswith("delay") and not 0 <= value <= 15:
            raise ValueError(f"{name} = {value} does not fit the 4-bit delay field")
    text = SOURCE_PATH.read_text()
    return re.sub(r"\{(\w+)\}", lambda m: str(fields[m.group(1)]), text)


def assemble(*, gain: int = 128, timeout_shift: int = 16) -> Assembled:
    """Assemble :func:`source` with ``adafruit_pioasm`` (imported here: a dev dependency)."""
    import adafruit_pioasm

    prog = adafruit_pioasm.Program(source(gain=gain, timeout_shift=timeout_shift))
    kw = prog.pio_kwargs
    if len(prog.assembled) > 32:
        raise ValueError(f"the program has {len(prog.assembled)} instructions; a PIO block holds 32")
    return Assembled(
        tuple(int(w) for w in prog.assembled), int(kw.get("wrap_target", 0)),
        int(kw.get("wrap", len(prog.assembled) - 1)), dict(prog.public_labels),
        GAIN_PULSES[gain], timeout_shift,
    )


def clock_divider(sys_hz: int) -> tuple[int, int]:
    """The state machine's divider for ``sys_hz``: (integer part, fraction in 1/256)."""
    div256 = round(sys_hz * 256 / SM_HZ)
    return div256 // 256, div256 % 256


def sck_high_ns(sys_hz: int) -> tuple[float, float]:
    """Shortest and longest SCK high time in ns at system clock ``sys_hz``.

    A fractional divider stretches some state-machine cycles by one system cycle, so a
    width of n cycles lies between n * floor(div) and n * ceil(div) system cycles.
    """
    integer, frac = clock_divider(sys_hz)
    lo = SCK_HIGH_CYCLES * integer
    hi = SCK_HIGH_CYCLES * (integer + (1 if frac else 0))
    return lo * 1e9 / sys_hz, hi * 1e9 / sys_hz


def frame_cycles(extra_pulses: int = 1) -> int:
    """Cycles from the decision to read (the snapshot) to the end of the last pulse."""
    per_pulse = SCK_HIGH_CYCLES + SCK_LOW_CYCLES
    return 4 + 24 * per_pulse + 1 + extra_pulses * per_pulse


def firmware_module(prog: Assembled | None = None) -> str:
    """The text of ``hardware/pico/firmware/hx711_program.py`` (MicroPython, on the board)."""
    prog = prog or assemble()
    words = ",\n    ".join(", ".join(f"0x{w:04x}" for w in prog.words[i:i + 8])
                           for i in range(0, len(prog.words), 8))
    return (
        '"""Generated by `python -m hardware.pio.program --write` from hardware/pio/hx711.pio:\n'
        'do not edit (a test checks it is current)."""\n\n'
        f"SM_HZ = {SM_HZ}\n"
        f"WRAP_TARGET = {prog.wrap_target}\n"
        f"WRAP = {prog.wrap}\n"
        f"TIMEOUT_SHIFT = {prog.timeout_shift}\n"
        f"EXTRA_PULSES = {prog.extra_pulses}\n"
        f"DATA_WORDS = {DATA_WORDS}\n"
        f"WORDS = (\n    {words},\n)\n"
    )


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    text = firmware_module()
    if "--write" in sys.argv:
        FIRMWARE_MODULE_PATH.write_text(text)
        print(f"wrote {FIRMWARE_MODULE_PATH}")
    else:
        print(text)
