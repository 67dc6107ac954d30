"""Live acquisition: a background reader turning raw load-cell frames into forces and CoP.

One thread reads the configured :class:`~hardware.base.LoadCellSource`, converts counts
to newtons with the active calibration, computes per-plate vertical force and CoP and
the combined CoP in the lab frame, stores everything in a ring buffer (read by the
recorder by sequence number, so recording never loses a frame) and fans each sample
out to live subscribers (bounded queues: a slow subscriber loses its oldest samples,
it never stalls acquisition or other subscribers).

The reader opens the source itself and keeps trying when it cannot (no amplifier powered,
a board not plugged in): the service runs, says what is wrong (:meth:`Acquisition.health`,
:meth:`Acquisition.problem`) and picks the load cells up when they answer, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from hardware.base import N_CHANNELS, ChannelHealth, LoadCellFrame, LoadCellSource
from station.core.calibration import Calibration
from station.core.errors import ConfigError, HardwareError, StationError
from station.core.physics import CONTACT_THRESHOLD_N

log = logging.getLogger(__name__)



class Sample(NamedTuple):
    """One processed frame. ``cop_*`` are ``None`` while the plate (or both) carry less than ``CONTACT_THRESHOLD_N``.

    A named tuple rather than a frozen dataclass: it is built 80 times a second on the
    reader thread, and a tuple is built in one step instead of ten attribute writes.
    """

    seq: int
    t_ns: int
    counts: tuple[int, ...]
    invalid: int
    loads_n: tuple[float, ...]
    fz_left_n: float
    fz_right_n: float
    cop_left_mm: tuple[float, float] | None
    cop_right_mm: tuple[float, float] | None
    cop_mm: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t_ns": self.t_ns,
            "invalid": self.invalid,
            "fz_n": [round(self.fz_left_n, 2), round(self.fz_right_n, 2)],
            "cop_left_mm": _round_pt(self.cop_left_mm),
            "cop_right_mm": _round_pt(self.cop_right_mm),
            "cop_mm": _round_pt(self.cop_mm),
        }


def _round_pt(p: tuple[float, float] | None) -> list[float] | None:
    return None if p is None else [round(p[0], 2), round(p[1], 2)]


class Subscription:
    """A bounded queue of samples for one live consumer.

    When full, the oldest sample is dropped (and counted). ``get`` blocks a thread;
    asyncio consumers pass ``loop`` and ``await wait_async()`` then ``drain()``.

    The reader thread is the only producer. While the queue has room it appends without
    taking the lock (a deque append is atomic, and with room nothing can be dropped) and
    touches the condition only when a thread is waiting in ``get``: a lock and a notify
    for every frame and every subscriber is work the reader pays 80 times a second.
    """

    def __init__(self, maxlen: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._q: deque[Sample] = deque(maxlen=maxlen)
        self._cond = threading.Condition()
        self._waiting = 0  # threads blocked in get(), changed under the condition's lock
        self._loop = loop
        self._event = asyncio.Event() if loop is not None else None
        self.dropped = 0
        self.closed = False

    def _push(self, sample: Sample) -> None:
        q = self._q
        if len(q) == q.maxlen:
            # full: the drop must be counted exactly, so decide it under the lock
            # (the consumer pops under the lock too)
            with self._cond:
                if len(q) == q.maxlen:
                    self.dropped += 1
                q.append(sample)
        else:
            q.append(sample)
        if self._waiting:
            with self._cond:
                self._cond.notify()
        # counted after the append: the first sample after the consumer found the queue
        # empty always makes it 1 (wait_async looks at the queue before it awaits)
        if len(q) == 1 and self._loop is not None and self._event is not None:
            try:
                self._loop.call_soon_threadsafe(self._event.set)
            except RuntimeError:  # loop closed: the consumer is gone
                self.closed = True

    def get(self, timeout: float | None = None) -> Sample | None:
        with self._cond:
            self._waiting += 1
            try:
                if not self._q and not self._cond.wait_for(lambda: bool(self._q), timeout):
                    return None
            finally:
                self._waiting -= 1
            return self._q.popleft()

    def drain(self) -> list[Sample]:
        with self._cond:
            # popped one by one: the producer may append meanwhile without the lock,
            # and list() followed by clear() would lose what it appended in between
            q = self._q
            items = [q.popleft() for _ in range(len(q))]
        if self._event is not None:
            self._event.clear()
        return items

    async def wait_async(self, timeout: float | None = None) -> bool:
        """Wait until at least one sample is queued (asyncio consumers only)."""
        assert self._event is not None, "create the subscription with loop=..."
        if self._q:
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._q)


#: Frames staged in Python lists before they are written to the ring's arrays in one go.
RING_STAGE_FRAMES = 8


class RingBuffer:
    """Fixed-capacity arrays of the last ``capacity`` frames, addressed by sequence number.

    numpy arrays rather than Python objects: 120 s of frames held as tuples made the
    server's tail latency twice as long (measured with 20 polling tablets). But a numpy
    call per frame is what the reader thread pays most for on its cold cache, 80 times a
    second: frames are staged in short Python lists and written :data:`RING_STAGE_FRAMES` at
    a time (or when a reader asks, so readers always see every frame appended).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, RING_STAGE_FRAMES)
        # columns: t_ns, invalid, counts[0..7]
        self._ints = np.zeros((self.capacity, 2 + N_CHANNELS), dtype=np.int64)
        self._loads = np.zeros((self.capacity, N_CHANNELS), dtype=np.float64)
        self._staged_ints: list[tuple[int, ...]] = []
        self._staged_loads: list[Sequence[float] | np.ndarray] = []
        self.next_seq = 0  # sequence number the next frame will get
        self._lock = threading.Lock()

    def append(
        self, t_ns: int, counts: Sequence[int], invalid: int, loads_n: Sequence[float] | np.ndarray
    ) -> int:
        with self._lock:
            seq = self.next_seq
            self._staged_ints.append((t_ns, invalid, *counts))
            self._staged_loads.append(loads_n)
            self.next_seq = seq + 1
            if len(self._staged_ints) >= RING_STAGE_FRAMES:
                self._write_staged()
            return seq

    def _write_staged(self) -> None:
        """Move the staged frames into the arrays (under the lock)."""
        n = len(self._staged_ints)
        if not n:
            return
        i = (self.next_seq - n) % self.capacity
        head = min(n, self.capacity - i)  # the part before the arrays wrap around
        self._ints[i:i + head] = self._staged_ints[:head]
        self._loads[i:i + head] = self._staged_loads[:head]
        if head < n:
            self._ints[:n - head] = self._staged_ints[head:]
            self._loads[:n - head] = self._staged_loads[head:]
        self._staged_ints.clear()
        self._staged_loads.clear()

    def span_ns(self, n: int) -> tuple[int, int, int]:
        """Timestamps of the first and last of the newest ``n`` frames, and how many there are."""
        with self._lock:
            self._write_staged()
            end = self.next_seq
            n = min(n, end, self.capacity)
            if n == 0:
                return 0, 0, 0
            return int(self._ints[(end - n) % self.capacity, 0]), int(self._ints[(end - 1) % self.capacity, 0]), n

    def read_since(self, seq: int) -> tuple[dict[str, np.ndarray], int, int]:
        """Frames with sequence number >= ``seq``.

        Returns ``(arrays, first_seq, next_seq)``; ``first_seq > seq`` means frames
        were overwritten before they were read (the caller reports the loss).
        """
        with self._lock:
            self._write_staged()
            end = self.next_seq
            start = max(seq, end - self.capacity, 0)
            idx = np.arange(start, end) % self.capacity  # empty when start >= end
            ints = self._ints[idx]
            loads = self._loads[idx]
        arrays: dict[str, np.ndarray] = {
            "t_ns": ints[:, 0].copy(),
            "counts": ints[:, 2:].copy(),
            "invalid": ints[:, 1].astype(np.int32),
            "loads_n": loads,
        }
        return arrays, start, end


