"""Recording control: one recording at a time, as an explicit state machine.

States::

    idle -> armed -> recording -> analysing -> saved
              |          |            |
              +----------+------------+-----> aborted | failed

- **armed**: the plates are zeroed while empty (``tare``; phase ``zeroing``), then the
  recorder waits until someone stands still on them (``wait_still``; phase
  ``waiting_still``; not for hop-and-stick, where the athlete starts off the plates).
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

The modules, one job each: :mod:`~station.recording.recorder` (the state machine and
its worker thread), :mod:`~station.recording.run` (one recording's state),
:mod:`~station.recording.arming` (zero, wait until still),
:mod:`~station.recording.samples` (the trial's frames and their writing),
:mod:`~station.recording.analysis` (metrics and events after saving, recompute).
Video is :mod:`station.video_capture`; what happens on simulated plates is the
:class:`hardware.sim.director.SimDirector`'s business, cued by the recorder's steps.
"""

from station.recording.analysis import TrialAnalysis, events_from_metrics
from station.recording.recorder import Cue, Recorder
from station.recording.run import BUSY_STATES

__all__ = ["BUSY_STATES", "Cue", "Recorder", "TrialAnalysis", "events_from_metrics"]
