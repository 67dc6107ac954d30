"""Eight-channel HX711 frame rate: our shared-clock backend vs the PyPI ``hx711`` package.

Both run unmodified against the fake ``RPi.GPIO`` (hardware.fakes): eight simulated chips
with their own data-ready timing (80-93 SPS), 25 clock pulses per word, power-down on a
clock pulse over 60 us, and a busy cost of 3 us per GPIO call (about RPi.GPIO / rpi-lgpio
on a Raspberry Pi 4). Our backend reads all eight chips on one shared SCK; the package reads
one chip after another, each on its own SCK (the wiring it expects), through its ``_read()``
(one reading; its public ``get_raw_data`` takes at least two per call). A frame of the
package is one round over the eight chips in which every chip returned a value.

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

from hardware.fakes import CompensatedClock, default_chips, install_fake_gpio, uninstall_fake_gpio

SECTION = "hx711 backend"
RUN_S = 5.0
CALL_COST_US = 3.0
STALL_S = 1.0  # one read of the package taking longer than this (real time) has stalled
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
        cpu0, real0, excluded0 = time.process_time(), time.monotonic(), clock.excluded_ns
        t0 = clock.monotonic()
        frames = invalid = 0
        next_report = t0 + 1.0
        while (now := clock.monotonic()) - t0 < RUN_S:
            f = array.read_frame()
            frames += 1
            invalid += f.invalid != 0
            if now >= next_report:
                print(f"    ours: {now - t0:.0f}/{RUN_S:.0f} s, {frames} frames", flush=True)
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
        array.stop()
        return {
            "rate": frames / wall, "valid_rate": (frames - invalid) / wall, "chip_rate": slowest.rate_sps,
            "frames": frames, "produced": produced, "invalid": invalid, "cpu": cpu / wall,
            "overhead": overhead / real, "glitches": array.timing_glitches, "missed": array.missed_samples,
        }
    finally:
        hx711_backend.time = saved_time  # type: ignore[assignment]
        uninstall_fake_gpio()


def _package() -> dict[str, Any]:
    clock = CompensatedClock()
    board = install_fake_gpio(default_chips(DOUTS, sck=PACKAGE_SCKS, seed=11), call_cost_us=CALL_COST_US,
                              clock=clock)
    try:
        hx711 = importlib.import_module("hx711")
        hx711 = importlib.reload(hx711)  # bind it to the fake RPi.GPIO installed just now
        hx711.time = clock  # its pulse timing and sleeps, on the clock the fake chips run on
        print("    package: setting up 8 chips (its constructor waits ~1 s per chip) ...", flush=True)
        chips = [hx711.HX711(dout_pin=d, pd_sck_pin=s) for d, s in zip(DOUTS, PACKAGE_SCKS, strict=True)]
        rounds = complete = failed = stalls = 0
        t0 = clock.monotonic()
        next_report = t0 + 1.0
        # The package can loop forever inside a read (its recovery after a slow pulse
        # retries until it gets six values, which a chip stuck mid-word never gives): an
        # alarm bounds each read, and the chip is then power-cycled like an aborted one.
        old_handler = signal.signal(signal.SIGALRM, _timeout)
        try:
            while (now := clock.monotonic()) - t0 < RUN_S:
                ok = True
                for hx in chips:
                    signal.setitimer(signal.ITIMER_REAL, STALL_S)
                    try:
                        value = hx._read()
                    except _Deadline:
                        stalls += 1
                        value = False
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
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
                    print(f"    package: {now - t0:.0f}/{RUN_S:.0f} s, {complete} frames", flush=True)
                    next_report += 1.0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        wall = clock.monotonic() - t0
        del board
        return {"rate": complete / wall, "rounds": rounds / wall, "failed": failed, "stalls": stalls}
    finally:
        uninstall_fake_gpio()


class _Deadline(Exception):
    pass


def _timeout(signum: int, frame: object) -> None:
    raise _Deadline


def run(report: Any) -> None:
    ours = _ours()
    pkg = _package()
    chip = ours["chip_rate"]
    load = os.getloadavg()[0]
    report.add(SECTION, "our backend, 8 channels, shared SCK, frames delivered", ours["rate"], "frames/s",
               target=f">= {0.98 * chip:.1f} (98 % of the slowest chip's {chip:.1f} SPS)",
               ok=ours["rate"] >= 0.98 * chip,
               note=f"load average {load:.1f} on {os.cpu_count()} CPUs during the run")
    lost = max(0, ours["produced"] - ours["frames"])
    report.add(SECTION, "our backend, conversions lost", lost, "frames",
               note=f"{ours['produced']} conversions of the slowest chip in {RUN_S:.0f} s; "
               f"{ours['missed']} seen as missed by the backend")
    report.add(SECTION, "our backend, frames with all 8 channels valid", ours["valid_rate"], "frames/s",
               note=f"{ours['invalid']} of {ours['frames']} frames had an invalid channel; "
               f"{ours['glitches']} words dropped for a clock pulse > 50 us (process preempted)")
    report.add(SECTION, "our backend, CPU share (incl. 3 us per GPIO call, this machine's Python)",
               100 * ours["cpu"], "% of a core",
               note=f"the fake chips' own bookkeeping ({100 * ours['overhead']:.0f} % of a core) taken out")
    stalled = (f"; {pkg['stalls']} reads stalled in its own retry loop (a chip stuck mid-word) and were "
               f"cut short after {STALL_S:.0f} s" if pkg["stalls"] else "")
    report.add(SECTION, "hx711 package, 8 chips one after another", pkg["rate"], "frames/s",
               note=f"{pkg['rounds']:.1f} rounds/s, {pkg['failed']} reads aborted by the package{stalled}")
    # Like for like: a package frame is a round in which all eight chips gave a value.
    ratio = ours["valid_rate"] / pkg["rate"] if pkg["rate"] else float("inf")
    report.add(SECTION, "ratio ours / package (frames with all 8 channels)", ratio, "x", target=">= 3",
               ok=ratio >= 3,
               note="the package sleeps 10 ms whenever a chip is not ready yet, and stalls or aborts "
               "when a clock pulse exceeds 60 us")
    print(f"    ours {ours['valid_rate']:.1f} frames/s vs package {pkg['rate']:.1f} frames/s: {ratio:.1f}x",
          flush=True)
