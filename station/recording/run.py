"""One recording's state: the request, its phase, and what the worker learns about it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from station.core.errors import HardwareError
from station.recording.samples import TrialSamples
from station.video_capture import VideoTake

IDLE, ARMED, RECORDING, ANALYSING = "idle", "armed", "recording", "analysing"
SAVED, ABORTED, FAILED = "saved", "aborted", "failed"
BUSY_STATES = (ARMED, RECORDING, ANALYSING)
#: Steps of the armed state (``phase`` in the status; otherwise the phase is the state).
ZEROING, WAITING_STILL = "zeroing", "waiting_still"


class Abort(Exception):
    """Raised inside the worker when the operator aborts."""


class ArmTimeout(HardwareError):
    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            f"nobody stood still on the plates within {timeout_s:g} s",
            hint="Ask the athlete to stand still on both plates and start again.",
        )


@dataclass
class Run:
    """One recording request and everything the worker learns about it."""

    athlete_id: int
    protocol: str
    leg: str | None
    options: dict[str, Any]
    actor: str | None
    body_mass_kg: float | None
    session_id: int | None = None  # the session the trial joins (None: none)
    state: str = ARMED
    phase: str = ARMED
    trial_id: int | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    started_mono: float = field(default_factory=time.monotonic)
    next_seq: int = 0
    #: Frames before this (CLOCK_MONOTONIC ns) are skipped: what the cue started on the
    #: plates begins there.
    skip_before_ns: int | None = None
    frames_lost: int = 0
    losses: list[tuple[int, int]] = field(default_factory=list)  # (t_ns after the gap, frames)
    reps: int = 0
    end_reason: str | None = None
    zero_offsets: tuple[float, ...] | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    abort_requested: threading.Event = field(default_factory=threading.Event)
    shutdown: bool = False
    video: VideoTake | None = None
    metrics: dict[str, Any] | None = None
    samples: TrialSamples = field(default_factory=TrialSamples)

    def check_abort(self) -> None:
        if self.abort_requested.is_set():
            raise Abort

    def all_warnings(self) -> list[str]:
        return list(self.warnings) + (list(self.video.warnings) if self.video is not None else [])

    def count_losses(self) -> None:
        """Frames lost inside the trial's span (after its first and up to its last frame)."""
        s = self.samples
        if s.t0_ns is None or s.last_t_ns is None:
            return
        lost = sum(n for t, n in self.losses if s.t0_ns < t <= s.last_t_ns)
        if lost != self.frames_lost:
            self.frames_lost = lost
            msg = f"{lost} frames were lost (the recorder fell behind the load cells)"
            self.warnings = [w for w in self.warnings if "frames were lost" not in w] + [msg]
