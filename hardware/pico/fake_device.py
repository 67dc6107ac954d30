"""A fake Pico board on a pseudo-terminal, speaking the firmware's protocol (tests, benchmarks).

A thread plays the board: every ``1 / rate_hz`` s it writes a frame (the six bit-sliced
words of ``values``, from :func:`hardware.pio.frames.pack_words`) stamped with its own
microsecond clock, which runs ``drift_ppm`` fast and starts at a random point, wrapping at
2**30 as MicroPython's ``ticks_us`` does; it answers ``hello``. The reader opens the pty
through a symlink (``link``), as it would open ``/dev/serial/by-id/...`` on a Pi, so
:meth:`unplug` / :meth:`replug` (a new pty, a new boot id, the sequence from 0) look like a
real unplug to it: reads fail with an I/O error, then the name points at a new device.

Faults: ``missing`` (chips never ready: their not-ready bit, and the board stops waiting for
them), ``garbage_prob`` (random bytes before a frame), ``flip_prob`` (a flipped bit in a
frame: its CRC fails), ``drop_prob`` (a frame never written), :meth:`stall` (the link
delivers nothing for a while; the board's sequence runs on).
Ground truth: ``sent`` holds (seq, host monotonic ns at the frame's data-ready moment).
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import tty
from pathlib import Path

from hardware.pico.firmware import protocol
from hardware.pio.frames import pack_words


class FakePicoDevice:
    def __init__(
        self,
        link: Path,
        *,
        values: list[int] | None = None,
        rate_hz: float = 80.0,
        drift_ppm: float = 40.0,
        missing: int = 0,
        garbage_prob: float = 0.0,
        flip_prob: float = 0.0,
        drop_prob: float = 0.0,
        protocol_version: int = protocol.PROTOCOL_VERSION,
        seed: int = 0,
    ) -> None:
        self.link = Path(link)
        self.values = list(values) if values is not None else [100_000 + 1000 * k for k in range(8)]
        self.rate_hz = rate_hz
        self.drift_ppm = drift_ppm
        self.missing = missing
        self.garbage_prob = garbage_prob
        self.flip_prob = flip_prob
        self.drop_prob = drop_prob
        self.protocol_version = protocol_version
        self._rng = random.Random(seed)
        self.sent: list[tuple[int, int]] = []
        self.hellos = 0
        self._stall_until = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = -1
        self._slave = -1

    # --- plugging ---------------------------------------------------------------------
    def plug(self) -> FakePicoDevice:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.boot_id = self._rng.getrandbits(32)
        self.seq = 0
        self._t0_ns = time.monotonic_ns()
        self._ticks0 = self._rng.randrange(protocol.TICKS_PERIOD)
        tmp = self.link.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fake-pico", daemon=True)
        self._thread.start()
        return self

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    def replug(self) -> None:
        self.unplug()
        self.plug()

    def stall(self, seconds: float) -> None:
        """The board stops sending (e.g. its loop blocked) for ``seconds``."""
        self._stall_until = time.monotonic() + seconds

    # --- the board --------------------------------------------------------------------
    def ticks_us(self, host_ns: int) -> int:
        elapsed_us = (host_ns - self._t0_ns) / 1000 * (1 + self.drift_ppm * 1e-6)
        return (self._ticks0 + int(elapsed_us)) % protocol.TICKS_PERIOD

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # nobody reading: USB drops it
            os.write(self._master, data)

    def _run(self) -> None:
        period_ns = int(1e9 / self.rate_hz)
        hello = protocol.pack_hello(self.boot_id, 5_000_000, 8, 2, 3, 1,
                                    protocol_version=self.protocol_version)
        line = b""
        next_ns = time.monotonic_ns() + period_ns
        while not self._stop.is_set():
            with contextlib.suppress(BlockingIOError, OSError):
                for ch in os.read(self._master, 256):
                    if ch == 0x0A:
                        if line == b"hello":
                            self.hellos += 1
                            self._write(hello)
                        line = b""
                    else:
                        line = (line + bytes([ch]))[-16:]
            now = time.monotonic_ns()
            if now < next_ns:
                time.sleep(min(0.002, (next_ns - now) / 1e9))
                continue
            t_ready = next_ns
            next_ns += period_ns
            if time.monotonic() < self._stall_until:
                self.seq += 1  # the link stalls: frames made, never delivered
                continue
            self._send(t_ready)

    def _send(self, t_ready_ns: int) -> None:
        with self._lock:
            values = list(self.values)
        words = pack_words(values).tolist()
        pkt = bytearray(protocol.pack_frame(self.seq, self.ticks_us(t_ready_ns), self.missing,
                                            self.missing, 0, words))
        self.sent.append((self.seq, t_ready_ns))
        self.seq += 1
        if self._rng.random() < self.drop_prob:
            return
        if self._rng.random() < self.flip_prob:
            i = self._rng.randrange(2, len(pkt))
            pkt[i] ^= 1 << self._rng.randrange(8)
        if self._rng.random() < self.garbage_prob:
            self._write(bytes(self._rng.getrandbits(8) for _ in range(self._rng.randint(1, 40))))
        self._write(bytes(pkt))
