"""The :class:`Recorder`: one recording at a time, as an explicit state machine
(see :mod:`station.recording`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from station import __version__
from station.acquisition import Acquisition, Sample
from station.core.calibration import Calibration
from station.core.errors import ConflictError, HardwareError, StationError, StorageError
from station.core.protocols import PROTOCOLS, check_options
from station.protocol_runner import EndCondition, EndDecision
from station.recording.analysis import AnalyzeFn, TrialAnalysis
from station.recording.arming import wait_still, zero_plates
from station.recording.run import (
    ABORTED,
    ANALYSING,
    ARMED,
    BUSY_STATES,
    FAILED,
    IDLE,
    RECORDING,
    SAVED,
    WAITING_STILL,
    ZEROING,
    Abort,
    ArmTimeout,
    Run,
)
from station.storage import Store
from station.video_capture import VideoCapture

log = logging.getLogger(__name__)

#: How often the end conditions are checked (samples are written every flush_interval_s).
CHECK_INTERVAL_S = 0.1
#: A recording fails when no frame arrives for this long (wall clock).
NO_FRAMES_FAIL_S = 5.0
#: Options stored with the trial (the others only steer the recording).
STORED_OPTIONS = ("duration_s", "reps", "end_on_touchdown", "video")

#: Called at each step of a recording with the status (see :class:`Recorder`).
Cue = Callable[[dict[str, Any]], int | None]


class Recorder:
    """Runs recordings on the station (see :mod:`station.recording`).

    Parameters
    ----------
    acquisition, store
        The running acquisition and the database.
    video
        Optional :class:`~station.video_capture.VideoCapture`: each trial (unless its
        ``video`` option is false) is filmed beside the force recording. A camera
        failure never stops force recording: the trial gets a warning instead.
    flush_interval_s
        Longest time between two writes of samples to the database.
    analyze
        The analysis function (default :func:`station.analysis.analyze_corner_loads`).
    cue
        Optional; called on the worker thread, before the recorder goes on, at each
        step of a recording (status ``phase``: ``zeroing``, ``waiting_still``,
        ``recording``) with the status, which holds everything asked for (protocol, leg,
        duration, repetitions, the athlete's body mass). What the cue sets in motion
        may begin a little later: it returns when (CLOCK_MONOTONIC ns), and earlier
        frames are skipped, so a trial starts exactly there; None: now. With
        simulated plates the station's cue is the :class:`hardware.sim.director.SimDirector`.
    """

    def __init__(
        self,
        *,
        acquisition: Acquisition,
        store: Store,
        video: VideoCapture | None = None,
        flush_interval_s: float = 0.5,
        analyze: AnalyzeFn | None = None,
        cue: Cue | None = None,
    ) -> None:
        self.acquisition = acquisition
        self.store = store
        self.video = video
        self.flush_interval_s = flush_interval_s
        self.analysis = TrialAnalysis(store, analyze)
        self._cue = cue
        self._lock = threading.RLock()
        self._run: Run | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._closed = False
        #: Set by the runtime: returns why a recording may not start now (e.g. a
        #: calibration in progress), or None.
        self.blocked_by: Callable[[], str | None] | None = None
        # Wake the worker early when many frames wait (fast or unpaced sources), so the
        # ring buffer never overruns between two flushes.
        self._wake_after = max(16, acquisition.buffer.capacity // 8)
        acquisition.add_frame_hook(self._on_frame)

    # -- public API -----------------------------------------------------------------------
    def start(
        self,
        *,
        athlete_id: int,
        protocol: str,
        leg: str | None = None,
        options: dict[str, Any] | None = None,
        actor: str | None = None,
        session_id: int | None = None,
    ) -> dict[str, Any]:
        """Arm the station for a recording; returns the status at once (state ``armed``).
        ``session_id``: the trial joins that session (of the same athlete)."""
        opts = check_options(protocol, leg, options)
        athlete = self.store.get_athlete(athlete_id)
        if session_id is not None:
            self.store.check_session_of(session_id, athlete_id)  # refused before arming
        with self._lock:
            if self._closed:
                raise ConflictError("the station is shutting down")
            if self._run is not None and self._run.state in BUSY_STATES:
                r = self._run
                raise ConflictError(
                    f"a recording is already {r.state} ({r.protocol}"
                    + (f", trial {r.trial_id}" if r.trial_id else "")
                    + ")",
                    hint="Stop or abort it first, or wait until it is saved.",
                )
            reason = self.blocked_by() if self.blocked_by is not None else None
            if reason:
                raise ConflictError(reason, hint="Finish or cancel it first.")
            self.acquisition.require_frames()  # 503 with the reason while no amplifier answers
            opts.setdefault("tare", True)
            opts.setdefault("wait_still", PROTOCOLS[protocol].end_condition != "landing")
            opts.setdefault("arm_timeout_s", 30.0)
            opts.setdefault("video", True)
            run = Run(
                athlete_id=athlete_id, protocol=protocol, leg=leg, options=opts, actor=actor,
                body_mass_kg=athlete.get("body_mass_kg"), session_id=session_id,
            )
            run.next_seq = self.acquisition.buffer.next_seq
            run.message = "zeroing the empty plates" if opts["tare"] else "waiting for the athlete"
            self._run = run
            self._thread = threading.Thread(target=self._worker, args=(run,), name="recorder", daemon=True)
            self._thread.start()
        self._notify()
        return self.status()

    def stop(self) -> dict[str, Any]:
        """End the recording now and keep it (analysed and saved). While armed, this aborts."""
        return self._end_early(keep=True, refusal="nothing is being recorded")

    def abort(self) -> dict[str, Any]:
        """Drop the recording: the trial (if one was opened) is kept as ``aborted``."""
        return self._end_early(keep=False, refusal="nothing to abort")

    def _end_early(self, *, keep: bool, refusal: str) -> dict[str, Any]:
        with self._lock:
            run = self._run
            if run is None or run.state not in (ARMED, RECORDING):
                raise ConflictError(f"{refusal} (state {self.state})")
            if keep and run.state == RECORDING:
                run.stop_requested.set()
            else:
                run.abort_requested.set()
        self._wake.set()
        self._wait_leaving(run, (ARMED, RECORDING), 2.0)
        return self.status()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the recorder is not busy (or ``timeout``); return the status."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def is_busy(self) -> bool:
        run = self._run
        return run is not None and run.state in BUSY_STATES

    @property
    def state(self) -> str:
        run = self._run
        return run.state if run is not None else IDLE

    def status(self) -> dict[str, Any]:
        """The recorder's state, with the request (everything a cue needs).

        ``phase`` is the state, or while ``armed`` its step (``zeroing``, ``waiting_still``).
        """
        run = self._run
        if run is None:
            return {
                "state": IDLE, "phase": IDLE, "trial_id": None, "athlete_id": None, "protocol": None, "leg": None,
                "elapsed_s": 0.0, "duration_s": None, "reps": 0, "reps_wanted": None, "body_mass_kg": None,
                "frames": 0, "frames_lost": 0, "message": "ready", "warnings": [],
            }
        s = run.samples
        elapsed = 0.0
        if s.t0_ns is not None and s.last_t_ns is not None:
            elapsed = (s.last_t_ns - s.t0_ns) / 1e9
        return {
            "state": run.state,
            "phase": run.phase,
            "trial_id": run.trial_id,
            "athlete_id": run.athlete_id,
            "protocol": run.protocol,
            "leg": run.leg,
            "elapsed_s": round(elapsed, 3),
            "duration_s": run.options.get("duration_s"),
            "reps": run.reps,
            "reps_wanted": run.options.get("reps"),
            "body_mass_kg": run.body_mass_kg,
            "frames": s.written,
            "frames_lost": run.frames_lost,
            "message": run.message,
            "warnings": run.all_warnings(),
        }

    def on_state_change(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``callback(status)`` on every state change (from the worker thread; keep it
        fast and thread-safe). Returns a function that removes the callback."""
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    def shutdown(self, timeout: float = 10.0) -> None:
        """Station stop: a running recording is written out and kept as ``interrupted``."""
        with self._lock:
            self._closed = True
            run = self._run
            if run is not None and run.state in (ARMED, RECORDING):
                run.shutdown = True
                run.abort_requested.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def recompute(self, trial_id: int, calibration: Calibration, *, use_trial_zero: bool = True) -> dict[str, Any]:
        """Re-analyse a stored trial under ``calibration`` (:meth:`TrialAnalysis.recompute`)."""
        return self.analysis.recompute(trial_id, calibration, use_trial_zero=use_trial_zero)

    # -- worker ---------------------------------------------------------------------------
    def _on_frame(self, sample: Sample) -> None:
        run = self._run
        if run is not None and run.state in (ARMED, RECORDING) and sample.seq - run.next_seq >= self._wake_after:
            self._wake.set()

    def _worker(self, run: Run) -> None:
        try:
            self._arm(run)
            self._record(run)
            if run.abort_requested.is_set():
                self._end_aborted(run)
                return
            self._analyse(run)
        except Abort:
            self._end_aborted(run)
        except ArmTimeout as exc:
            self._fail(run, str(exc))
        except StorageError as exc:
            log.error("recording failed: %s", exc)
            self._fail(run, f"the database failed: {exc}")
        except HardwareError as exc:
            self._fail(run, f"the load cells failed: {exc}")
        except Exception as exc:  # the worker must always leave a resting state
            log.exception("recording failed")
            self._fail(run, f"recording failed ({type(exc).__name__}: {exc})")
        finally:
            if run.video is not None:
                run.video.stop()

    def _set(self, run: Run, state: str | None = None, message: str | None = None) -> None:
        with self._lock:
            if state is not None:
                run.state = run.phase = state
            if message is not None:
                run.message = message
        self._notify()

    def _step(self, run: Run, phase: str, message: str, *, state: str | None = None) -> None:
        """Enter a step of the recording: tell the cue (which may act on the plates and
        say when that begins), then the listeners."""
        with self._lock:
            if state is not None:
                run.state = state
            run.phase = phase
            run.message = message
        if self._cue is not None:
            try:
                begins_ns = self._cue(self.status())
            except Exception:  # e.g. a simulated athlete refusing an option: record anyway
                log.exception("recording cue failed")
                begins_ns = None
            if begins_ns is not None:
                run.skip_before_ns = int(begins_ns)
        self._notify()

    def _notify(self) -> None:
        status = self.status()
        for cb in list(self._listeners):
            try:
                cb(status)
            except Exception:
                log.exception("recording state listener failed")

    def _wait_leaving(self, run: Run, states: tuple[str, ...], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while run.state in states and time.monotonic() < deadline:
            time.sleep(0.01)

    def _read(self, run: Run) -> dict[str, np.ndarray]:
        """Frames since the last read (waiting up to one flush interval for them), from
        the cue's beginning on."""
        self._wake.wait(min(self.flush_interval_s, CHECK_INTERVAL_S))
        self._wake.clear()
        arrays, first, nxt = self.acquisition.buffer.read_since(run.next_seq)
        if first > run.next_seq and run.state == RECORDING and len(arrays["t_ns"]):
            # Overwritten before they were read: note where (the first frame after the
            # gap) so losses outside the trial's final time span are not counted.
            run.losses.append((int(arrays["t_ns"][0]), first - run.next_seq))
            log.error("%d frames were lost (the recorder fell behind the load cells)", first - run.next_seq)
        run.next_seq = nxt
        if run.skip_before_ns is not None and len(arrays["t_ns"]) and arrays["t_ns"][0] < run.skip_before_ns:
            keep = arrays["t_ns"] >= run.skip_before_ns
            arrays = {k: v[keep] for k, v in arrays.items()}
        return arrays

    # -- armed ------------------------------------------------------------------------------
    def _arm(self, run: Run) -> None:
        deadline = time.monotonic() + float(run.options["arm_timeout_s"])
        if run.options["tare"]:
            self._step(run, ZEROING, "zeroing the empty plates")
            zero_plates(run, self.acquisition, self._read, deadline)
        run.zero_offsets = tuple(self.acquisition.calibration.offsets_counts)
        if run.options["wait_still"]:
            self._step(run, WAITING_STILL, "step onto the plates and stand still")
            wait_still(run, self.acquisition, self._read, deadline)

    # -- recording --------------------------------------------------------------------------
    def _record(self, run: Run) -> None:
        cal = self.acquisition.calibration
        rate_hz = float(self.acquisition.source.rate_hz)
        trial = self.store.create_trial(
            athlete_id=run.athlete_id, protocol=run.protocol, leg=run.leg,
            options={k: v for k, v in run.options.items() if k in STORED_OPTIONS},
            sample_rate_hz=rate_hz, calibration_id=cal.id,
            software_version=__version__, zero_offsets=run.zero_offsets, actor=run.actor,
            session_id=run.session_id,
        )
        with self._lock:
            run.trial_id = trial_id = int(trial["id"])
            run.next_seq = self.acquisition.buffer.next_seq  # the trial starts with the next frame
            run.skip_before_ns = None
        self._step(run, RECORDING, "recording", state=RECORDING)
        if self.video is not None and run.options.get("video", True):
            run.video = self.video.start(
                trial_id, max_duration_s=float(run.options["duration_s"]), trial_t0_ns=lambda: run.samples.t0_ns
            )
        end = EndCondition(run.protocol, run.leg, run.options, rate_hz=rate_hz)
        samples = run.samples
        last_frame_mono = last_flush = time.monotonic()
        while True:
            a = self._read(run)
            n_new = len(a["t_ns"])
            if n_new:
                last_frame_mono = time.monotonic()
                samples.append(a)
            if run.losses:
                run.count_losses()
            decision = self._check_end(run, end) if n_new else None
            if decision is not None:
                assert samples.t0_ns is not None
                samples.truncate(samples.t0_ns + round(decision.t_s * 1e9))
                run.end_reason = decision.reason
            elif run.stop_requested.is_set():
                run.end_reason = "stopped by the operator"
            elif run.abort_requested.is_set():
                run.end_reason = "aborted" if not run.shutdown else "the station was stopped"
            if run.end_reason is not None and run.video is not None:
                run.video.end()  # the video ends with the force data
            if run.end_reason is not None or time.monotonic() - last_flush >= self.flush_interval_s:
                samples.flush(self.store, trial_id)
                last_flush = time.monotonic()
            if run.end_reason is not None:
                run.count_losses()
                return
            if time.monotonic() - last_frame_mono > NO_FRAMES_FAIL_S:
                raise HardwareError(
                    f"no frames from the load cells for {NO_FRAMES_FAIL_S:g} s",
                    hint="Check the cables and the hardware health page; the samples so far are kept.",
                )

    def _check_end(self, run: Run, end: EndCondition) -> EndDecision | None:
        t = run.samples.t_ns()
        loads = run.samples.loads_n()
        fz = np.column_stack([loads[:, :4].sum(axis=1), loads[:, 4:].sum(axis=1)])
        decision = end.check((t - t[0]) / 1e9, fz)
        done = min(end.reps_done, end.reps_wanted) if decision is not None and end.reps_wanted else end.reps_done
        if done != run.reps:
            run.reps = done
            self._notify()
        return decision

    # -- analysis -------------------------------------------------------------------------------
    def _analyse(self, run: Run) -> None:
        assert run.trial_id is not None
        if run.video is not None:
            run.video.stop()
        self.store.finish_trial(run.trial_id, status=ANALYSING)
        self._set(run, ANALYSING, f"analysing ({run.end_reason})")
        samples = run.samples
        if samples.written == 0:
            self.store.finish_trial(run.trial_id, status=FAILED, message="no samples were recorded")
            self._set(run, FAILED, "no samples were recorded; check the load cells")
            return
        t_ns = samples.t_ns()
        cal = self.acquisition.calibration
        try:
            metrics, events = self.analysis.arrays(
                t_ns, samples.loads_n(), samples.invalid(), cal, run.protocol, run.leg, run.body_mass_kg
            )
        except StationError as exc:
            msg = f"analysis failed: {exc}"
            self.store.finish_trial(run.trial_id, status=FAILED, message=msg)
            self._set(run, FAILED, msg + " (the raw data is kept)")
            return
        video = run.video.video if run.video is not None else None
        duration = (t_ns[-1] - t_ns[0]) / 1e9 if len(t_ns) > 1 else 0.0
        metrics["recording"] = {
            "sample_rate_hz": float(self.acquisition.source.rate_hz),
            "achieved_rate_hz": (len(t_ns) - 1) / duration if duration > 0 else None,
            "frames": int(len(t_ns)),
            "frames_lost": run.frames_lost,
            "duration_s": duration,
            "end_reason": run.end_reason,
            "calibration_id": cal.id,
            "calibrated": not cal.is_default,
            "video": video is not None,
        }
        metrics.setdefault("warnings", [])
        metrics["warnings"] = list(metrics["warnings"]) + run.all_warnings()
        if video is not None and run.leg is not None:
            self.analysis.add_video_kinematics(metrics, video.path, video.frame_t_ns, leg=run.leg, t0_ns=int(t_ns[0]))
        if cal.is_default:
            metrics["warnings"].append("the station was not calibrated; forces use nominal gains.")
        self.store.finish_trial(run.trial_id, status=SAVED, metrics=metrics, events=events,
                                message=run.end_reason)
        run.metrics = metrics
        self._set(run, SAVED, f"saved trial {run.trial_id} ({run.end_reason})")

    # -- endings ----------------------------------------------------------------------------------
    def _end_aborted(self, run: Run) -> None:
        status = "interrupted" if run.shutdown else ABORTED
        if run.trial_id is not None:
            try:
                self.store.finish_trial(run.trial_id, status=status, message=run.end_reason or status)
            except StationError as exc:
                log.error("could not mark trial %s %s: %s", run.trial_id, status, exc)
        self._set(run, ABORTED, "recording aborted" + (f"; trial {run.trial_id} kept as {status}" if run.trial_id else ""))

    def _fail(self, run: Run, message: str) -> None:
        if run.trial_id is not None:
            try:
                self.store.finish_trial(run.trial_id, status=FAILED, message=message)
            except StationError as exc:  # e.g. the disk is still full: mark_interrupted() fixes it at restart
                log.error("could not mark trial %s failed: %s", run.trial_id, exc)
            message += f" (trial {run.trial_id}: the {run.samples.written} samples written are kept)"
        self._set(run, FAILED, message)
