"""The fake RPi.GPIO behaves like the real module and like HX711 chips, bit by bit.

These tests drive the fake by hand with the HX711 protocol from the datasheet, so the
backend tests that rely on it rest on a checked simulation. The board runs on a
:class:`~hardware.fakes.VirtualClock` (each call costs 1 us, sleeps cost what they say), so
no test depends on this machine's speed or load.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest

from hardware.fakes import (
    FakeBoard,
    FakeHX711,
    VirtualClock,
    install_fake_gpio,
    uninstall_fake_gpio,
)

DOUT, SCK = 5, 17


@pytest.fixture
def gpio() -> Iterator[object]:
    install_fake_gpio([FakeHX711(DOUT, sck=SCK, value=-123_456, rate_sps=90.0)], call_cost_us=1.0,
                      clock=VirtualClock(start_ns=10**12))
    import RPi.GPIO as GPIO

    yield GPIO
    uninstall_fake_gpio()


def _board() -> FakeBoard:
    from hardware.fakes import rpi_gpio

    assert rpi_gpio._board is not None
    return rpi_gpio._board


def _setup(GPIO, pull=None) -> None:  # type: ignore[no-untyped-def]
    GPIO.setmode(GPIO.BCM)
    GPIO.setup(SCK, GPIO.OUT, initial=GPIO.LOW)
    GPIO.setup(DOUT, GPIO.IN, pull_up_down=GPIO.PUD_UP if pull is None else pull)


def _clock() -> VirtualClock:
    clock = _board().clock
    assert clock is not None
    return clock


def _wait_ready(GPIO, timeout_s: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    clock = _clock()
    end = clock.monotonic() + timeout_s
    while GPIO.input(DOUT):
        assert clock.monotonic() < end, "the fake chip never became ready"
        clock.sleep(0.0005)


def _read_word(GPIO, pulses: int = 25) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Bit-bang one word at the pace of the calls' cost (no power-down on the way)."""
    chip = _board().chips[0]
    before = chip.powerdowns
    result = _bitbang(GPIO, pulses)
    assert chip.powerdowns == before
    return result


def _bitbang(GPIO, pulses: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    word = 0
    for _ in range(24):
        GPIO.output(SCK, 1)
        GPIO.output(SCK, 0)
        word = (word << 1) | GPIO.input(DOUT)
    for _ in range(pulses - 24):
        GPIO.output(SCK, 1)
        GPIO.output(SCK, 0)
    return word, GPIO.input(DOUT)


def test_install_registers_rpi_gpio_and_uninstall_removes_it() -> None:
    from hardware.fakes import rpi_gpio

    before = sys.modules.get("RPi.GPIO")
    install_fake_gpio([FakeHX711(DOUT)])
    try:
        GPIO = importlib.import_module("RPi.GPIO")
        assert GPIO is rpi_gpio and GPIO.BCM == 11 and GPIO.PUD_UP == 22
    finally:
        uninstall_fake_gpio()
    assert sys.modules.get("RPi.GPIO") is before
    if before is None:  # no real RPi.GPIO on this machine
        with pytest.raises(ImportError):
            importlib.import_module("RPi.GPIO")


def test_api_errors_match_rpi_gpio(gpio) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="setmode"):
        gpio.input(DOUT)
    gpio.setmode(gpio.BCM)
    with pytest.raises(RuntimeError, match="setup"):
        gpio.input(DOUT)
    gpio.setup(DOUT, gpio.IN)
    with pytest.raises(RuntimeError, match="OUTPUT"):
        gpio.output(DOUT, 1)
    with pytest.raises(ValueError):
        gpio.setup(99, gpio.IN)


def test_25_pulses_shift_out_a_twos_complement_word(gpio) -> None:  # type: ignore[no-untyped-def]
    _setup(gpio)
    _wait_ready(gpio)
    word, after = _read_word(gpio)
    assert word == (-123_456) & 0xFFFFFF  # 24-bit two's complement, MSB first
    assert after == 1  # the 25th pulse pulls DOUT high until the next conversion
    chip = _board().chips[0]
    assert chip.delivered[-1].value == -123_456
    _wait_ready(gpio)  # the next conversion comes one period later
    assert chip.delivered[-1].conversion < chip.conversions()


