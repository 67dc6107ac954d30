"""The Pico firmware (MicroPython) run on CPython: its program is hx711.pio's, and its loop,
driving the emulated state machine and eight fake chips, sends frames the host reader takes.

MicroPython's ``rp2`` and ``machine`` modules are stood in for by the little they are asked
for here: ``rp2.asm_pio`` as MicroPython's does it (the decorated function runs with the
instruction names in its module globals), and the state machine by
:class:`hardware.pio.emulated.EmulatedArray` in firmware mode.
"""

from __future__ import annotations

import importlib.util
import io
import struct
import sys
import time
import types
from pathlib import Path

import pytest

from hardware.fakes.rpi_gpio import default_chips
from hardware.pico.firmware import protocol
from hardware.pio import program as pio
from hardware.pio.emulated import EmulatedArray
from hardware.pio.frames import unpack_words

pytest.importorskip("pioemu")
pytest.importorskip("adafruit_pioasm")

FIRMWARE = Path(__file__).resolve().parents[2] / "hardware" / "pico" / "firmware"


def _fake_rp2() -> types.ModuleType:
    rp2 = types.ModuleType("rp2")

    class PIO:
        OUT_LOW, SHIFT_LEFT, JOIN_RX = 2, 0, 2

    def asm_pio(**config):
        def dec(f):
            prog = {"words": [], "wrap_target": None, "wrap": None, "config": config}
            names = {
                "word": lambda w: prog["words"].append(w),
                "wrap_target": lambda: prog.__setitem__("wrap_target", len(prog["words"])),
                "wrap": lambda: prog.__setitem__("wrap", len(prog["words"]) - 1),
            }
            saved = dict(f.__globals__)
            f.__globals__.clear()
            f.__globals__.update(names)
            try:
                f()
            finally:
                f.__globals__.clear()
                f.__globals__.update(saved)
            return prog
        return dec

    rp2.PIO = PIO  # type: ignore[attr-defined]
    rp2.asm_pio = asm_pio  # type: ignore[attr-defined]
    return rp2


@pytest.fixture
def firmware(monkeypatch):
    monkeypatch.setitem(sys.modules, "rp2", _fake_rp2())
    machine = types.ModuleType("machine")
    machine.Pin = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setattr(time, "ticks_us", lambda: 0, raising=False)
    # the board's flat file system: main.py imports its neighbours by their bare names
    for name, path in [("protocol", FIRMWARE / "protocol.py"), ("hx711_program", FIRMWARE / "hx711_program.py"),
                       ("policy", Path(pio.__file__).with_name("policy.py"))]:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        monkeypatch.setitem(sys.modules, name, mod)
    spec = importlib.util.spec_from_file_location("pico_main", FIRMWARE / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)  # not __main__: defines, does not run
    return main


def test_the_firmware_loads_the_assembled_program(firmware):
    prog = pio.assemble()
    assert firmware.hx711["words"] == list(prog.words)
    assert (firmware.hx711["wrap_target"], firmware.hx711["wrap"]) == (prog.wrap_target, prog.wrap)
    cfg = firmware.hx711["config"]
    assert cfg["autopush"] and cfg["push_thresh"] == 32 and cfg["fifo_join"] == 2


def test_the_firmware_loop_sends_what_the_chips_converted(firmware):
    chips = default_chips(dout_pins=range(8), noise_counts=0)
    chips[4].disconnected = True
    sm = EmulatedArray(chips, firmware=False)
    out = io.BytesIO()
    typed = iter("hello\n")
    waiting = ["hello\n"]

    def input_waiting():
        return bool(waiting[0])

    def read_char():
        waiting[0] = waiting[0][1:]
        return next(typed)

    firmware.run(sm, out, input_waiting, read_char, sm.ticks_us, boot_id=77, frames=20)
    packets = protocol.Parser().feed(out.getvalue())
    kinds = [k for k, _ in packets]
    # the hello goes out while the first frame is awaited (the 0.21 s time-out)
    assert kinds[0] == protocol.KIND_HELLO and kinds.count(protocol.KIND_FRAME) == 20
    hello = struct.unpack(protocol.HELLO_FORMAT, packets[0][1])
    assert hello[0] == protocol.PROTOCOL_VERSION and hello[2] == 77
    frames = [struct.unpack(protocol.FRAME_FORMAT, p) for k, p in packets if k == protocol.KIND_FRAME]
    assert [f[0] for f in frames] == list(range(20))                 # sequence numbers
    ticks = [f[1] for f in frames]
    assert all(9_000 < b - a < 13_000 for a, b in zip(ticks[1:], ticks[2:], strict=False))  # ~80 Hz
    # the first frame waited the time-out for the missing chip; then it was not waited for
    assert frames[0][2] == 1 << 4 and frames[0][3] == 1 << 4
    assert ticks[0] > pio.timeout_s(16) * 1e6
    values = unpack_words([f[6:] for f in frames])
    for k, c in enumerate(chips):
        if k != 4:
            assert set(values[:, k].tolist()) == {c.value}


def test_the_firmware_resets_the_chips_when_one_gets_ready_mid_read(firmware):
    chips = default_chips(dout_pins=range(8), noise_counts=0)
    chips[2].disconnected = True
    sm = EmulatedArray(chips, firmware=False)
    quiet = (lambda: False, lambda: "")
    firmware.run(sm, io.BytesIO(), *quiet, sm.ticks_us, boot_id=1, frames=3)
    # plug chip 2 back so that its first conversion completes 20 us into a read (as in
    # test_pio_program: the next frames come when the last of the others is ready)
    read_at = sm.state.clock * 200
    for _ in range(5):
        read_at = max(c._t0 + (c._newest(read_at) + 1) * c.period_ns for c in chips if c is not chips[2])
    sm.at(read_at + 20_000 - 4 * chips[2].period_ns, lambda: setattr(chips[2], "disconnected", False))
    out = io.BytesIO()
    firmware.run(sm, out, *quiet, sm.ticks_us, boot_id=1, frames=30)
    frames = [struct.unpack(protocol.FRAME_FORMAT, p) for _, p in protocol.Parser().feed(out.getvalue())]
    flagged = [f for f in frames if f[4] & protocol.FLAG_RESET]
    assert sm.resets == len(flagged) == 1 and flagged[0][2] == 1 << 2
    last = frames[-1]
    assert last[2] == 0 and list(unpack_words(last[6:])) == [c.value for c in chips]
