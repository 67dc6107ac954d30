"""Where a trial's video starts on the trial's time axis.

The recorder starts the load cells and the camera together, but the first video
frame is captured a little after (or before) the first force sample. The video's own
time (``<video>.currentTime``) runs from its first frame, the trial's from its first
sample, so trial time = video time + :func:`video_offset_s`. Both clocks are
CLOCK_MONOTONIC: the offset comes from the frame-timestamp sidecar
(:mod:`hardware.video_file`) and the first stored sample.
"""

from __future__ import annotations

from typing import Any

from hardware.video_file import read_timestamps
from station.core.errors import StationError


def video_offset_s(store: Any, trial_id: int, video: dict[str, Any] | None) -> float | None:
    """First frame time minus the trial's first sample time, seconds.

    None when the trial has no video, no timestamps sidecar (or an unreadable one),
    or no stored samples: the caller then assumes 0 (video time = trial time).
    """
    if not video or not video.get("timestamps_path"):
        return None
    t0_ns = store.first_sample_t_ns(trial_id)
    if t0_ns is None:
        return None
    try:
        frame_t_ns = read_timestamps(video["timestamps_path"])
    except (StationError, OSError):
        return None
    if len(frame_t_ns) == 0:
        return None
    return float(int(frame_t_ns[0]) - t0_ns) / 1e9
