"""The PIO path: SCK widths at each chip's clock, 10 000 emulated conversions, the Pico reader.

* SCK high time of the HX711 PIO program at each system clock (its state machine runs at
  5 MHz through an integer divider: 1.0 us everywhere; with a fractional divider, e.g.
  133 MHz, some cycles are a system cycle longer).
* 10 000 conversions of the slowest of eight fake HX711 chips (80-93 SPS) emulated cycle by
  cycle in pioemu (``hardware.pio.emulated``): frames delivered and frames whose eight values
  equal what the chips latched.
* The Pico host reader against the fake board on a pty at 80 Hz: CPU of the reader's process
  with the fake board in another process (as the real board is another machine), the
  clock-mapping error against the fake board's ground truth (board in a thread, to see its
  truth), and throughput unpaced (the fake sending as fast as it can).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from pathlib import Path

from hardware.fakes.rpi_gpio import default_chips
from hardware.pico.backend import PicoLoadCellSource
from hardware.pico.fake_device import FakePicoDevice
from hardware.pio import program as pio
from hardware.pio.emulated import EmulatedArray
from hardware.pio.frames import unpack_words

SECTION = "PIO path (hx711)"
CONVERSIONS = 10_000


def _emulated(report) -> None:
    chips = default_chips(dout_pins=range(8), seed=11)
    arr = EmulatedArray(chips)
    t0 = time.perf_counter()
    frames = arr.run(frames=CONVERSIONS)
    wall = time.perf_counter() - t0
    counts = [0] * 8
    correct = 0
    for f in frames:
        got = unpack_words(f.words)
        ok = f.not_ready == 0
        for k, c in enumerate(chips):
            w = c.delivered[counts[k]].word
            counts[k] += 1
            ok = ok and got[k] == (w - (1 << 24) if w & 0x800000 else w)
        correct += ok
    slowest = min(range(8), key=lambda k: chips[k].rate_sps)
    made = chips[slowest].conversions(frames[-1].t_cycle * 200) - chips[slowest].delivered[0].conversion
    report.add(SECTION, "emulated: frames delivered / slowest chip's conversions", f"{len(frames)} / {made}",
               target="100 %, 0 lost", ok=len(frames) == made and chips[slowest].overruns == 0)
    report.add(SECTION, "emulated: frames with all 8 values equal to the chips' words", correct, "frames",
               target=str(CONVERSIONS), ok=correct == CONVERSIONS)
    report.add(SECTION, "emulated: wall time for 10 000 conversions (pioemu, this machine)", wall, "s",
               note=f"{arr.steps} instructions emulated, {arr.skipped_rounds} idle polling rounds skipped")


def _device_process(link: str, ready, seconds: float) -> None:
    FakePicoDevice(Path(link)).plug()
    ready.set()
    time.sleep(seconds)


def _reader_cpu(tmp: str) -> float:
    link = str(Path(tmp) / "ttyCPU")
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_device_process, args=(link, ready, 30.0), daemon=True)
    proc.start()
    try:
        ready.wait(10)
        with PicoLoadCellSource(link) as src:
            for _ in range(40):
                src.read_frame()
            cpu0, wall0 = time.process_time(), time.monotonic()
            for _ in range(800):  # 10 s at 80 Hz
                src.read_frame()
            return (time.process_time() - cpu0) / (time.monotonic() - wall0)
    finally:
        proc.terminate()
        proc.join()


def _reader(report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cpu = _reader_cpu(tmp)
        report.add(SECTION, "Pico reader CPU at 80 Hz (its process; the fake board in another)", 100 * cpu,
                   "% of a core", target="< 1 %", ok=cpu < 0.01)
        dev = FakePicoDevice(Path(tmp) / "ttyPICO", drift_ppm=50.0).plug()
        try:
            with PicoLoadCellSource(str(dev.link)) as src:
                for _ in range(80):
                    src.read_frame()  # the clock map learns
                frames = []
                for _ in range(800):  # 10 s at 80 Hz
                    frames.append((src.read_frame().t_ns, src.last_seq))
                truth = dict(dev.sent)
                errors = [abs(t - truth[seq]) / 1e6 for t, seq in frames]
                st = src.status()
        finally:
            dev.unplug()
        report.add(SECTION, "clock mapping error, max over 10 s (vs the fake board's truth)", max(errors), "ms",
                   target="< 1 ms", ok=max(errors) < 1.0,
                   note=f"reported residual RMS {st['clock_residual_us']} us, drift {st['clock_drift_ppm']} ppm "
                   "(true 50)")
        dev = FakePicoDevice(Path(tmp) / "ttyPICO2", rate_hz=20_000).plug()
        try:
            with PicoLoadCellSource(str(dev.link)) as src:
                t0 = time.monotonic()
                n = 0
                while time.monotonic() - t0 < 2.0:
                    src.read_frame()
                    n += 1
        finally:
            dev.unplug()
        report.add(SECTION, "Pico reader throughput, unpaced (fake board as fast as it can)", n / 2.0, "frames/s",
                   note="bounded by the fake board's thread in the same process")


def run(report) -> None:
    for name, hz in [*pio.SYS_CLOCKS_HZ.items(), ("RP2040 at 133 MHz (fractional divider)", 133_000_000)]:
        lo, hi = pio.sck_high_ns(hz)
        report.add(SECTION, f"SCK high time, {name}", f"{lo / 1000:.3f}-{hi / 1000:.3f}", "us",
                   target="0.2-50 us with margin", ok=lo >= 800 and hi <= 1250)
    _reader(report)
    _emulated(report)
