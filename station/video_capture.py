"""Video of a trial: the station's camera filmed to ``videos/trial_NNNNNN.mp4`` beside
the force recording, on a thread of its own.

:class:`VideoCapture` is the station's service (one per camera, built by
``station.runtime.Station``); :meth:`VideoCapture.start` films one trial and returns a
:class:`VideoTake`. A camera failure never stops the force recording: the take ends
with a warning instead, which the recorder stores with the trial. The video ends with
the force data (:meth:`VideoTake.stop`) or at the protocol's maximum length.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware.base import Camera
from hardware.video_file import RecordedVideo, timestamps_path_for
from station.storage import Store

log = logging.getLogger(__name__)

#: How long a stale frame a camera still holds from before the trial may be skipped (s).
SKIP_STALE_S = 1.0
#: How long :meth:`VideoTake.stop` waits for the file to be finished (s).
STOP_TIMEOUT_S = 10.0


class VideoTake:
    """The video of one trial while it is filmed (see :meth:`VideoCapture.start`)."""

    def __init__(self) -> None:
        #: The finished video, once stored with the trial (None: no video).
        self.video: RecordedVideo | None = None
        #: Why there is no (whole) video, for the trial's warnings.
        self.warnings: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def end(self) -> None:
        """Ask the take to end (the force recording ended); returns at once."""
        self._stop.set()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> RecordedVideo | None:
        """End the take and wait (bounded) until the file is finished and stored."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.video


class VideoCapture:
    """Films trials with the station's camera.

    Parameters
    ----------
    camera
        The station's camera.
    store
        Where each finished video is registered with its trial (``Store.add_video``).
    videos_dir
        Folder of the video files (made absolute: the API serves them and the purge
        unlinks them from any working directory).
    force_clock
        Timestamp (CLOCK_MONOTONIC ns) of the newest force frame, or None: an unpaced
        (simulated) camera waits for it, so the video never runs ahead of the force data.
    """

    def __init__(
        self, camera: Camera, store: Store, *, videos_dir: str | Path, force_clock: Callable[[], int | None]
    ) -> None:
        self.camera = camera
        self.store = store
        self.videos_dir = Path(videos_dir).absolute()
        self._force_clock = force_clock

    def path_for(self, trial_id: int) -> Path:
        return self.videos_dir / f"trial_{trial_id:06d}.mp4"

    def start(self, trial_id: int, *, max_duration_s: float, trial_t0_ns: Callable[[], int | None]) -> VideoTake:
        """Film trial ``trial_id`` from now until :meth:`VideoTake.stop`, or until
        ``max_duration_s`` after the trial's first force frame (``trial_t0_ns()``, None
        while there is none yet)."""
        take = VideoTake()
        take._thread = threading.Thread(
            target=self._film, args=(take, trial_id, float(max_duration_s), trial_t0_ns),
            name="recorder-video", daemon=True,
        )
        take._thread.start()
        return take

    def _film(self, take: VideoTake, trial_id: int, max_duration_s: float,
              trial_t0_ns: Callable[[], int | None]) -> None:
        cam: Any = self.camera  # start_recording/stop_recording: the recording cameras' extension of Camera
        path = self.path_for(trial_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            cam.start()
            # Skip frames a camera may still hold from before this trial (a stale queue
            # returns at once; a live frame takes up to one frame period).
            deadline = time.monotonic() + SKIP_STALE_S
            while time.monotonic() < deadline:
                if cam.read_frame().t_ns >= time.monotonic_ns() - 2e9 / max(cam.fps, 1.0):
                    break
            cam.start_recording(path)
        except Exception as exc:
            take.warnings.append(f"no video for this trial: {exc}")
            return
        try:
            while not take._stop.is_set():
                frame = cam.read_frame()
                t0 = trial_t0_ns()
                if t0 is not None and frame.t_ns >= t0 + 1e9 * max_duration_s:
                    break  # the protocol's maximum length is reached
                # An unpaced (simulated) camera must not run ahead of the force data.
                while not take._stop.is_set():
                    latest = self._force_clock()
                    if latest is None or latest >= frame.t_ns:
                        break
                    time.sleep(0.002)
            video: RecordedVideo = cam.stop_recording()
            self.store.add_video(
                trial_id, path=str(video.path), fps=float(video.fps), n_frames=int(video.n_frames),
                size_bytes=int(video.bytes), timestamps_path=str(timestamps_path_for(video.path)),
            )
            take.video = video
        except Exception as exc:
            log.exception("video recording failed")
            take.warnings.append(f"the video of this trial failed: {exc}")


__all__ = ["VideoCapture", "VideoTake"]