def test_27_pulses_select_gain_64_for_the_next_word(gpio) -> None:  # type: ignore[no-untyped-def]
    _setup(gpio)
    _wait_ready(gpio)
    assert _read_word(gpio, 27)[0] == (-123_456) & 0xFFFFFF  # this word still at gain 128
    _wait_ready(gpio)
    assert _read_word(gpio, 25)[0] == (-123_456 // 2) & 0xFFFFFF


def test_sck_high_over_60us_powers_down_and_resets(gpio) -> None:  # type: ignore[no-untyped-def]
    _setup(gpio)
    _wait_ready(gpio)
    chip = _board().chips[0]
    gpio.output(SCK, 1)
    gpio.output(SCK, 0)  # one bit shifted out: the chip is mid-word
    gpio.output(SCK, 1)
    _clock().sleep(0.0002)
    assert gpio.input(DOUT) == 1  # powered down
    t0 = _clock().monotonic_ns()  # the falling edge, which resets the chip
    gpio.output(SCK, 0)
    assert chip.powerdowns == 1
    # After the reset the chip settles four conversion periods before data is ready.
    _wait_ready(gpio)
    assert 4 * chip.period_ns <= _clock().monotonic_ns() - t0 < 4 * chip.period_ns + 1_000_000
    word, _ = _read_word(gpio)
    assert word == (-123_456) & 0xFFFFFF  # back in step: a whole word again


def test_unplugged_chip_floats_to_the_pull(gpio) -> None:  # type: ignore[no-untyped-def]
    _setup(gpio)
    chip = _board().chips[0]
    chip.disconnected = True
    assert all(gpio.input(DOUT) == 1 for _ in range(50))
    gpio.setup(DOUT, gpio.IN, pull_up_down=gpio.PUD_DOWN)
    assert all(gpio.input(DOUT) == 0 for _ in range(50))
    gpio.setup(DOUT, gpio.IN)  # no pull: the line floats, random bits
    levels = {gpio.input(DOUT) for _ in range(200)}
    assert levels == {0, 1}
    gpio.setup(DOUT, gpio.IN, pull_up_down=gpio.PUD_UP)
    chip.disconnected = False
    _wait_ready(gpio)
    assert _read_word(gpio)[0] == (-123_456) & 0xFFFFFF


def test_saturated_input_clips_to_the_out_of_range_codes(gpio) -> None:  # type: ignore[no-untyped-def]
    _setup(gpio)
    chip = _board().chips[0]
    for value, code in ((10**8, 0x7FFFFF), (-(10**8), 0x800000)):
        chip.value = value
        _wait_ready(gpio)
        _wait_ready(gpio)
        _read_word(gpio)  # a word converted before the change may still be waiting
        _wait_ready(gpio)
        assert _read_word(gpio)[0] == code


def test_rate_pin_selects_80_or_10_sps() -> None:
    chip = FakeHX711(DOUT, sck=SCK, rate_sps=84.0)
    install_fake_gpio([chip], rate_pin=4, call_cost_us=1.0)
    try:
        import RPi.GPIO as GPIO

        _setup(GPIO)
        GPIO.setup(4, GPIO.OUT, initial=GPIO.HIGH)
        GPIO.input(DOUT)
        assert chip.period_ns == pytest.approx(1e9 / 84.0, rel=1e-6)
        GPIO.output(4, GPIO.LOW)
        GPIO.input(DOUT)  # the chip notices the RATE change at its next activity
        assert chip.period_ns == pytest.approx(1e9 / 10.5, rel=1e-6)
    finally:
        uninstall_fake_gpio()


def test_the_pypi_hx711_package_reads_the_fake_unmodified(gpio, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An independent HX711 driver decodes the same value from the fake chip."""
    hx711 = importlib.import_module("hx711")
    importlib.reload(hx711)  # bind it to this test's RPi.GPIO
    monkeypatch.setattr(hx711, "time", _clock())  # its pulse timing and sleeps, on the board's clock
    hx = hx711.HX711(dout_pin=DOUT, pd_sck_pin=SCK)  # gain 128, channel A; ~1 s of settling
    values = [hx._read() for _ in range(8)]  # one reading each (get_raw_data takes several)
    assert values == [-123_456] * 8
    assert _board().chips[0].powerdowns == 0  # at 1 us a call, no pulse reaches 60 us


def test_virtual_clock_moves_only_when_time_is_spent() -> None:
    clock = VirtualClock(start_ns=1_000)
    assert clock.monotonic_ns() == clock.perf_counter_ns() == 1_000
    clock.sleep(0.000_002)
    clock.advance(3)
    assert clock.monotonic_ns() == 3_003 and clock.monotonic() == pytest.approx(3.003e-6)
    with pytest.raises(ValueError):
        clock.sleep(-1)
    with pytest.raises(ValueError):
        clock.advance(-1)
    board = install_fake_gpio([FakeHX711(DOUT, sck=SCK)], call_cost_us=3.0, clock=clock)
    try:
        import RPi.GPIO as GPIO

        _setup(GPIO)
        before = clock.monotonic_ns()
        GPIO.output(SCK, 1)
        GPIO.output(SCK, 0)
        GPIO.input(DOUT)
        assert clock.monotonic_ns() - before == 3 * 3_000  # three calls at 3 us each
        assert list(board.sck_high_ns) == [3_000]  # the edge at the call's entry, one call high
    finally:
        uninstall_fake_gpio()
