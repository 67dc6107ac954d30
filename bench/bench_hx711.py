"""Eight-channel HX711 frame rate: our shared-clock backend vs the PyPI ``hx711`` package.

Both run unmodified against the fake ``RPi.GPIO`` (hardware.fakes): eight simulated chips
with their own data-ready timing (80-93 SPS), 25 clock pulses per word, power-down on a
clock pulse over 60 us, and a busy cost of 3 us per GPIO call (about RPi.GPIO / rpi-lgpio
on a Raspberry Pi 4). Our backend reads all eight chips on one shared SCK; the package reads
one chip after another, each on its own SCK (the wiring it expects). A frame of the package
is one round over the eight chips in which every chip returned a value. The package runs
two ways:

* **its own way**, the public API: ``get_raw_data(2)`` per chip (two readings is the least
  it accepts; its README calls ``get_raw_data()``, five). The second reading waits for the
  chip's next conversion, so a round over eight chips takes about eight sample periods.
  After an aborted read it retries without resetting the chip, and when the chip was left
  mid-word (DOUT high, waiting for clock pulses it never gets) it retries forever: such a
  read is cut after ``STALL_S`` and the chip power-cycled. The rate is reported with that
  time taken out, so the figure does not depend on the cut-off chosen here.
* **one reading per chip** through its internal ``_read()``, with the recovery a caller
  would have to write (power-cycle a chip whose read failed): the most the package's
  reading code can give, for reference.

Both drivers run on a :class:`~hardware.fakes.CompensatedClock` (in place of their ``time``
module): the real clock without the fake chips' own bookkeeping, which a Pi does not have.
Their own Python, their sleeps, the 3 us per call and the scheduler's preemptions take real
time (except a preemption that lands inside the fake's bookkeeping, which is taken out with
it: preemption glitches are somewhat under-counted). (On the plain real clock the fake's bookkeeping, tens of microseconds on the first
pulse of a word on a slow machine, made both drivers see clock pulses over their limits.)
"""

from __future__ import annotations

import importlib
import os
import signal
import time
from typing import Any

from hardware.fakes import (
    POWER_DOWN_NS,
    CompensatedClock,
    default_chips,
    install_fake_gpio,
    uninstall_fake_gpio,
)

SECTION = "hx711 backend"
RUN_S = 5.0  # each package run
OURS_RUN_S = 10.0
CALL_COST_US = 3.0
STALL_COUNT_S = 5.0  # how long to count this machine's stalls, right before and right after our run
STALL_S = 1.0  # one read of the package taking longer than this (real time) has stalled
MAX_RUN_S = 6 * RUN_S  # bound on a package run, hung reads included
DOUTS = (5, 6, 13, 19, 26, 16, 20, 21)
PACKAGE_SCKS = (2, 3, 4, 7, 8, 9, 10, 11)


def _ours() -> dict[str, Any]:
    from hardware import hx711_backend
    from hardware.hx711_backend import HX711Array

    clock = CompensatedClock()
    board = install_fake_gpio(default_chips(DOUTS, seed=11), call_cost_us=CALL_COST_US, clock=clock)
    saved_time = hx711_backend.time
    hx711_backend.time = clock  # type: ignore[assignment]
    try:
        array = HX711Array(rate_hz=80)
        array.start()
        slowest = min(board.chips, key=lambda c: c.rate_sps)
        array.read_frame()
        n0 = slowest.conversions()
        board.sck_high_ns.clear()  # from here on, the pulses of the run only
        powerdowns0 = slowest.powerdowns  # one long pulse powers every chip on the clock down
        cpu0, real0, excluded0 = time.process_time(), time.monotonic(), clock.excluded_ns
        t0 = clock.monotonic()
        frames = invalid = slowest_valid = 0
        slowest_bit = 1 << board.chips.index(slowest)
        next_report = t0 + 1.0
        while (now := clock.monotonic()) - t0 < OURS_RUN_S:
            f = array.read_frame()
            frames += 1
            invalid += f.invalid != 0
            slowest_valid += not f.invalid & slowest_bit
            if now >= next_report:
                print(f"    ours: {now - t0:.0f}/{OURS_RUN_S:.0f} s, {frames} frames", flush=True)
                next_report += 1.0
        wall = clock.monotonic() - t0
        # CPU of the driver and the modelled call costs over the run's (compensated) time:
        # the fake's bookkeeping is taken out, as CPU time (it runs on this CPU, in this
        # process, but a Pi's GPIO calls do not have it). An approximation: a preemption
        # during the bookkeeping is taken out too.
        real = time.monotonic() - real0
        overhead = (clock.excluded_ns - excluded0) / 1e9
        cpu = time.process_time() - cpu0 - overhead
        produced = slowest.conversions() - n0
        powerdowns = slowest.powerdowns - powerdowns0
        pulses = len(board.sck_high_ns)
        high_ns = sum(board.sck_high_ns)
        array.stop()
        return {
            "rate": frames / wall, "valid_rate": (frames - invalid) / wall, "chip_rate": slowest.rate_sps,
            "frames": frames, "produced": produced, "invalid": invalid, "cpu": cpu / wall,
            "overhead": overhead / real, "glitches": array.timing_glitches, "missed": array.missed_samples,
            "powerdowns": powerdowns, "wall": wall, "slowest_valid": slowest_valid,
            "kept_long": array.long_pulse_words_kept, "pulses": pulses,
            "sck_high_share": high_ns / 1e9 / wall,
        }
    finally:
        hx711_backend.time = saved_time  # type: ignore[assignment]
        uninstall_fake_gpio()


