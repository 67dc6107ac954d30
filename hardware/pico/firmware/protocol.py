"""The byte protocol between the Pico's firmware and the station: one home for both sides.

Plain Python that MicroPython runs on the board and CPython runs in the host reader and the
tests (no typing, no f-strings with format specs beyond MicroPython's, only ``struct``).

A packet is ``A5 5A | kind (1) | length (1) | payload | CRC-16/CCITT-FALSE (2, little end.)``,
the CRC over kind, length and payload. Kinds:

* ``F`` frame (board -> host), payload ``<IIBBBB6I``: sequence number (counts frames since
  boot, wraps at 2**32), the board's ``time.ticks_us()`` as the status word arrived (wraps at
  :data:`TICKS_PERIOD`), ``not_ready`` (bit k: chip k not in this frame), ``pattern`` (the
  chips the board no longer waits for), flags (bit 0: the board reset the chips after this
  frame, one got ready mid-read), a spare byte, and the program's six bit-sliced FIFO words
  (decoded on the host by ``hardware.pio.frames.unpack_words``, the one decoder of every
  PIO backend; the board does not spend its time unpacking).
* ``H`` hello (board -> host, answering the line ``hello``), payload ``<HHIIBBBB``: protocol
  version, firmware version, boot id (random per boot: a replugged or rebooted board starts
  its sequence and clock again), state machine clock in Hz, chip count, SCK pin, first DOUT
  pin, gain pulses.

The host sends text lines: ``hello`` (answer with a hello packet).
"""

import struct

SYNC = b"\xa5\x5a"
PROTOCOL_VERSION = 1
FIRMWARE_VERSION = 1
#: MicroPython's ``time.ticks_us()`` wraps at 2**30 (ticks_add/ticks_diff arithmetic).
TICKS_PERIOD = 1 << 30
KIND_FRAME = 0x46  # "F"
KIND_HELLO = 0x48  # "H"
FRAME_FORMAT = "<IIBBBB6I"
HELLO_FORMAT = "<HHIIBBBB"
FRAME_SIZE = struct.calcsize(FRAME_FORMAT)
HELLO_SIZE = struct.calcsize(HELLO_FORMAT)
FLAG_RESET = 1
HELLO_COMMAND = b"hello\n"
#: The longest payload a receiver accepts: anything longer is garbage.
MAX_PAYLOAD = 64


def _crc_table():
    table = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        table.append(c & 0xFFFF)
    return table


_TABLE = _crc_table()


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): b"123456789" gives 0x29B1."""
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def packet(kind, payload):
    body = bytes([kind, len(payload)]) + payload
    return SYNC + body + struct.pack("<H", crc16(body))


def pack_frame(seq, t_us, not_ready, pattern, flags, words):
    return packet(KIND_FRAME, struct.pack(
        FRAME_FORMAT, seq & 0xFFFFFFFF, t_us % TICKS_PERIOD, not_ready & 0xFF, pattern & 0xFF,
        flags & 0xFF, 0, *words))


def pack_hello(boot_id, sm_hz, n_chips, sck_pin, dout_base, extra_pulses,
               protocol_version=PROTOCOL_VERSION, firmware_version=FIRMWARE_VERSION):
    return packet(KIND_HELLO, struct.pack(
        HELLO_FORMAT, protocol_version, firmware_version, boot_id & 0xFFFFFFFF, sm_hz,
        n_chips, sck_pin, dout_base, extra_pulses))


class Parser:
    """Packets out of a byte stream that may hold garbage, cut packets and flipped bits.

    ``feed`` returns the good packets as (kind, payload); bytes that are not part of one
    are counted in ``garbage_bytes``, packets whose CRC fails in ``crc_errors``. After a bad
    CRC the search resumes one byte after that packet's sync, so a sync pattern inside
    garbage cannot hide the packet that follows it.
    """

    def __init__(self):
        self.buf = bytearray()
        self.garbage_bytes = 0
        self.crc_errors = 0

    def feed(self, data):
        buf = self.buf
        buf.extend(data)
        out = []  # type: list[tuple[int, bytes]]
        while True:
            i = buf.find(SYNC)
            if i < 0:
                keep = 1 if buf and buf[-1] == SYNC[0] else 0
                self.garbage_bytes += len(buf) - keep
                del buf[:len(buf) - keep]
                return out
            if i:
                self.garbage_bytes += i
                del buf[:i]
            if len(buf) < 4:
                return out
            n = buf[3]
            if n > MAX_PAYLOAD:
                self.garbage_bytes += 2
                del buf[:2]
                continue
            if len(buf) < 6 + n:
                return out
            body = bytes(buf[2:4 + n])
            (crc,) = struct.unpack("<H", bytes(buf[4 + n:6 + n]))
            if crc16(body) != crc:
                self.crc_errors += 1
                self.garbage_bytes += 2
                del buf[:2]
                continue
            del buf[:6 + n]
            out.append((body[0], body[2:]))