class Acquisition:
    """Background reader of one load-cell source. Thread-safe public methods."""

    def __init__(
        self,
        source: LoadCellSource,
        *,
        calibration: Calibration | None = None,
        buffer_s: float = 120.0,
        retry_s: float = 0.5,
        max_retry_s: float = 5.0,
    ) -> None:
        self.source = source
        self._calibration = calibration or Calibration()
        self._apply_calibration(self._calibration)
        self.buffer = RingBuffer(max(int(buffer_s * max(source.rate_hz, 1.0)), 16))
        self._subs: tuple[Subscription, ...] = ()
        self._subs_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._retry_s = retry_s
        self._max_retry_s = max(max_retry_s, retry_s)
        self._latest: Sample | None = None
        self._open = False  # the source's start() succeeded
        self._failures = 0  # consecutive failed attempts (the back-off grows with them)
        self._beat = time.monotonic()  # the reader loop's last turn (the watchdog's liveness)
        self.errors = 0
        self.last_error: str | None = None
        self.last_hint: str | None = None
        self._error_since: float | None = None
        self._frame_hooks: list[Callable[[Sample], None]] = []

    # -- calibration ---------------------------------------------------------------
    @property
    def calibration(self) -> Calibration:
        return self._calibration

    def set_calibration(self, calibration: Calibration) -> None:
        """Switch calibration atomically (takes effect from the next frame)."""
        self._apply_calibration(calibration)
        self._calibration = calibration

    def _apply_calibration(self, cal: Calibration) -> None:
        pos = cal.geometry.cell_positions_mm()
        # One immutable tuple swapped in one assignment, so the reader never sees a mix.
        # Plain floats: for eight values per frame, Python arithmetic beats numpy's call overhead.
        self._conv = (
            tuple(float(v) for v in cal.offsets_counts),
            tuple(float(v) for v in cal.gains_n_per_count),
            tuple(float(v) for v in pos[:, 0]),
            tuple(float(v) for v in pos[:, 1]),
        )

    # -- processing ------------------------------------------------------------------
    def process(self, frame: LoadCellFrame) -> Sample:
        """Convert one frame, store it, and fan it out. Used by the reader thread."""
        offsets, gains, xs, ys = self._conv
        counts = frame.counts
        # written out for the eight channels: no per-frame loop or comprehension frame
        c0, c1, c2, c3, c4, c5, c6, c7 = counts
        o0, o1, o2, o3, o4, o5, o6, o7 = offsets
        g0, g1, g2, g3, g4, g5, g6, g7 = gains
        l0, l1, l2, l3 = (c0 - o0) * g0, (c1 - o1) * g1, (c2 - o2) * g2, (c3 - o3) * g3
        l4, l5, l6, l7 = (c4 - o4) * g4, (c5 - o5) * g5, (c6 - o6) * g6, (c7 - o7) * g7
        loads = (l0, l1, l2, l3, l4, l5, l6, l7)
        seq = self.buffer.append(frame.t_ns, counts, frame.invalid, loads)
        fl = l0 + l1 + l2 + l3
        fr = l4 + l5 + l6 + l7
        lx = l0 * xs[0] + l1 * xs[1] + l2 * xs[2] + l3 * xs[3]
        ly = l0 * ys[0] + l1 * ys[1] + l2 * ys[2] + l3 * ys[3]
        rx = l4 * xs[4] + l5 * xs[5] + l6 * xs[6] + l7 * xs[7]
        ry = l4 * ys[4] + l5 * ys[5] + l6 * ys[6] + l7 * ys[7]
        cop_l = (lx / fl, ly / fl) if fl >= CONTACT_THRESHOLD_N else None
        cop_r = (rx / fr, ry / fr) if fr >= CONTACT_THRESHOLD_N else None
        total = fl + fr
        cop = ((lx + rx) / total, (ly + ry) / total) if total >= CONTACT_THRESHOLD_N else None
        sample = Sample(seq, frame.t_ns, counts, frame.invalid, loads, fl, fr, cop_l, cop_r, cop)
        self._latest = sample
        for sub in self._subs:  # a copy-on-write tuple: no lock on the hot path
            sub._push(sample)
        for hook in self._frame_hooks:
            try:
                hook(sample)
            except Exception:  # a hook must never stop acquisition
                log.exception("frame hook failed")
        return sample

    def add_frame_hook(self, hook: Callable[[Sample], None]) -> None:
        """Call ``hook(sample)`` on the reader thread for every frame (keep it fast)."""
        self._frame_hooks.append(hook)

    # -- subscribers -----------------------------------------------------------------
    def subscribe(self, maxlen: int = 256, loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        sub = Subscription(maxlen, loop)
        with self._subs_lock:
            self._subs = (*self._subs, sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.closed = True
        with self._subs_lock:
            self._subs = tuple(s for s in self._subs if s is not sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    # -- thread ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the reader. The source is opened once here; when that fails with a hardware
        error (no amplifier answers) the reader keeps trying in the background, with a
        back-off, instead of failing: a station without its load cells must still serve the
        page that says what to check. A configuration error still raises."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._try_open()
        self._thread = threading.Thread(target=self._run, name="acquisition", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._open = False
        try:
            self.source.stop()
        except Exception:
            log.exception("stopping the load-cell source failed")

    def _try_open(self) -> bool:
        if self._open:
            return True
        try:
            self.source.start()
        except ConfigError:
            raise  # a wrong setting does not mend itself: retrying would hide it
        except Exception as exc:
            self._record_error(exc)
            try:
                self.source.stop()  # release what a half-done start opened (GPIO pins, port)
            except Exception:
                log.debug("stopping a source that failed to start", exc_info=True)
            return False
        self._open = True
        return True

    def _back_off(self) -> None:
        """Wait before the next attempt to open the source: ``retry_s``, doubling with each
        failure in a row, at most ``max_retry_s`` (amplifiers without power are not probed
        hard; once powered they are picked up within ``max_retry_s`` plus one probe)."""
        delay = min(self._retry_s * 2 ** min(self._failures - 1, 16), self._max_retry_s)
        self._stop.wait(delay)

    def _run(self) -> None:
        stopping = self._stop.is_set
        while not stopping():
            self._beat = time.monotonic()
            if not self._open and not self._try_open():
                self._back_off()
                continue
            try:
                frame = self.source.read_frame()
            except Exception as exc:  # never let the reader die silently
                if not isinstance(exc, HardwareError):
                    log.exception("load-cell source failed")
                self._record_error(exc)
                # A short wait, not the back-off: an open source's read already waits for the
                # chips (about a second), and data must resume promptly after a brief outage.
                self._stop.wait(self._retry_s)
                continue
            if self._error_since is not None:
                log.info("load cells are back after %.1f s", time.monotonic() - self._error_since)
                self._error_since = None
                self._failures = 0
            self.process(frame)

    def _record_error(self, exc: BaseException) -> None:
        if isinstance(exc, StationError):
            message, hint = exc.message, exc.hint
        else:
            message, hint = f"{type(exc).__name__}: {exc}", None
        self.errors += 1
        self._failures += 1  # failures in a row (of opening, or reading), reset by a frame
        if self.last_error != message or self._error_since is None:
            log.error("load cells: %s%s", message, f" ({hint})" if hint else "")
        self.last_error = message
        self.last_hint = hint
        if self._error_since is None:
            self._error_since = time.monotonic()

    # -- status ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> Sample | None:
        return self._latest

    @property
    def frames_read(self) -> int:
        return self.buffer.next_seq

    def achieved_rate_hz(self) -> float | None:
        """Frame rate over the last 256 frames, from their timestamps in the ring buffer."""
        t_first, t_last, n = self.buffer.span_ns(256)
        if n < 2 or t_last == t_first:
            return None
        return (n - 1) / ((t_last - t_first) / 1e9)

    def is_alive(self, max_age_s: float | None = None) -> bool:
        """True while the reader runs and frames keep arriving (what the watchdog feeds on:
        a dead load cell is a warning for the user, and a restart would not mend a wire)."""
        if not self.running or self._error_since is not None or self._latest is None:
            return False
        max_age = max_age_s if max_age_s is not None else max(1.0, 5.0 / max(self.source.rate_hz, 1.0))
        age_s = (time.monotonic_ns() - self._latest.t_ns) / 1e9
        return not (self.source_is_realtime() and age_s > max_age)

    def reader_alive(self, max_age_s: float = 30.0) -> bool:
        """True while the reader thread turns: it delivers frames or keeps retrying.

        What systemd's watchdog feeds on: a reader stuck inside a driver call is mended by a
        restart; load cells that do not answer are not, and restarting would take the page
        that says so away."""
        return self.running and time.monotonic() - self._beat < max_age_s

    def problem(self) -> tuple[str, str | None] | None:
        """Why no frames can be recorded now, with what to check; ``None`` when they arrive."""
        if not self.running:
            if self._thread is None and not self._stop.is_set():
                return None  # never started: its owner feeds the frames (Station.pump)
            return "the load-cell reader is not running", "Restart the station; see its log."
        if self._error_since is not None:
            return self.last_error or "the load cells do not answer", self.last_hint
        if not self._open:
            return "the load cells are not opened yet", None
        return None

    def require_frames(self) -> None:
        """Raise :class:`HardwareError` (HTTP 503) saying why, while no frames arrive."""
        problem = self.problem()
        if problem is not None:
            message, hint = problem
            raise HardwareError(
                f"the load cells deliver no data: {message}",
                hint=hint or "Check the amplifiers' power and cables; the station keeps trying.",
            )

    def is_healthy(self, max_age_s: float | None = None) -> bool:
        """True while frames keep arriving and the source reports no dead channel."""
        if not self.is_alive(max_age_s):
            return False
        return not any(h.state == "dead" for h in self.source.health())

    def source_is_realtime(self) -> bool:
        return bool(getattr(self.source, "paced", True))

    def health(self) -> dict[str, Any]:
        channels: list[ChannelHealth] = self.source.health()
        return {
            "running": self.running,
            "open": self._open,
            "healthy": self.is_healthy(),
            "frames_read": self.frames_read,
            "rate_hz": self.source.rate_hz,
            "achieved_rate_hz": self.achieved_rate_hz(),
            "errors": self.errors,
            "last_error": self.last_error if self._error_since is not None else None,
            "hint": self.last_hint if self._error_since is not None else None,
            "channels": [c.as_dict() for c in channels],
        }