def _machine_stalls_per_s(seconds: float) -> float:
    """How often this machine takes the CPU away for longer than the chips' power-down limit
    from a thread running the driver's pattern (wake 80 times a second, run 1 ms), per second
    of running. A clock pulse that such a stall lands in powers the chips down, whatever
    the driver does. (A thread that never sleeps sees fewer: on the build machine, a virtual
    machine, stalls come more often to a thread that has just woken.)"""
    clock = time.perf_counter_ns
    stalls = running_ns = 0
    tick = time.monotonic()
    end = tick + seconds
    while tick < end:
        tick += 1 / 80
        time.sleep(max(0.0, tick - time.monotonic()))
        prev = start = clock()
        stop = start + 1_000_000
        while (now := clock()) < stop:
            if now - prev > POWER_DOWN_NS:
                stalls += 1
            prev = now
        running_ns += now - start
    return stalls / (running_ns / 1e9)


def _package(public_api: bool) -> dict[str, Any]:
    clock = CompensatedClock()
    board = install_fake_gpio(default_chips(DOUTS, sck=PACKAGE_SCKS, seed=11), call_cost_us=CALL_COST_US,
                              clock=clock)
    label = "package, get_raw_data(2)" if public_api else "package, _read()"
    try:
        hx711 = importlib.import_module("hx711")
        hx711 = importlib.reload(hx711)  # bind it to the fake RPi.GPIO installed just now
        hx711.time = clock  # its pulse timing and sleeps, on the clock the fake chips run on
        print(f"    {label}: setting up 8 chips (its constructor waits ~1 s per chip) ...", flush=True)
        chips = [hx711.HX711(dout_pin=d, pd_sck_pin=s) for d, s in zip(DOUTS, PACKAGE_SCKS, strict=True)]
        rounds = complete = failed = stalls = 0
        stalled_s = 0.0
        t0 = clock.monotonic()
        next_report = t0 + 1.0
        # The package can loop forever inside a read (its recovery after a slow pulse, and
        # get_raw_data, retry until they get their values, which a chip stuck mid-word never
        # gives): an alarm bounds each read, and the chip is then power-cycled like an
        # aborted one. Hung time does not count towards the run: it runs RUN_S without it.
        old_handler = signal.signal(signal.SIGALRM, _timeout)
        try:
            while (now := clock.monotonic()) - t0 - stalled_s < RUN_S and now - t0 < MAX_RUN_S:
                ok = True
                for hx in chips:
                    started = clock.monotonic()
                    try:
                        signal.setitimer(signal.ITIMER_REAL, STALL_S)
                        value = hx.get_raw_data(2) if public_api else hx._read()
                        signal.setitimer(signal.ITIMER_REAL, 0)
                    except _Deadline:  # (also if it fires just after the read returned)
                        signal.setitimer(signal.ITIMER_REAL, 0)
                        stalls += 1
                        stalled_s += clock.monotonic() - started
                        value = False
                    if value is False:
                        # An aborted read can leave the chip mid-word with DOUT high, where
                        # the package would wait forever: power-cycle it as its reset() does.
                        failed += 1
                        ok = False
                        hx.power_down()
                        hx.power_up()
                rounds += 1
                complete += ok
                if now >= next_report:
                    print(f"    {label}: {now - t0:.0f} s, {complete} frames, {stalls} hung reads", flush=True)
                    next_report += 1.0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        wall = clock.monotonic() - t0
        del board
        return {"rate": complete / (wall - stalled_s), "rate_with_hangs": complete / wall,
                "rounds": rounds / (wall - stalled_s), "failed": failed, "stalls": stalls,
                "stalled_s": stalled_s, "wall": wall}
    finally:
        uninstall_fake_gpio()


class _Deadline(Exception):
    pass


def _timeout(signum: int, frame: object) -> None:
    raise _Deadline


