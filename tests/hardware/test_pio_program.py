"""The HX711 PIO program: assembled, timed, and run in pioemu against eight fake chips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.fakes.rpi_gpio import FakeHX711, default_chips
from hardware.pio import program as pio
from hardware.pio.emulated import NS_PER_CYCLE, EmulatedArray
from hardware.pio.frames import pack_words, unpack_words
from hardware.pio.policy import next_pattern, ones_mask

pytest.importorskip("pioemu")
pytest.importorskip("adafruit_pioasm")

MS = 1_000_000


def chips(values=None, **kw):
    return default_chips(dout_pins=range(8), values=values, **kw)


# --- the program and its timing -------------------------------------------------------
def test_program_fits_and_firmware_copy_is_current():
    prog = pio.assemble()
    assert len(prog.words) <= 32
    assert pio.FIRMWARE_MODULE_PATH.read_text() == pio.firmware_module(prog)


@pytest.mark.parametrize("name", sorted(pio.SYS_CLOCKS_HZ))
def test_sck_high_time_inside_the_datasheet_with_margin(name):
    lo, hi = pio.sck_high_ns(pio.SYS_CLOCKS_HZ[name])
    # datasheet: 0.2-50 us; we want 4x above the minimum and 40x below the maximum
    assert 4 * 200 <= lo <= hi <= 50_000 / 40


def test_sck_high_time_with_a_fractional_divider():
    lo, hi = pio.sck_high_ns(133_000_000)
    assert 950 < lo < 1000 < hi < 1050


def test_timeout_and_reset_lengths():
    assert pio.timeout_s(16) == pytest.approx(0.2097, abs=1e-3)
    assert pio.timeout_s(pio.timeout_shift_for(0.5)) >= 0.5
    assert pio.RESET_CYCLES * 1e9 / pio.SM_HZ > 60_000  # powers the chips down: a reset


# --- the shared unpacking -------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(-(1 << 23), (1 << 23) - 1), min_size=8, max_size=8),
                min_size=1, max_size=20))
def test_unpack_inverts_pack(values):
    v = np.array(values)
    words = pack_words(v)
    assert words.shape == (len(values), 6)
    assert (unpack_words(words) == v).all()
    assert (unpack_words(words[0]) == v[0]).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=6, max_size=6))
def test_any_fifo_words_unpack_and_pack_back(words):
    # 192 bits either way: every word pattern is eight 24-bit values and back
    assert pack_words(unpack_words(words)).tolist() == words


def test_unpack_bit_order_by_hand():
    # chip 0 sends 0x800001 (MSB and LSB), chip 7 sends -1: first sample = top byte of word 0
    words = [0x81808080, 0x80808080, 0x80808080, 0x80808080, 0x80808080, 0x80808081]
    assert list(unpack_words(words)) == [-0x7FFFFF, 0, 0, 0, 0, 0, 0, -1]
    assert ones_mask(words) == 0x80


def test_policy():
    assert next_pattern(0, 0) == (0, False)
    assert next_pattern(0b100, 0b100) == (0b100, False)      # chip 2 not ready: stop waiting
    assert next_pattern(0xFF, 0xFF) == (0, False)            # none ready: wait for all
    assert next_pattern(0b100, 0b000) == (0b100, True)       # chip 2 shifted mid-read: reset


# --- in the emulator -------------------------------------------------------------------
def check_frames_match_chips(arr: EmulatedArray, frames, first=0):
    """Every frame holds, for every chip in it, the word that chip latched for that frame."""
    counts = [first] * 8
    for f in frames:
        got = unpack_words(f.words)
        for k, c in enumerate(arr.chips):
            if (f.not_ready >> k) & 1:
                continue
            word = c.delivered[counts[k]].word
            counts[k] += 1
            expect = word - (1 << 24) if word & 0x800000 else word
            assert got[k] == expect, (k, got[k], expect)
    return counts


def test_widths_pulses_and_sampling_edge():
    arr = EmulatedArray(chips(noise_counts=0))
    frames = arr.run(frames=12)
    reset, *pulses = arr.pulses
    assert reset[1] - reset[0] == pio.RESET_CYCLES
    highs = {f - r for r, f in pulses}
    assert highs == {pio.SCK_HIGH_CYCLES}                    # 1.0 us at every system clock
    lows = [r2 - f1 for (_, f1), (r2, _) in zip(pulses, pulses[1:], strict=False)]
    assert min(lows) == pio.SCK_LOW_CYCLES
    # 24 bits + 1 (channel A gain 128) per frame, counted up to the last frame's start
    assert sum(r < frames[-1].t_cycle for r, _ in pulses) == 25 * (len(frames) - 1)
    # each DOUT sample falls in the last cycle of a high phase: >= 0.1 us after the rising
    # edge (data valid), before the falling edge (SCK still high when the pins are read)
    rises = {f: r for r, f in pulses}
    for cycle, _ in arr.samples:
        assert cycle in rises and (cycle - rises[cycle]) * NS_PER_CYCLE >= 100
    assert all(c.powerdowns == 1 for c in arr.chips)        # the reset pulse at entry only
    check_frames_match_chips(arr, frames)


@pytest.mark.parametrize(("gain", "pulses", "extra"), [(128, 25, 1), (32, 26, 2), (64, 27, 3)])
def test_gain_pulses(gain, pulses, extra):
    arr = EmulatedArray(chips(values=[100_000] * 8, noise_counts=0), prog=pio.assemble(gain=gain))
    frames = arr.run(frames=4)
    assert sum(r < frames[-1].t_cycle for r, _ in arr.pulses[1:]) == pulses * (len(frames) - 1)
    assert all(c._extra == extra for c in arr.chips)         # the chips took the gain
    later = unpack_words(frames[-1].words)
    assert set(later.tolist()) == {{128: 100_000, 32: 0, 64: 50_000}[gain]}


def test_bit_order_and_saturation_codes():
    values = [0x7FFFFF, -0x800000, 1, -1, 0x555555, -0x2AAAAB, 9_999_999, -9_999_999]
    arr = EmulatedArray(chips(values=values, noise_counts=0))
    frames = arr.run(frames=3)
    for f in frames:
        assert f.not_ready == 0
        # the chip clips out-of-range inputs to the saturation codes
        assert list(unpack_words(f.words)) == [8388607, -8388608, 1, -1, 0x555555, -0x2AAAAB,
                                               8388607, -8388608]


def test_a_late_chip_is_waited_for():
    cs = chips(noise_counts=0)
    cs[5] = FakeHX711(5, rate_sps=70.0, phase=0.9, value=-1234)    # slower than the rest
    arr = EmulatedArray(cs)
    frames = arr.run(frames=20)
    assert all(f.not_ready == 0 for f in frames)
    counts = check_frames_match_chips(arr, frames)
    slow = cs[5]
    assert slow.overruns == 0 and counts[5] == len(frames)   # every conversion of it read
    for f, d in zip(frames, slow.delivered, strict=False):   # a frame comes after its data
        assert f.t_cycle * NS_PER_CYCLE >= d.t_ready_ns


def test_a_missing_chip_times_out_then_is_not_waited_for_and_comes_back():
    cs = chips(noise_counts=0)
    arr = EmulatedArray(cs)
    cs[3].disconnected = True
    frames = arr.run(frames=3)
    first = frames[0]
    # the first frame waited the whole time-out for chip 3, then read the other seven
    assert first.not_ready == 1 << 3 and first.pattern == 1 << 3
    assert first.t_cycle * NS_PER_CYCLE >= pio.timeout_s(16) * 1e9
    gaps = [(b.t_cycle - a.t_cycle) * NS_PER_CYCLE for a, b in zip(frames, frames[1:], strict=False)]
    assert max(gaps) < 13 * MS                               # the others stream at their rate
    assert all(f.not_ready == 1 << 3 for f in frames)
    check_frames_match_chips(arr, frames)
    # plug it back: after its settling it is in the frames again, in step
    t = arr.state.clock * NS_PER_CYCLE
    arr.at(t + 1 * MS, lambda: setattr(cs[3], "disconnected", False))
    more = arr.run(frames=40)[3:]
    assert more[-1].not_ready == 0 and more[-1].pattern == 0
    assert unpack_words(more[-1].words)[3] == cs[3].value
    assert all(c.powerdowns <= 1 + arr.resets for c in cs)  # reset pulses only


def test_all_chips_missing_gives_timeout_frames_not_a_flood():
    cs = chips(noise_counts=0)
    for c in cs:
        c.disconnected = True
    arr = EmulatedArray(cs)
    frames = arr.run(until_ns=int(1.1e9))
    assert 4 <= len(frames) <= 6                             # one per 0.21 s time-out
    assert all(f.not_ready == 0xFF and f.pattern == 0 for f in frames)


def test_chip_ready_mid_read_triggers_a_reset_and_recovers():
    cs = chips(noise_counts=0)
    cs[2].disconnected = True
    arr = EmulatedArray(cs)
    arr.run(frames=3)
    # Plug chip 2 back so that its first conversion (four of its periods after power-up)
    # completes 20 us after the slowest chip's, i.e. while the clock runs for the others.
    # After a frame at t each chip has latched its newest conversion; the next frame comes
    # when the last of the others completes its next one.
    read_at = arr.frames[-1].t_cycle * NS_PER_CYCLE
    for _ in range(5):
        read_at = max(c._t0 + (c._newest(read_at) + 1) * c.period_ns for c in cs if c is not cs[2])
    arr.at(read_at + 20_000 - 4 * cs[2].period_ns, lambda: setattr(cs[2], "disconnected", False))
    frames = arr.run(frames=30)
    hit = [f for f in frames if f.reset]
    assert arr.resets == len(hit) == 1
    assert hit[0].not_ready == 1 << 2                       # not in that word, but shifting
    assert 0 <= hit[0].t_cycle * NS_PER_CYCLE - read_at < 10_000
    # after the reset every chip settles together and all eight are read in step
    assert frames[-1].not_ready == 0 and frames[-1].pattern == 0
    assert list(unpack_words(frames[-1].words)) == [c.value for c in cs]


def test_skipping_polling_rounds_changes_nothing():
    def run(ff):
        cs = chips(seed=3)
        arr = EmulatedArray(cs, prog=pio.assemble(timeout_shift=12), fast_forward=ff)
        cs[6].disconnected = True
        arr.run(frames=3)
        return arr

    fast, slow = run(True), run(False)
    assert fast.skipped_rounds > 1000 and slow.skipped_rounds == 0
    assert fast.pulses == slow.pulses
    assert fast.frames == slow.frames


@pytest.mark.slow
def test_300_conversions_give_300_correct_frames():
    cs = chips(seed=7)
    arr = EmulatedArray(cs)
    frames = arr.run(frames=300)
    assert all(f.not_ready == 0 for f in frames)
    counts = check_frames_match_chips(arr, frames)
    slowest = min(cs, key=lambda c: c.rate_sps)
    k = cs.index(slowest)
    # every conversion of the slowest chip since the first frame became a frame
    assert counts[k] == 300 and slowest.overruns == 0 and arr.resets == 0
    assert all(c.powerdowns <= 1 + arr.resets for c in cs)  # reset pulses only
