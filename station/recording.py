"""Recording control: one recording at a time, as an explicit state machine.

States::

    idle -> armed -> recording -> analysing -> saved
              |          |            |
              +----------+------------+-----> aborted | failed

- **armed**: the plates are zeroed while empty (``tare``), then the recorder waits
  until someone stands still on them (``wait_still``; not for hop-and-stick, where
  the athlete starts off the plates).
- **recording**: a trial row exists; a worker thread reads every frame from the
  acquisition ring buffer by sequence number (so none is lost; an overrun is
  counted and reported) and writes them to the store in one compact chunk at
  least every ``flush_interval_s`` (default 0.5 s), so a crash loses at most about
  a second. The protocol's end condition (:mod:`station.protocol_runner`) ends it,
  or :meth:`Recorder.stop`.
- **analysing**: the analysis runs on that worker thread, never on the caller's
  (the API's event loop). Then the trial is ``saved`` with metrics and events.
- **aborted** / **failed**: the samples already written stay in the database.

``saved``, ``aborted`` and ``failed`` are resting states: the next :meth:`start`
is accepted. A start while ``armed``/``recording``/``analysing`` raises
:class:`ConflictError` naming the current state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hardware.base import N_CHANNELS, Camera
from station import __version__
from station.acquisition import Acquisition, Sample
from station.core.calibration import Calibration
from station.core.errors import ConflictError, HardwareError, StationError, StorageError
from station.core.physics import CONTACT_THRESHOLD_N, G_M_S2
from station.core.protocols import PROTOCOLS, check_options
from station.protocol_runner import EndCondition, EndDecision
from station.storage import Store

log = logging.getLogger(__name__)

IDLE, ARMED, RECORDING, ANALYSING = "idle", "armed", "recording", "analysing"
SAVED, ABORTED, FAILED = "saved", "aborted", "failed"
BUSY_STATES = (ARMED, RECORDING, ANALYSING)

#: Uncalibrated station: a cell counts as unloaded while its SD stays below this.
EMPTY_MAX_SD_N = 1.0
#: Frames averaged for the zero (0.5 s at 80 Hz).
TARE_S = 0.5
#: How long (in samples' time) arming waits for the plates to read empty before zeroing.
TARE_WAIT_S = 2.0
#: "Standing still": over the last STILL_WINDOW_S the total force is at least
#: STILL_MIN_N (or half the body weight) and its SD at most max(STILL_SD_N, 2 % of it).
STILL_WINDOW_S = 1.0
STILL_MIN_N = 100.0
STILL_SD_N = 8.0
#: How often the end conditions are checked (samples are written every flush_interval_s).
CHECK_INTERVAL_S = 0.1
#: A recording fails when no frame arrives for this long (wall clock).
NO_FRAMES_FAIL_S = 5.0

AnalyzeFn = Callable[..., dict[str, Any]]


class _Abort(Exception):
    """Raised inside the worker when the operator aborts."""


@dataclass
class _Run:
    """One recording request and everything the worker learns about it."""

    athlete_id: int
    protocol: str
    leg: str | None
    options: dict[str, Any]
    actor: str | None
    body_mass_kg: float | None
    state: str = ARMED
    trial_id: int | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    started_mono: float = field(default_factory=time.monotonic)
    next_seq: int = 0
    t0_ns: int | None = None
    last_t_ns: int | None = None
    frames_written: int = 0
    frames_lost: int = 0
    losses: list[tuple[int, int]] = field(default_factory=list)  # (t_ns after the gap, frames)
    reps: int = 0
    end_reason: str | None = None
    zero_offsets: tuple[float, ...] | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    abort_requested: threading.Event = field(default_factory=threading.Event)
    shutdown: bool = False
    video_stop: threading.Event = field(default_factory=threading.Event)
    video: Any = None
    video_thread: threading.Thread | None = None
    metrics: dict[str, Any] | None = None
    # what has been read so far (lists of arrays; concatenated when needed)
    t_parts: list[np.ndarray] = field(default_factory=list)
    counts_parts: list[np.ndarray] = field(default_factory=list)
    invalid_parts: list[np.ndarray] = field(default_factory=list)
    loads_parts: list[np.ndarray] = field(default_factory=list)


class Recorder:
    """Runs recordings on the station (see the module docstring).

    Parameters
    ----------
    acquisition, store
        The running acquisition and the database.
    camera
        Optional; when present (and the ``video`` option is not false) each trial
        gets a video in ``data_dir/videos``. A camera failure never stops force
        recording: the trial gets a warning instead.
    data_dir
        Where videos go.
    settings
        Station settings (unused for now beyond the data directory; kept for the runtime).
    flush_interval_s
        Longest time between two writes of samples to the database.
    analyze
        The analysis function (default :func:`station.analysis.analyze_corner_loads`).
    drive_sim
        With a simulated source, play the protocol on it (empty plates for the zero,
        quiet stance while armed, then the protocol). Default: when the source can.
    """

    def __init__(
        self,
        *,
        acquisition: Acquisition,
        store: Store,
        camera: Camera | None = None,
        data_dir: str | Path = "data",
        settings: Any = None,
        flush_interval_s: float = 0.5,
        analyze: AnalyzeFn | None = None,
        drive_sim: bool | None = None,
    ) -> None:
        self.acquisition = acquisition
        self.store = store
        self.camera = camera
        self.data_dir = Path(data_dir)
        self.settings = settings
        self.flush_interval_s = flush_interval_s
        if analyze is None:
            from station.analysis import analyze_corner_loads

            analyze = analyze_corner_loads
        self._analyze = analyze
        source = acquisition.source
        self._sim: Any = source if (drive_sim if drive_sim is not None else hasattr(source, "set_scenario")) else None
        if self._sim is not None and camera is not None and hasattr(camera, "follow"):
            camera.follow(self._sim)  # the simulated camera films what the simulated plates feel
        self._lock = threading.RLock()
        self._run: _Run | None = None
        self._last_state = IDLE
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._closed = False
        #: Set by the runtime: returns why a recording may not start now (e.g. a
        #: calibration in progress), or None.
        self.blocked_by: Callable[[], str | None] | None = None
        self._sim_switch_request: Callable[[], None] | None = None
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
    ) -> dict[str, Any]:
        """Arm the station for a recording; returns the status at once (state ``armed``)."""
        opts = check_options(protocol, leg, options)
        athlete = self.store.get_athlete(athlete_id)
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
            if not self.acquisition.running:
                raise HardwareError(
                    "the load cells are not running", hint="Check the hardware health page and restart the station."
                )
            opts.setdefault("tare", True)
            opts.setdefault("wait_still", PROTOCOLS[protocol].end_condition != "landing")
            opts.setdefault("arm_timeout_s", 30.0)
            opts.setdefault("video", True)
            run = _Run(
                athlete_id=athlete_id, protocol=protocol, leg=leg, options=opts, actor=actor,
                body_mass_kg=athlete.get("body_mass_kg"),
            )
            run.next_seq = self.acquisition.buffer.next_seq
            run.message = "zeroing the empty plates" if opts["tare"] else "waiting for the athlete"
            self._run = run
            self._thread = threading.Thread(target=self._worker, args=(run,), name="recorder", daemon=True)
            self._thread.start()
        self._notify(run)
        return self.status()

    def stop(self) -> dict[str, Any]:
        """End the recording now and keep it (analysed and saved). While armed, this aborts."""
        with self._lock:
            run = self._run
            if run is None or run.state not in (ARMED, RECORDING):
                raise ConflictError(f"nothing is being recorded (state {self.state})")
            if run.state == ARMED:
                run.abort_requested.set()
            else:
                run.stop_requested.set()
        self._wake.set()
        self._wait_leaving(run, (ARMED, RECORDING), 2.0)
        return self.status()

    def abort(self) -> dict[str, Any]:
        """Drop the recording: the trial (if one was opened) is kept as ``aborted``."""
        with self._lock:
            run = self._run
            if run is None or run.state not in (ARMED, RECORDING):
                raise ConflictError(f"nothing to abort (state {self.state})")
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
        run = self._run
        if run is None:
            return {
                "state": IDLE, "trial_id": None, "athlete_id": None, "protocol": None, "leg": None,
                "elapsed_s": 0.0, "duration_s": None, "reps": 0, "reps_wanted": None,
                "frames": 0, "frames_lost": 0, "message": "ready", "warnings": [],
            }
        elapsed = 0.0
        if run.t0_ns is not None and run.last_t_ns is not None:
            elapsed = (run.last_t_ns - run.t0_ns) / 1e9
        return {
            "state": run.state,
            "trial_id": run.trial_id,
            "athlete_id": run.athlete_id,
            "protocol": run.protocol,
            "leg": run.leg,
            "elapsed_s": round(elapsed, 3),
            "duration_s": run.options.get("duration_s"),
            "reps": run.reps,
            "reps_wanted": run.options.get("reps"),
            "frames": run.frames_written,
            "frames_lost": run.frames_lost,
            "message": run.message,
            "warnings": list(run.warnings),
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
        """Re-analyse a stored trial's raw counts under ``calibration``; store and return the trial.

        The gains (and geometry) come from ``calibration``; the zero is the one the trial
        was recorded with (``use_trial_zero``), since the zero drifts from day to day
        while a new calibration corrects the gains. Works for interrupted trials too.
        """
        trial = self.store.get_trial(trial_id)
        if trial["status"] in BUSY_STATES:
            raise ConflictError(f"trial {trial_id} is {trial['status']}; wait until it is finished")
        t_ns, counts, invalid = self.store.load_samples(trial_id)
        cal = calibration
        if use_trial_zero and trial.get("zero_offsets"):
            cal = calibration.with_offsets(tuple(trial["zero_offsets"]))
        loads = cal.counts_to_newtons(counts)
        athlete = self.store.get_athlete(trial["athlete_id"], include_deleted=True)
        metrics, events = self._analyse_arrays(
            t_ns, loads, invalid, cal, trial["protocol"], trial["leg"], athlete.get("body_mass_kg")
        )
        old = trial.get("metrics") or {}
        metrics["recording"] = {**old.get("recording", {}), "recomputed_with_calibration_id": calibration.id}
        video = trial.get("video")
        if video and video.get("timestamps_path") and trial["leg"] and len(t_ns):
            # The new repetition windows get their angles again from the stored video.
            from hardware.video_file import read_timestamps

            metrics.setdefault("warnings", [])
            try:
                frame_t_ns = read_timestamps(video["timestamps_path"])
            except (OSError, StationError) as exc:
                metrics["warnings"] = [*metrics["warnings"], f"the video's timestamps could not be read: {exc}"]
            else:
                self._add_video_kinematics(metrics, video["path"], frame_t_ns, leg=trial["leg"], t0_ns=int(t_ns[0]))
        return self.store.set_trial_metrics(trial_id, metrics, events, calibration_id=calibration.id)

    # -- worker ---------------------------------------------------------------------------
    def _on_frame(self, sample: Sample) -> None:
        switch = self._sim_switch_request
        if switch is not None:
            self._sim_switch_request = None
            switch()
        run = self._run
        if run is not None and run.state in (ARMED, RECORDING) and sample.seq - run.next_seq >= self._wake_after:
            self._wake.set()

    def _worker(self, run: _Run) -> None:
        try:
            self._arm(run)
            self._record(run)
            if run.abort_requested.is_set():
                self._end_aborted(run)
                return
            self._analyse(run)
        except _Abort:
            self._end_aborted(run)
        except _ArmTimeout as exc:
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
            self._stop_video(run)

    def _set(self, run: _Run, state: str | None = None, message: str | None = None) -> None:
        with self._lock:
            if state is not None:
                run.state = state
            if message is not None:
                run.message = message
        self._notify(run)

    def _notify(self, run: _Run) -> None:
        status = self.status()
        for cb in list(self._listeners):
            try:
                cb(status)
            except Exception:
                log.exception("recording state listener failed")

    def _wait_leaving(self, run: _Run, states: tuple[str, ...], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while run.state in states and time.monotonic() < deadline:
            time.sleep(0.01)

    def _read(self, run: _Run) -> dict[str, np.ndarray]:
        """Frames since the last read (waiting up to one flush interval for them)."""
        self._wake.wait(min(self.flush_interval_s, CHECK_INTERVAL_S))
        self._wake.clear()
        arrays, first, nxt = self.acquisition.buffer.read_since(run.next_seq)
        if first > run.next_seq and run.state == RECORDING and len(arrays["t_ns"]):
            # Overwritten before they were read: note where (the first frame after the
            # gap) so losses outside the trial's final time span are not counted.
            run.losses.append((int(arrays["t_ns"][0]), first - run.next_seq))
            log.error("%d frames were lost (the recorder fell behind the load cells)", first - run.next_seq)
        run.next_seq = nxt
        return arrays

    def _check_abort(self, run: _Run) -> None:
        if run.abort_requested.is_set():
            raise _Abort

    def _sim_scenario(self, scenario: str, **kwargs: Any) -> int | None:
        """Switch the simulator's scenario on the acquisition thread, between two frames
        (the simulator is not thread-safe); return the scenario's start time (ns)."""
        done = threading.Event()
        result: list[int | None] = []

        def switch() -> None:
            try:
                self._sim.set_scenario(scenario, **kwargs)
                result.append(getattr(self._sim, "scenario_start_ns", None))
            finally:
                done.set()

        self._sim_switch_request = switch
        if not done.wait(2.0):  # no frames flowing: nothing races, switch here
            self._sim_switch_request = None
            if not done.is_set():
                switch()
        return result[0] if result else None

    # -- armed ------------------------------------------------------------------------------
    def _arm(self, run: _Run) -> None:
        rate = max(self.acquisition.source.rate_hz, 1.0)
        deadline = time.monotonic() + float(run.options["arm_timeout_s"])
        if run.options["tare"]:
            if self._sim is not None:
                self._sim_scenario("empty")
                run.next_seq = self.acquisition.buffer.next_seq
            need = max(int(TARE_S * rate), 4)
            # Wait up to TARE_WAIT_S of samples for the plates to read empty (someone may
            # still be stepping off); if they never do, keep the last zero and say so.
            counts = np.zeros((0, N_CHANNELS), dtype=np.int64)
            totals = np.zeros(0)
            seen = 0
            while True:
                self._check_abort(run)
                if time.monotonic() > deadline:
                    raise HardwareError("no frames from the load cells while zeroing",
                                        hint="Check the hardware health page.")
                a = self._read(run)
                seen += len(a["t_ns"])
                counts = np.concatenate([counts, a["counts"]])[-need:]
                totals = np.concatenate([totals, a["loads_n"].sum(axis=1)])[-need:]
                if len(totals) == need and self._looks_empty(counts, totals):
                    offsets = tuple(float(v) for v in counts.mean(axis=0))
                    self.acquisition.set_calibration(self.acquisition.calibration.with_offsets(offsets))
                    break
                if seen >= TARE_WAIT_S * rate:
                    run.warnings.append(
                        "the plates were loaded when the recording was started, so they were not zeroed "
                        "(the last zero is used); start with empty plates to zero them."
                    )
                    break
        run.zero_offsets = tuple(self.acquisition.calibration.offsets_counts)
        # The simulated athlete starts every protocol standing on the plates, so with a
        # simulator it always steps on first (a real athlete may start off the plates).
        if run.options["wait_still"] or self._sim is not None:
            if self._sim is not None:
                self._sim_scenario("quiet_stance")
            self._set(run, message="step onto the plates and stand still")
            self._wait_still(run, rate, deadline)

    def _looks_empty(self, counts: np.ndarray, totals: np.ndarray) -> bool:
        """Empty plates: below 20 N in total. Without a calibration the zero may be far
        off, so then "empty" means every cell as steady as its noise (a person standing,
        even still, moves each cell by several newtons)."""
        cal = self.acquisition.calibration
        if not cal.is_default:
            return bool(np.abs(totals).max() < CONTACT_THRESHOLD_N)
        sd_n = counts.std(axis=0) * np.abs(np.asarray(cal.gains_n_per_count))
        return bool(sd_n.max() < EMPTY_MAX_SD_N)

    def _wait_still(self, run: _Run, rate: float, deadline: float) -> None:
        window = max(int(STILL_WINDOW_S * rate), 4)
        min_n = STILL_MIN_N if run.body_mass_kg is None else max(STILL_MIN_N, 0.5 * run.body_mass_kg * G_M_S2)
        recent = np.zeros(0)
        while True:
            self._check_abort(run)
            if time.monotonic() > deadline:
                raise _ArmTimeout(float(run.options["arm_timeout_s"]))
            a = self._read(run)
            recent = np.concatenate([recent, a["loads_n"].sum(axis=1)])[-window:]
            if len(recent) == window:
                mean, sd = float(recent.mean()), float(recent.std())
                if mean >= min_n and sd <= max(STILL_SD_N, 0.02 * mean):
                    return

    # -- recording --------------------------------------------------------------------------
    def _record(self, run: _Run) -> None:
        cal = self.acquisition.calibration
        trial = self.store.create_trial(
            athlete_id=run.athlete_id, protocol=run.protocol, leg=run.leg,
            options={k: v for k, v in run.options.items() if k in ("duration_s", "reps", "end_on_touchdown", "video")},
            sample_rate_hz=float(self.acquisition.source.rate_hz), calibration_id=cal.id,
            software_version=__version__, zero_offsets=run.zero_offsets, actor=run.actor,
        )
        start_ns: int | None = None
        with self._lock:
            run.trial_id = int(trial["id"])
            run.next_seq = self.acquisition.buffer.next_seq  # the trial starts with the next frame
        if self._sim is not None:
            # A fast simulator may already have produced frames past the switch: start the
            # trial exactly at the protocol's time zero, so its ground truth lines up.
            start_ns = self._sim_scenario(run.protocol, leg=run.leg)
        self._set(run, RECORDING, "recording")
        self._start_video(run)
        end = EndCondition(run.protocol, run.leg, run.options, rate_hz=float(self.acquisition.source.rate_hz))
        written = 0  # frames of run.*_parts already in the database
        last_frame_mono = last_flush = time.monotonic()
        while True:
            a = self._read(run)
            if start_ns is not None and run.t0_ns is None and len(a["t_ns"]):
                keep = a["t_ns"] >= start_ns
                a = {k: v[keep] for k, v in a.items()}
            n_new = len(a["t_ns"])
            if n_new:
                last_frame_mono = time.monotonic()
                if run.t0_ns is None:
                    run.t0_ns = int(a["t_ns"][0])
                run.t_parts.append(a["t_ns"])
                run.counts_parts.append(a["counts"])
                run.invalid_parts.append(a["invalid"])
                run.loads_parts.append(a["loads_n"])
                run.last_t_ns = int(a["t_ns"][-1])
            if run.losses:
                self._count_losses(run)
            decision = self._check_end(run, end) if n_new else None
            if decision is not None:
                self._truncate(run, run.t0_ns + round(decision.t_s * 1e9))  # type: ignore[operator]
                run.end_reason = decision.reason
            elif run.stop_requested.is_set():
                run.end_reason = "stopped by the operator"
            elif run.abort_requested.is_set():
                run.end_reason = "aborted" if not run.shutdown else "the station was stopped"
            if run.end_reason is not None:
                run.video_stop.set()  # the video ends with the force data
            if run.end_reason is not None or time.monotonic() - last_flush >= self.flush_interval_s:
                written = self._flush(run, written)
                last_flush = time.monotonic()
            if run.end_reason is not None:
                self._count_losses(run)
                return
            if time.monotonic() - last_frame_mono > NO_FRAMES_FAIL_S:
                raise HardwareError(
                    f"no frames from the load cells for {NO_FRAMES_FAIL_S:g} s",
                    hint="Check the cables and the hardware health page; the samples so far are kept.",
                )

    def _count_losses(self, run: _Run) -> None:
        """Frames lost inside the trial's span (after its first and up to its last frame)."""
        if run.t0_ns is None or run.last_t_ns is None:
            return
        lost = sum(n for t, n in run.losses if run.t0_ns < t <= run.last_t_ns)
        if lost != run.frames_lost:
            run.frames_lost = lost
            msg = f"{lost} frames were lost (the recorder fell behind the load cells)"
            run.warnings = [w for w in run.warnings if "frames were lost" not in w] + [msg]

    def _check_end(self, run: _Run, end: EndCondition) -> EndDecision | None:
        t = np.concatenate(run.t_parts)
        loads = np.concatenate(run.loads_parts)
        fz = np.column_stack([loads[:, :4].sum(axis=1), loads[:, 4:].sum(axis=1)])
        decision = end.check((t - t[0]) / 1e9, fz)
        done = min(end.reps_done, end.reps_wanted) if decision is not None and end.reps_wanted else end.reps_done
        if done != run.reps:
            run.reps = done
            self._notify(run)
        return decision

    def _truncate(self, run: _Run, end_t_ns: int) -> None:
        """Drop frames after the end of the trial (a fast source may have delivered more)."""
        t = np.concatenate(run.t_parts)
        keep = int(np.searchsorted(t, end_t_ns, side="right"))
        run.t_parts = [t[:keep]]
        run.counts_parts = [np.concatenate(run.counts_parts)[:keep]]
        run.invalid_parts = [np.concatenate(run.invalid_parts)[:keep]]
        run.loads_parts = [np.concatenate(run.loads_parts)[:keep]]
        run.last_t_ns = int(t[keep - 1]) if keep else run.t0_ns

    def _flush(self, run: _Run, written: int) -> int:
        """Write the frames not yet in the database as one chunk; return the new count."""
        total = sum(len(p) for p in run.t_parts)
        if total <= written:
            return written
        t = np.concatenate(run.t_parts)[written:]
        c = np.concatenate(run.counts_parts)[written:]
        i = np.concatenate(run.invalid_parts)[written:]
        assert run.trial_id is not None
        self.store.append_samples(run.trial_id, t, c, i)
        run.frames_written = total
        return total

    # -- analysis -------------------------------------------------------------------------------
    def _analyse(self, run: _Run) -> None:
        assert run.trial_id is not None
        self._stop_video(run)
        self.store.finish_trial(run.trial_id, status=ANALYSING)
        self._set(run, ANALYSING, f"analysing ({run.end_reason})")
        if run.frames_written == 0:
            self.store.finish_trial(run.trial_id, status=FAILED, message="no samples were recorded")
            self._set(run, FAILED, "no samples were recorded; check the load cells")
            return
        t_ns = np.concatenate(run.t_parts)
        loads = np.concatenate(run.loads_parts)
        invalid = np.concatenate(run.invalid_parts)
        cal = self.acquisition.calibration
        try:
            metrics, events = self._analyse_arrays(
                t_ns, loads, invalid, cal, run.protocol, run.leg, run.body_mass_kg
            )
        except StationError as exc:
            msg = f"analysis failed: {exc}"
            self.store.finish_trial(run.trial_id, status=FAILED, message=msg)
            self._set(run, FAILED, msg + " (the raw data is kept)")
            return
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
            "video": run.video is not None,
        }
        metrics.setdefault("warnings", [])
        metrics["warnings"] = list(metrics["warnings"]) + run.warnings
        if run.video is not None and run.leg is not None:
            self._add_video_kinematics(metrics, run.video.path, run.video.frame_t_ns, leg=run.leg, t0_ns=int(t_ns[0]))
        if cal.is_default:
            metrics["warnings"].append("the station was not calibrated; forces use nominal gains.")
        self.store.finish_trial(run.trial_id, status=SAVED, metrics=metrics, events=events,
                                message=run.end_reason)
        run.metrics = metrics
        self._set(run, SAVED, f"saved trial {run.trial_id} ({run.end_reason})")

    def _add_video_kinematics(
        self, metrics: dict[str, Any], video_path: str | Path, frame_t_ns: np.ndarray, *, leg: str, t0_ns: int
    ) -> None:
        """Single-leg squat with video: peak pelvic drop and knee FPPA per repetition,
        corrected by the active camera roll calibration; the score then weighs them."""
        squat = metrics.get("squat")
        if not isinstance(squat, dict) or not squat.get("reps"):
            return
        from station.video_kinematics import squat_video_kinematics

        roll_deg = 0.0
        roll = self.store.active_calibration("camera_roll")
        if roll is not None and isinstance(roll.get("data"), dict):
            roll_deg = float(roll["data"].get("roll_deg", 0.0))
        else:
            metrics["warnings"].append("the camera view is not calibrated (roll); pelvic drop assumes a level camera.")
        try:
            per_rep = squat_video_kinematics(
                video_path, frame_t_ns, trial_t0_ns=t0_ns, stance_leg=leg, reps=squat["reps"], roll_deg=roll_deg,
            )
        except Exception as exc:  # the force results stand on their own
            log.exception("video kinematics failed")
            metrics["warnings"].append(f"pelvic drop and knee angle could not be measured from the video: {exc}")
            return
        for rep, kin in zip(squat["reps"], per_rep, strict=False):
            rep.update({k: v for k, v in kin.items() if k not in ("start_s", "end_s")})
        drops = [k["peak_pelvic_drop_deg"] for k in per_rep if k["peak_pelvic_drop_deg"] is not None]
        fppas = [k["peak_fppa_deg"] for k in per_rep if k["peak_fppa_deg"] is not None]
        squat["video"] = {
            "roll_deg": roll_deg,
            "max_pelvic_drop_deg": max(drops) if drops else None,
            "max_fppa_deg": max(fppas) if fppas else None,
            "mean_peak_pelvic_drop_deg": float(np.mean(drops)) if drops else None,
            "mean_peak_fppa_deg": float(np.mean(fppas)) if fppas else None,
            "method": "marker tracking; peaks per force-plate repetition (station.analysis.kinematics)",
        }
        if drops or fppas:
            # The score now weighs the camera angles too; the force-only score stays beside it.
            from station.analysis.squat import stability_score_from_reps

            squat["stability_score_force_only"] = squat.get("stability_score")
            squat["stability_score"] = stability_score_from_reps(squat["reps"], touchdowns=int(squat.get("touchdowns") or 0))

    def _analyse_arrays(
        self,
        t_ns: np.ndarray,
        loads_n: np.ndarray,
        invalid: np.ndarray,
        cal: Calibration,
        protocol: str,
        leg: str | None,
        body_mass_kg: float | None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        t_s = (np.asarray(t_ns, dtype=np.int64) - int(t_ns[0])) / 1e9 if len(t_ns) else np.zeros(0)
        metrics = self._analyze(
            t_s, np.asarray(loads_n, dtype=float), geometry=cal.geometry, protocol=protocol, leg=leg,
            body_mass_kg=body_mass_kg, invalid=np.asarray(invalid),
        )
        return metrics, events_from_metrics(metrics)

    # -- endings ----------------------------------------------------------------------------------
    def _end_aborted(self, run: _Run) -> None:
        status = "interrupted" if run.shutdown else ABORTED
        if run.trial_id is not None:
            try:
                self.store.finish_trial(run.trial_id, status=status, message=run.end_reason or status)
            except StationError as exc:
                log.error("could not mark trial %s %s: %s", run.trial_id, status, exc)
        self._set(run, ABORTED, "recording aborted" + (f"; trial {run.trial_id} kept as {status}" if run.trial_id else ""))

    def _fail(self, run: _Run, message: str) -> None:
        if run.trial_id is not None:
            try:
                self.store.finish_trial(run.trial_id, status=FAILED, message=message)
            except StationError as exc:  # e.g. the disk is still full: mark_interrupted() fixes it at restart
                log.error("could not mark trial %s failed: %s", run.trial_id, exc)
            message += f" (trial {run.trial_id}: the {run.frames_written} samples written are kept)"
        self._set(run, FAILED, message)

    # -- video -------------------------------------------------------------------------------------
    def _start_video(self, run: _Run) -> None:
        if self.camera is None or not run.options.get("video", True):
            return
        run.video_thread = threading.Thread(target=self._video_loop, args=(run,), name="recorder-video", daemon=True)
        run.video_thread.start()

    def _video_loop(self, run: _Run) -> None:
        cam = self.camera
        assert cam is not None and run.trial_id is not None
        # Absolute: the API serves it relative to nothing, the purge unlinks it from any cwd.
        path = (self.data_dir / "videos" / f"trial_{run.trial_id:06d}.mp4").absolute()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            cam.start()
            # Skip frames a camera may still hold from before this trial (a stale queue
            # returns at once; a live frame takes up to one frame period).
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                if cam.read_frame().t_ns >= time.monotonic_ns() - 2e9 / max(cam.fps, 1.0):
                    break
            cam.start_recording(path)  # type: ignore[attr-defined]
        except Exception as exc:
            run.warnings.append(f"no video for this trial: {exc}")
            return
        try:
            while not run.video_stop.is_set():
                frame = cam.read_frame()
                if run.t0_ns is not None and frame.t_ns >= run.t0_ns + 1e9 * float(run.options["duration_s"]):
                    break  # the protocol's maximum length is reached
                # An unpaced (simulated) camera must not run ahead of the force data.
                while not run.video_stop.is_set():
                    latest = self.acquisition.latest()
                    if latest is None or latest.t_ns >= frame.t_ns:
                        break
                    time.sleep(0.002)
            video = cam.stop_recording()  # type: ignore[attr-defined]
            from hardware.video_file import timestamps_path_for

            self.store.add_video(
                run.trial_id, path=str(video.path), fps=float(video.fps), n_frames=int(video.n_frames),
                size_bytes=int(video.bytes), timestamps_path=str(timestamps_path_for(video.path)),
            )
            run.video = video
        except Exception as exc:
            log.exception("video recording failed")
            run.warnings.append(f"the video of this trial failed: {exc}")

    def _stop_video(self, run: _Run) -> None:
        """Ask the video thread to finish the file and wait for it (bounded)."""
        run.video_stop.set()
        if run.video_thread is not None:
            run.video_thread.join(10.0)


class _ArmTimeout(HardwareError):
    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            f"nobody stood still on the plates within {timeout_s:g} s",
            hint="Ask the athlete to stand still on both plates and start again.",
        )


def events_from_metrics(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Events stored with a trial: contacts (touch-downs and landings are contacts of a
    foot), squat repetitions, the lift-off of single-leg protocols."""
    events: list[dict[str, Any]] = []
    for c in metrics.get("contacts") or []:
        if isinstance(c, dict):
            events.append({"kind": "contact", **c, "t_s": c.get("on_s")})
    squat = metrics.get("squat") or {}
    for k, r in enumerate(squat.get("reps") or [], 1):
        if isinstance(r, dict):
            events.append({"kind": "rep", "rep": k, **r, "t_s": r.get("start_s")})
    single = metrics.get("single_leg") or {}
    if single.get("lift_off_s") is not None:
        events.append({"kind": "lift_off", "t_s": single["lift_off_s"], "leg": single.get("leg")})
    events.sort(key=lambda e: (e["t_s"] is None, e["t_s"] or 0.0))
    return events


__all__ = ["BUSY_STATES", "Recorder", "events_from_metrics"]
