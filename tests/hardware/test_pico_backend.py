"""The Pico protocol on CPython, and the host reader against a fake board on a pty."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest

from hardware.pico.backend import PicoLoadCellSource
from hardware.pico.clockmap import ClockMap
from hardware.pico.fake_device import FakePicoDevice
from hardware.pico.firmware import protocol
from hardware.pio.frames import pack_words
from station.core.errors import HardwareError

pytest.importorskip("serial")


def test_crc_check_value():
    assert protocol.crc16(b"123456789") == 0x29B1


def test_frame_round_trip_and_resync_after_garbage():
    words = pack_words(list(range(-4, 4))).tolist()
    pkt = protocol.pack_frame(7, 123456, 0b10, 0b10, protocol.FLAG_RESET, words)
    p = protocol.Parser()
    bad = bytearray(pkt)
    bad[10] ^= 0x04
    stream = b"\x00\xa5\x5a\xff" + bytes(bad) + b"junk\xa5" + pkt
    got = []
    for i in range(0, len(stream), 5):  # in pieces, as a serial port delivers it
        got += p.feed(stream[i:i + 5])
    assert len(got) == 1 and p.crc_errors == 1 and p.garbage_bytes > 0
    kind, payload = got[0]
    seq, t, nr, pat, flags, _, *w = struct.unpack(protocol.FRAME_FORMAT, payload)
    assert (kind, seq, t, nr, pat, flags, w) == (protocol.KIND_FRAME, 7, 123456, 2, 2, 1, words)


@pytest.fixture
def device(tmp_path):
    devs = []

    def make(**kw):
        d = FakePicoDevice(tmp_path / "ttyPICO", **kw).plug()
        devs.append(d)
        return d

    yield make
    for d in devs:
        d.unplug()


def test_frames_values_and_clock_mapping(device):
    dev = device(drift_ppm=80.0)
    src = PicoLoadCellSource(str(dev.link))
    with src:
        frames, seqs = [], []
        for _ in range(240):  # 3 s
            frames.append(src.read_frame())
            seqs.append(src.last_seq)
        st = src.status()
    assert all(f.counts == tuple(dev.values) and f.invalid == 0 for f in frames)
    assert st["lost_frames"] == 0 and st["crc_errors"] == 0
    # mapped times against the moment the board's frame was ready (ground truth); the
    # first 64 frames are the map's learning time
    truth = dict(dev.sent)
    errors_ms = [(f.t_ns - truth[s]) / 1e6 for s, f in zip(seqs, frames, strict=True)][64:]
    assert max(abs(e) for e in errors_ms) < 1.0
    assert st["clock_residual_us"] > 0


def test_clock_map_finds_drift_and_offset():
    rng = np.random.default_rng(0)
    cm = ClockMap()
    board_us = np.arange(0, 60_000_000, 12_500)             # 60 s of frames at 80 Hz
    true_ns = 5e12 + board_us * 1000 / (1 + 80e-6)          # the board runs 80 ppm fast
    latency = 400_000 + rng.exponential(300_000, board_us.size)  # USB + wake-up, >= 0.4 ms
    errors = []
    for b, t, lat in zip(board_us, true_ns, latency, strict=True):
        cm.add(int(b), int(t + lat))
        errors.append(cm.to_host_ns(int(b)) - t)
    assert abs(cm.drift_ppm + 80) < 3                        # host ns per board us: slower
    late = np.array(errors[200:]) / 1e3                      # us, after 2.5 s of learning
    # the map sits at the least-delayed frames: the constant 0.4 ms latency, within 0.05 ms
    assert late.min() > 340 and late.max() < 440
    assert 200 < cm.residual_us < 500                        # the jitter it reports


def test_corruption_is_dropped_and_counted(device):
    dev = device(garbage_prob=0.2, flip_prob=0.1, drop_prob=0.05, seed=2)
    with PicoLoadCellSource(str(dev.link)) as src:
        frames = [src.read_frame() for _ in range(200)]
        st = src.status()
    assert all(f.counts == tuple(dev.values) for f in frames)   # no corrupt value got through
    assert st["crc_errors"] > 0 and st["garbage_bytes"] > 0
    # every frame sent but not delivered is counted lost (a last one may still be in flight)
    assert st["lost_frames"] + st["frames"] in (dev.seq - 1, dev.seq, dev.seq - 2)


def test_missing_chip_is_invalid_and_dead(device):
    dev = device(missing=1 << 6)
    with PicoLoadCellSource(str(dev.link)) as src:
        frames = [src.read_frame() for _ in range(20)]
        health = src.health()
    assert all(f.invalid == 1 << 6 for f in frames)
    assert health[6].state == "dead" and "GP9" in (health[6].last_error or "")
    assert [h.state for h in health[:6]] == ["ok"] * 6
    assert frames[-1].counts[6] == 0  # never a value: keeps 0


def test_saturation_codes_are_invalid(device):
    dev = device(values=[0x7FFFFF, -0x800000, 5, 5, 5, 5, 5, 5])
    with PicoLoadCellSource(str(dev.link)) as src:
        f = [src.read_frame() for _ in range(5)][-1]
        assert f.invalid == 0b11 and src.health()[0].saturated == 5


def test_stall_raises_then_frames_resume(device):
    dev = device()
    with PicoLoadCellSource(str(dev.link), array_timeout_s=0.3) as src:
        src.read_frame()
        dev.stall(0.6)
        with pytest.raises(HardwareError, match="no frame"):
            while True:
                src.read_frame()
        time.sleep(0.4)
        src.read_frame()
        assert src.status()["lost_frames"] >= 30   # 0.6 s at 80 Hz not sent


def test_unplug_and_replug(device):
    dev = device()
    with PicoLoadCellSource(str(dev.link), array_timeout_s=2.0) as src:
        [src.read_frame() for _ in range(10)]
        boot = src.hello.boot_id
        dev.unplug()
        time.sleep(0.2)
        dev.plug()  # a new pty under the same name, a new boot: seq and clock from 0
        frames = [src.read_frame() for _ in range(30)]
        st = src.status()
    assert st["reconnects"] == 1 and src.hello.boot_id != boot
    assert st["lost_frames"] == 0  # a reboot restarts the sequence: nothing counted lost
    assert all(f.counts == tuple(dev.values) for f in frames)
    assert all(b.t_ns > a.t_ns for a, b in zip(frames, frames[1:], strict=False))


def test_unplugged_for_good_raises(device):
    dev = device()
    with PicoLoadCellSource(str(dev.link), array_timeout_s=0.4) as src:
        src.read_frame()
        dev.unplug()
        with pytest.raises(HardwareError):
            while True:
                src.read_frame()


def test_wrong_firmware_version_is_refused(device):
    dev = device(protocol_version=99)
    src = PicoLoadCellSource(str(dev.link))
    with pytest.raises(HardwareError, match="protocol version 99"):
        src.start()


def test_no_device_is_a_clear_error(tmp_path):
    with pytest.raises(HardwareError, match="cannot open"):
        PicoLoadCellSource(str(tmp_path / "nothing")).start()


def test_factory_selects_pico_and_never_falls_back(device, monkeypatch, tmp_path):
    from hardware.factory import make_load_cell_source
    from station.core.config import load_settings

    dev = device()
    src = make_load_cell_source(load_settings(hardware="pico", pico_port=str(dev.link)))
    assert isinstance(src, PicoLoadCellSource)
    with src:
        assert src.read_frame().counts == tuple(dev.values)
    gone = make_load_cell_source(load_settings(hardware="pico", pico_port=str(tmp_path / "none")))
    with pytest.raises(HardwareError):
        gone.start()
    monkeypatch.setenv("STATION_HARDWARE", "pico")
    assert load_settings().hardware == "pico"
