"""The ``pico`` backend: eight HX711 read by an RP2040 board's PIO, frames over USB serial.

The board (firmware in ``hardware/pico/firmware``) does all the timing; this reader only
parses its packets (:mod:`hardware.pico.firmware.protocol`), decodes the bit-sliced words
(:func:`hardware.pio.frames.unpack_words`) and maps the board's microseconds onto
``time.monotonic_ns()`` (:class:`hardware.pico.clockmap.ClockMap`).

What it copes with, counted in :meth:`PicoLoadCellSource.status`:

* garbage and flipped bits on the line: packets are found by their sync bytes and checked
  by CRC (``garbage_bytes``, ``crc_errors``); a lost packet shows as a gap in the sequence
  numbers (``lost_frames``);
* a chip that is not ready (unplugged, broken wire): its bit in the frame's ``not_ready``;
  the board stops waiting for it after one time-out (0.21 s), the channel is **dead** here;
* a stall (no packet for ``array_timeout_s``): ``read_frame`` raises ``HardwareError``, the
  caller may call again;
* unplug and replug: the port is reopened (use a stable name such as
  ``/dev/serial/by-id/...``), the firmware is asked for its hello again, and a new boot id
  restarts the sequence numbers and the clock map;
* another firmware: the hello's protocol version must match, or start-up fails saying so.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import struct
import time
from collections import deque
from dataclasses import replace
from typing import Any

from hardware.base import (
    HX711_CODE_MAX,
    HX711_CODE_MIN,
    N_CHANNELS,
    ChannelHealth,
    LoadCellFrame,
    LoadCellSource,
    rate_hz_from_times,
)
from hardware.pico.clockmap import ClockMap
from hardware.pico.firmware import protocol
from hardware.pio.frames import unpack_words
from station.core.errors import HardwareError
from station.core.geometry import CHANNELS

log = logging.getLogger(__name__)

#: USB ids of a board running MicroPython (Raspberry Pi's vendor id, MicroPython's product id).
USB_VID, USB_PID = 0x2E8A, 0x0005


class Hello:
    def __init__(self, payload: bytes) -> None:
        (self.protocol_version, self.firmware_version, self.boot_id, self.sm_hz, self.n_chips,
         self.sck_pin, self.dout_base, self.extra_pulses) = struct.unpack(protocol.HELLO_FORMAT, payload)


def find_port() -> str:
    """The first serial port of a MicroPython RP2040 board (by USB id)."""
    from serial.tools import list_ports

    for p in list_ports.comports():
        if p.vid == USB_VID and p.pid == USB_PID:
            return str(p.device)
    raise HardwareError(
        "no Pico board running MicroPython is plugged in (no USB serial port 2e8a:0005)",
        hint="Plug the board in, or set STATION_PICO_PORT to its port (e.g. /dev/ttyACM0); "
        "to put the firmware on it see docs/hx711.md, 'The Pico path'.",
    )


class PicoLoadCellSource(LoadCellSource):
    """Frames from the Pico firmware on a serial port, as a :class:`LoadCellSource`."""

    def __init__(
        self,
        port: str | None = None,
        rate_hz: float = 80,
        *,
        array_timeout_s: float = 1.0,
        hello_timeout_s: float = 2.0,
        reopen_interval_s: float = 0.1,
    ) -> None:
        self.port = port
        self.rate_hz = float(rate_hz)
        self.array_timeout_s = array_timeout_s
        self.hello_timeout_s = hello_timeout_s
        self.reopen_interval_s = reopen_interval_s
        self._serial: Any = None
        self._parser = protocol.Parser()
        self._queue: deque[tuple[int, bytes]] = deque()
        self.clock = ClockMap()
        self.hello: Hello | None = None
        self._health = [ChannelHealth(name) for name in CHANNELS]
        self._last_good = [0] * N_CHANNELS
        self._any_dead = False
        self._last_seq: int | None = None
        self._ticks_last: int | None = None
        self._ticks_base = 0
        self._last_any_ready_ns = 0
        self._frame_times: deque[int] = deque(maxlen=int(2 * rate_hz) + 1)
        self.frames_read = 0
        self.lost_frames = 0
        self.reconnects = 0
        self.board_resets = 0
        self.boots = 0

    # --- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        self._open()

    def stop(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except OSError as exc:  # never mask the reason we stop
                log.warning("closing %s failed: %s", self.port, exc)

    def _open(self) -> None:
        """Open the port and shake hands; raise HardwareError if that fails."""
        try:
            import serial  # pyserial, imported here: only this backend needs it
        except ImportError:
            raise HardwareError(
                "pyserial is not installed, so the Pico board cannot be read",
                hint="pip install pyserial (it comes with the station's dependencies)",
            ) from None
        port = self.port or find_port()
        try:
            ser = serial.Serial(port, 115200, timeout=0.02)
        except (OSError, ValueError) as exc:
            raise HardwareError(
                f"cannot open the Pico board's serial port {port}: {exc}",
                hint="Check the USB cable, that the user is in the 'dialout' group, and "
                "STATION_PICO_PORT.",
            ) from exc
        self._serial = ser
        self._parser.buf = bytearray()  # a cut packet of the old connection is garbage
        self._queue.clear()
        try:
            hello = self._handshake()
        except HardwareError:
            self.stop()
            raise
        if self.hello is None or hello.boot_id != self.hello.boot_id:
            # a new board or a reboot: its sequence and clock start again
            self.boots += 1
            self._last_seq = None
            self._ticks_last = None
            self._ticks_base = 0
            self.clock.reset()
        self.hello = hello

    def _handshake(self) -> Hello:
        deadline = time.monotonic() + self.hello_timeout_s
        next_ask = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_ask:
                self._serial.write(protocol.HELLO_COMMAND)
                next_ask = time.monotonic() + 0.5
            for kind, payload in self._parser.feed(self._serial.read(256)):
                if kind != protocol.KIND_HELLO:
                    continue  # frames before the hello: of a firmware not yet checked
                if len(payload) != protocol.HELLO_SIZE:
                    raise self._version_error(f"a hello of {len(payload)} bytes")
                hello = Hello(payload)
                if hello.protocol_version != protocol.PROTOCOL_VERSION:
                    raise self._version_error(f"protocol version {hello.protocol_version}")
                return hello
        raise HardwareError(
            f"the board on {self.port} did not answer the hello within {self.hello_timeout_s:.1f} s",
            hint="Is the station firmware on it? See docs/hx711.md, 'The Pico path'.",
        )

    def _version_error(self, what: str) -> HardwareError:
        return HardwareError(
            f"the Pico firmware on {self.port} speaks {what}; this station needs protocol "
            f"version {protocol.PROTOCOL_VERSION}",
            hint="Copy the firmware of this station version to the board (docs/hx711.md, "
            "'The Pico path').",
        )

    # --- reading ----------------------------------------------------------------------
    def read_frame(self) -> LoadCellFrame:
        deadline = time.monotonic() + self.array_timeout_s
        while True:
            payload = self._next_frame(deadline)
            frame = self._decode(payload, time.monotonic_ns())
            if frame is not None:
                return frame

    def _next_frame(self, deadline: float) -> bytes:
        while True:
            while self._queue:
                kind, payload = self._queue.popleft()
                if kind == protocol.KIND_FRAME and len(payload) == protocol.FRAME_SIZE:
                    return payload
            if time.monotonic() >= deadline:
                raise HardwareError(
                    f"no frame from the Pico board on {self.port} for {self.array_timeout_s:.1f} s",
                    hint="Check its USB cable; the station keeps trying.",
                )
            if self._serial is None:
                self._reopen(deadline)
                continue
            try:
                data = self._read()
            except OSError as exc:  # pyserial's SerialException is an OSError: unplugged
                log.warning("the Pico board on %s went away: %s", self.port, exc)
                self.stop()
                continue
            if data:
                self._queue.extend(self._parser.feed(data))

    def _read(self) -> bytes:
        """What the port has, waiting up to 20 ms. On the file descriptor pyserial opened
        and configured: its own read() costs a third more CPU a frame (0.39 % of a core at
        80 Hz against 0.25 % on the build machine), a third of this reader's budget."""
        fd = self._serial.fileno()
        if not select.select([fd], [], [], 0.02)[0]:
            return b""
        data = os.read(fd, 4096)
        if not data:  # readable but empty: the device is gone (as pyserial reports it)
            raise OSError(errno.EIO, "the serial device returned no data: unplugged?")
        return data

    def _reopen(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                self._open()
            except HardwareError as exc:
                if "speaks" in str(exc):
                    raise  # another firmware: retrying will not help
                time.sleep(self.reopen_interval_s)
                continue
            self.reconnects += 1
            log.info("the Pico board on %s is back", self.port)
            return

    def _decode(self, payload: bytes, host_ns: int) -> LoadCellFrame | None:
        seq, ticks, not_ready, pattern, flags, _, *words = struct.unpack(protocol.FRAME_FORMAT, payload)
        if self._last_seq is not None:
            gap = (seq - self._last_seq) % (1 << 32)
            if gap == 0 or gap > 1 << 31:
                return None  # a repeat or an old frame
            self.lost_frames += gap - 1
        self._last_seq = seq
        if flags & protocol.FLAG_RESET:
            self.board_resets += 1
        board_us = self._unwrap(ticks)
        self.clock.add(board_us, host_ns)
        t_ns = self.clock.to_host_ns(board_us)
        values = unpack_words(words).tolist()
        invalid = 0
        if not_ready or pattern or HX711_CODE_MAX in values or HX711_CODE_MIN in values or self._any_dead:
            invalid = self._channel_faults(values, not_ready, pattern)
        else:
            self._last_good = values  # the common case, 80 times a second: nothing to count
        if not_ready & 0xFF != 0xFF or not self._last_any_ready_ns:
            self._last_any_ready_ns = host_ns
        elif host_ns - self._last_any_ready_ns > self.array_timeout_s * 1e9:
            raise HardwareError(
                f"no HX711 became ready for {self.array_timeout_s:.1f} s (the Pico board answers)",
                hint="Check the amplifiers' power (VCC, GND) and the shared clock wire SCK "
                f"on the Pico's GP{self.hello.sck_pin if self.hello else '?'}.",
            )
        self.frames_read += 1
        self._frame_times.append(t_ns)
        return LoadCellFrame(t_ns, tuple(self._last_good), invalid)

    def _channel_faults(self, values: list[int], not_ready: int, pattern: int) -> int:
        """Count a frame's faults per channel; keep the good values; the invalid mask."""
        invalid = 0
        for c in range(N_CHANNELS):
            h = self._health[c]
            dead = bool((pattern >> c) & 1)
            if dead != h.disconnected:
                h.disconnected = dead
                if dead:
                    h.last_error = (
                        f"load cell {CHANNELS[c]} (HX711 DOUT on the Pico's GP{self._dout_pin(c)}) "
                        "never became ready: check its wiring and power"
                    )
                    log.warning("%s", h.last_error)
                else:
                    log.info("load cell %s is back", CHANNELS[c])
            if (not_ready >> c) & 1:
                h.not_ready += 1
                invalid |= 1 << c
                continue
            v = values[c]
            if v in (HX711_CODE_MAX, HX711_CODE_MIN):
                h.saturated += 1
                h.last_error = (
                    f"load cell {CHANNELS[c]} is out of range: the cell is overloaded or its "
                    "E+/E-/A+/A- wires are loose"
                )
                invalid |= 1 << c
                continue
            self._last_good[c] = v
        self._any_dead = bool(pattern)
        return invalid

    def _dout_pin(self, c: int) -> str:
        return str(self.hello.dout_base + c) if self.hello else "?"

    def _unwrap(self, ticks: int) -> int:
        if self._ticks_last is not None:
            self._ticks_base += (ticks - self._ticks_last) % protocol.TICKS_PERIOD
        else:
            self._ticks_base = ticks
        self._ticks_last = ticks
        return self._ticks_base

    # --- health -----------------------------------------------------------------------
    @property
    def last_seq(self) -> int | None:
        """The board's sequence number of the last frame returned."""
        return self._last_seq

    @property
    def achieved_rate_hz(self) -> float:
        """Frames per second over the recent frame times (0 before two frames)."""
        return rate_hz_from_times(self._frame_times)

    def health(self) -> list[ChannelHealth]:
        # every frame counts for every channel: one counter, not eight updates a frame
        return [replace(h, frames=self.frames_read) for h in self._health]

    def status(self) -> dict[str, Any]:
        hello = self.hello
        return {
            "backend": "pico",
            "port": self.port,
            "firmware_version": hello.firmware_version if hello else None,
            "configured_rate_hz": self.rate_hz,
            "achieved_rate_hz": round(self.achieved_rate_hz, 2),
            "frames": self.frames_read,
            "lost_frames": self.lost_frames,
            "crc_errors": self._parser.crc_errors,
            "garbage_bytes": self._parser.garbage_bytes,
            "reconnects": self.reconnects,
            "board_resets": self.board_resets,
            "clock_drift_ppm": round(self.clock.drift_ppm, 2),
            "clock_residual_us": round(self.clock.residual_us, 1),
            "clock_max_residual_us": round(self.clock.max_residual_us, 1),
            "channels": [h.as_dict() for h in self.health()],
        }
