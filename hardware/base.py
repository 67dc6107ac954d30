"""What a load-cell source and a camera are.

Backends (``hardware.hx711_backend``, ``hardware.sim``, ``hardware.picamera2_backend``)
implement these; :mod:`hardware.factory` picks one from the configuration and never
falls back silently from real hardware to simulation.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from station.core.geometry import CHANNELS

N_CHANNELS = len(CHANNELS)
#: The HX711's 24-bit two's-complement output at the ends of its range: the input is out of
#: range (saturated), and the reading is not a measurement (datasheet, "Serial interface").
HX711_CODE_MAX = 0x7FFFFF
HX711_CODE_MIN = -0x800000


class LoadCellFrame(NamedTuple):
    """One reading of all eight channels (a named tuple: cheap to build 80 times a second).

    ``t_ns`` is on CLOCK_MONOTONIC (``time.monotonic_ns()``), the camera's clock too.
    ``counts`` holds the raw 24-bit ADC values in CHANNELS order, as a tuple (acquisition
    keeps it as is, without a copy). A channel without a
    valid reading in this frame (not ready, saturated, rejected spike) keeps its last
    valid value (0 before the first) and has its bit set in ``invalid``
    (bit i = CHANNELS[i]).
    """

    t_ns: int
    counts: tuple[int, ...]
    invalid: int = 0

    def is_valid(self, channel: int) -> bool:
        return not (self.invalid >> channel) & 1


@dataclass
class ChannelHealth:
    """Per-channel counters a backend keeps; the API shows them as hardware health."""

    name: str
    frames: int = 0
    not_ready: int = 0      # timed out waiting for data-ready
    saturated: int = 0      # 0x7FFFFF / 0x800000
    spikes_rejected: int = 0
    disconnected: bool = False  # DOUT stuck high / never ready for a long time
    last_error: str | None = None

    @property
    def state(self) -> str:
        if self.disconnected:
            return "dead"
        bad = self.not_ready + self.saturated + self.spikes_rejected
        if self.frames and bad / self.frames > 0.01:
            return "noisy"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "frames": self.frames,
            "not_ready": self.not_ready,
            "saturated": self.saturated,
            "spikes_rejected": self.spikes_rejected,
            "disconnected": self.disconnected,
            "last_error": self.last_error,
        }


def rate_hz_from_times(frame_t_ns: Sequence[int]) -> float:
    """Frames per second over the frame times ``frame_t_ns`` (ns, oldest first); 0 before
    two distinct times. A backend keeps a short window of times (e.g. a bounded deque)."""
    if len(frame_t_ns) < 2 or frame_t_ns[-1] == frame_t_ns[0]:
        return 0.0
    return (len(frame_t_ns) - 1) * 1e9 / (frame_t_ns[-1] - frame_t_ns[0])


class LoadCellSource(abc.ABC):
    """A stream of :class:`LoadCellFrame` at ``rate_hz``.

    ``read_frame`` blocks until the next frame (a paced source sleeps; an unpaced
    simulator returns at once). It raises :class:`station.core.errors.HardwareError` only
    when the whole array is gone; a single bad channel is reported through
    ``LoadCellFrame.invalid`` and :meth:`health`.
    """

    rate_hz: float

    def start(self) -> None:  # noqa: B027 - optional hook
        """Acquire the hardware (open GPIO, ...)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Release the hardware."""

    @abc.abstractmethod
    def read_frame(self) -> LoadCellFrame:
        ...

    def frames(self, n: int | None = None) -> Iterator[LoadCellFrame]:
        i = 0
        while n is None or i < n:
            yield self.read_frame()
            i += 1

    def health(self) -> list[ChannelHealth]:
        return [ChannelHealth(name) for name in CHANNELS]

    def __enter__(self) -> LoadCellSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One camera frame: RGB ``image`` (H, W, 3) uint8, ``t_ns`` on CLOCK_MONOTONIC."""

    index: int
    t_ns: int
    image: np.ndarray = field(repr=False)


class Camera(abc.ABC):
    """A camera that delivers timestamped frames and can record them to a file."""

    width: int
    height: int
    fps: float

    def start(self) -> None:  # noqa: B027
        ...

    def stop(self) -> None:  # noqa: B027
        ...

    @abc.abstractmethod
    def read_frame(self) -> VideoFrame:
        ...

    def __enter__(self) -> Camera:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