def run(report: Any) -> None:
    # The host's stalls come and go from minute to minute: count them on both sides of our run.
    stalls_before = _machine_stalls_per_s(STALL_COUNT_S)
    ours = _ours()
    stalls_after = _machine_stalls_per_s(STALL_COUNT_S)
    stalls = (stalls_before + stalls_after) / 2
    packages = {"api": _package(public_api=True), "read": _package(public_api=False)}
    chip = ours["chip_rate"]
    load = os.getloadavg()[0]
    # Keeping up with the chips: every conversion the slowest chip made reached the stream
    # as a valid value. The chips make fewer than their nominal rate when a preempted clock
    # pulse powers them down (they settle for four periods): the next row, against the
    # nominal rate, includes that loss.
    kept = min(100.0, 100.0 * ours["slowest_valid"] / ours["produced"]) if ours["produced"] else 0.0
    report.add(SECTION, "our backend, 8 channels, shared SCK: valid values / conversions the chips made", kept, "%",
               target=">= 98 % (sustains the chips' rate)", ok=kept >= 98.0,
               note=f"{ours['slowest_valid']} valid values of the slowest chip for its {ours['produced']} conversions "
               f"in {ours['wall']:.0f} s; load average {load:.1f} on {os.cpu_count()} CPUs")
    short = chip * ours["wall"] - ours["frames"]
    report.add(SECTION, "our backend, frames delivered", ours["rate"], "frames/s",
               target=f">= {0.98 * chip:.1f} (98 % of the slowest chip's nominal {chip:.1f} SPS)",
               ok=ours["rate"] >= 0.98 * chip,
               note=f"{ours['powerdowns']} times the chips powered down on a clock pulse over 60 us (the process "
               f"preempted mid-pulse), and they settle for four periods: {short:.0f} frames short of the nominal rate"
               + (f", {short / ours['powerdowns']:.1f} per power-down" if ours["powerdowns"] else ""))
    # Stalls land in a pulse in proportion to the share of time SCK is high.
    expected = stalls * ours["sck_high_share"]
    report.add(SECTION, "for reference: this machine's stalls over 60 us (waking 80 times/s)", stalls,
               "per s of running",
               note=f"{stalls_before:.0f} before our run, {stalls_after:.0f} after; "
               f"SCK was high {100 * ours['sck_high_share']:.2f} % of our run ({ours['pulses'] / ours['wall']:.0f} "
               f"pulses/s), so stalls alone would power the chips down about {expected:.2f} times/s; measured "
               f"{ours['powerdowns'] / ours['wall']:.2f}/s")
    report.add(SECTION, "our backend, frames with all 8 channels valid", ours["valid_rate"], "frames/s",
               note=f"{ours['invalid']} of {ours['frames']} frames had an invalid channel; "
               f"{ours['glitches']} words read with a clock pulse > 50 us (process preempted), "
               f"{ours['kept_long']} of them kept because the chips had not powered down")
    report.add(SECTION, "our backend, CPU share (incl. 3 us per GPIO call, this machine's Python)",
               100 * ours["cpu"], "% of a core",
               note=f"the fake chips' own bookkeeping ({100 * ours['overhead']:.0f} % of a core) taken out")
    for key, name in (("api", "hx711 package, its own way: get_raw_data(2) per chip, 8 chips one after another"),
                      ("read", "hx711 package, one internal _read() per chip (reference)")):
        pkg = packages[key]
        hung = (f"; {pkg['stalls']} reads hung in its retry loop (a chip left mid-word) and were cut after "
                f"{STALL_S:.0f} s: {pkg['stalled_s']:.0f} s of {pkg['wall']:.0f} s, taken out of the rate "
                f"({pkg['rate_with_hangs']:.1f} frames/s with them)" if pkg["stalls"] else "")
        report.add(SECTION, name, pkg["rate"], "frames/s",
                   note=f"{pkg['rounds']:.1f} rounds/s, {pkg['failed']} reads failed or aborted{hung}")
    # Like for like: a package frame is a round in which all eight chips gave a value.
    ratio = _ratio(ours["valid_rate"], packages["api"]["rate"])
    report.add(SECTION, "ratio ours / package its own way (frames with all 8 channels)", ratio, "x",
               target=">= 3", ok=ratio >= 3,
               note="the package's public read takes two readings per call, so each chip waits for a "
               "fresh conversion (its 10 ms polling sleep rounds the wait up) one chip after another")
    ratio_read = _ratio(ours["valid_rate"], packages["read"]["rate"])
    report.add(SECTION, "ratio ours / package's internal single read (reference)", ratio_read, "x",
               note="what is left when the package's reading code is driven at its fastest: its 10 ms sleep "
               "when a chip is not ready, and reads aborted on a clock pulse over 60 us")
    print(f"    ours {ours['valid_rate']:.1f} frames/s vs package {packages['api']['rate']:.1f} (its own way), "
          f"{packages['read']['rate']:.1f} (single reads): {ratio:.1f}x, {ratio_read:.1f}x", flush=True)


def _ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("inf")
