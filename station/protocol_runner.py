"""When a recording ends by itself: per-protocol end conditions on the live forces.

The recorder calls :meth:`EndCondition.check` with everything recorded so far
(timestamps and per-plate vertical force). Decisions use the samples' own
timestamps, not the wall clock, so a recording of a fast (unpaced) simulator ends
at the same sample as a real-time one.

End conditions (``Protocol.end_condition``):

- ``duration``: after ``duration_s`` of samples.
- ``touchdown`` (single-leg stance): once the other foot has been off its plate
  (below 20 N) for ``LIFT_MIN_S`` and then loads it again above 20 N, the trial
  ends ``TAIL_S`` later (so the analysis sees the whole crossing); else after
  ``duration_s`` (30 s).
- ``reps`` (single-leg squat): after the requested number of repetitions,
  ``REPS_TAIL_S`` after the last one's rise ends. Repetitions are segmented from the
  total vertical force exactly as the analysis of the saved trial does
  (:func:`~station.analysis.squat.segment_reps` from the other foot's lift-off to the
  end of the record): a repetition counts only once its rise has finished inside the
  record, and the trial ends only at a time where the record cut there still holds
  exactly the requested number of finished repetitions. The velocity integration
  behind the segmentation depends on the whole window (its mean force is the body
  weight), so counting on the growing live record alone could end a trial that the
  analysis then reads as one repetition fewer.
- ``landing`` (hop and stick): ``HOLD_AFTER_LANDING_S`` after the stance foot lands
  on its plate (its force rises through 20 N after being below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from station.analysis.contacts import detect_contacts
from station.analysis.filters import sample_rate_hz
from station.analysis.squat import segment_reps
from station.core.physics import CONTACT_THRESHOLD_N
from station.core.protocols import HOLD_AFTER_LANDING_S, PROTOCOLS

#: Data kept after the event that ends a trial, so the analysis sees it whole.
TAIL_S = 0.5
#: After the last squat: the analysis' zero-lag filters need about 1 s of data after the
#: rise for the repetition to be found again in the saved trial, and the athlete is still
#: settling for up to ~0.8 s after the rise the segmentation sees on a short live record
#: (a look every REPS_CHECK_S of sample time, as on a real-time station): 2 s keeps both.
REPS_TAIL_S = 2.0
#: How often (in sample time) the squat end condition looks at the record.
REPS_CHECK_S = 0.5
#: The other foot must stay off this long before a load counts as a touch-down.
LIFT_MIN_S = 0.2
_FEET = ("left", "right")


@dataclass(frozen=True)
class EndDecision:
    t_s: float      # end time, seconds from the first recorded sample
    reason: str     # shown to the user


class EndCondition:
    """End condition of one recording (see the module docstring)."""

    def __init__(self, protocol: str, leg: str | None, options: dict[str, Any], *, rate_hz: float) -> None:
        self.protocol = PROTOCOLS[protocol]
        self.leg = leg
        self.duration_s = float(options.get("duration_s", self.protocol.default_duration_s))
        self.reps_wanted = int(options.get("reps", 0))
        self.end_on_touchdown = bool(options.get("end_on_touchdown", True))
        self.rate_hz = rate_hz
        self.reps_done = 0
        self._last_reps_check = -1.0

    def check(self, t_s: np.ndarray, fz_n: np.ndarray) -> EndDecision | None:
        """``t_s`` (N,) from the first recorded sample; ``fz_n`` (N, 2) [left, right]."""
        if len(t_s) == 0:
            return None
        kind = self.protocol.end_condition
        event: EndDecision | None = None
        if kind == "touchdown" and self.end_on_touchdown and self.leg is not None:
            event = self._touchdown(t_s, fz_n)
        elif kind == "reps" and self.reps_wanted > 0:
            event = self._reps(t_s, fz_n)
        elif kind == "landing" and self.leg is not None:
            event = self._landing(t_s, fz_n)
        if event is not None and event.t_s < self.duration_s:
            return event
        if t_s[-1] >= self.duration_s:
            return EndDecision(self.duration_s, f"the {self.duration_s:g} s of the protocol are over")
        return None

    # -- the conditions ----------------------------------------------------------------
    def _touchdown(self, t_s: np.ndarray, fz_n: np.ndarray) -> EndDecision | None:
        off = fz_n[:, 1 - _FEET.index(str(self.leg))] < CONTACT_THRESHOLD_N
        lifted_since: float | None = float(t_s[0]) if off[0] else None
        for i in np.flatnonzero(np.diff(off.astype(np.int8))) + 1:
            if off[i]:
                lifted_since = float(t_s[i])
            elif lifted_since is not None and t_s[i] - lifted_since >= LIFT_MIN_S:
                t_end = float(t_s[i]) + TAIL_S
                if t_s[-1] >= t_end:
                    return EndDecision(t_end, f"the {_other(self.leg)} foot touched down")
                return None  # wait for the tail
            else:
                lifted_since = None  # a brief unloading (a wobble) is not a lift-off
        return None

    def _reps(self, t_s: np.ndarray, fz_n: np.ndarray) -> EndDecision | None:
        # segment_reps integrates the whole record: look at most every REPS_CHECK_S of data.
        # The looks fall on a fixed grid of sample time and each sees only the data up to
        # its grid point, so the end found does not depend on how the frames arrived: a
        # recorder that was starved and reads 80 s at once ends where a live one does
        # (counting on the whole long record found a repetition more and ended seconds late).
        first = int(3 * self.rate_hz) - 1
        if len(t_s) <= first:
            return None
        look_s = float(t_s[first]) if self._last_reps_check < 0 else self._last_reps_check + REPS_CHECK_S
        while look_s <= t_s[-1]:
            self._last_reps_check = look_s
            n = int(np.searchsorted(t_s, look_s, side="right"))
            decision = self._reps_up_to(t_s[:n], fz_n[:n])
            if decision is not None:
                return decision
            look_s += REPS_CHECK_S
        return None

    def _reps_up_to(self, t_s: np.ndarray, fz_n: np.ndarray) -> EndDecision | None:
        total = fz_n.sum(axis=1)
        fs = sample_rate_hz(t_s)  # the analysis' rate: the median interval
        i0 = self._squat_start(t_s, fz_n)
        done = finished_reps(total[i0:], fs_hz=fs)
        self.reps_done = len(done)
        if len(done) < self.reps_wanted:
            return None
        # candidate ends: the tail after the last wanted rep's rise, then later ones in
        # steps of TAIL_S up to the data we have; the first whose cut record the
        # analysis reads as exactly the wanted reps (all finished) ends the trial
        t_end = float(t_s[i0 + done[self.reps_wanted - 1][2]]) + REPS_TAIL_S
        while t_end <= t_s[-1]:
            n = int(np.searchsorted(t_s, t_end, side="right"))
            if n - i0 > 3 * fs:
                seg = total[i0:n]
                reps = segment_reps(seg, fs_hz=fs)
                if len(reps) == self.reps_wanted and reps[-1][2] < len(seg) - 1:
                    return EndDecision(float(t_s[n - 1]), f"{self.reps_wanted} repetitions done")
            t_end += TAIL_S
        return None

    def _squat_start(self, t_s: np.ndarray, fz_n: np.ndarray) -> int:
        """Index where the analysis starts looking for repetitions: the other foot's
        lift-off (the end of its contact running when the record began), as in
        :func:`station.analysis.report.analyze_corner_loads`; 0 when it never lifted or
        the athlete began on one leg."""
        if self.leg not in _FEET:
            return 0
        other = _other(self.leg)
        contacts = detect_contacts(t_s, fz_n[:, _FEET.index(other)], foot=other)
        if contacts and contacts[0].on_s is None and contacts[0].off_s is not None:
            return int(np.searchsorted(t_s, contacts[0].off_s, side="left"))
        return 0

    def _landing(self, t_s: np.ndarray, fz_n: np.ndarray) -> EndDecision | None:
        own = fz_n[:, _FEET.index(str(self.leg))] >= CONTACT_THRESHOLD_N
        rises = np.flatnonzero(~own[:-1] & own[1:]) + 1
        if len(rises) == 0:
            return None
        t_end = float(t_s[rises[0]]) + HOLD_AFTER_LANDING_S
        if t_s[-1] >= t_end:
            return EndDecision(t_end, f"held {HOLD_AFTER_LANDING_S:g} s after landing")
        return None


def finished_reps(total_fz_n: np.ndarray, *, fs_hz: float) -> list[tuple[int, int, int]]:
    """Repetitions of :func:`~station.analysis.squat.segment_reps` whose rise has
    ended inside the record (one still rising at the last sample is not done yet)."""
    n = len(total_fz_n)
    return [r for r in segment_reps(total_fz_n, fs_hz=fs_hz) if r[2] < n - 1]


def _other(leg: str | None) -> str:
    return "right" if leg == "left" else "left"
