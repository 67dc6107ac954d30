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
- ``reps`` (single-leg squat): after the requested number of repetitions
  (segmented from the total vertical force like the analysis does), ``TAIL_S``
  after the last one ends (``REPS_TAIL_S``).
- ``landing`` (hop and stick): ``HOLD_AFTER_LANDING_S`` after the stance foot lands
  on its plate (its force rises through 20 N after being below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from station.analysis.contacts import CONTACT_THRESHOLD_N
from station.analysis.squat import segment_reps
from station.protocols import HOLD_AFTER_LANDING_S, PROTOCOLS

#: Data kept after the event that ends a trial, so the analysis sees it whole.
TAIL_S = 0.5
#: After the last squat: the analysis' zero-lag filters need this much data after the
#: rise for the repetition to be found again in the saved trial.
REPS_TAIL_S = 1.0
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
        # segment_reps integrates the whole record: run it at most twice a second.
        if t_s[-1] - self._last_reps_check < 0.5 or len(t_s) < 3 * self.rate_hz:
            return None
        self._last_reps_check = float(t_s[-1])
        reps = segment_reps(fz_n.sum(axis=1), fs_hz=self.rate_hz)
        self.reps_done = len(reps)
        if len(reps) >= self.reps_wanted:
            end_idx = reps[self.reps_wanted - 1][2]
            t_end = float(t_s[min(end_idx, len(t_s) - 1)]) + REPS_TAIL_S
            if t_s[-1] >= t_end:
                return EndDecision(t_end, f"{self.reps_wanted} repetitions done")
        return None

    def _landing(self, t_s: np.ndarray, fz_n: np.ndarray) -> EndDecision | None:
        own = fz_n[:, _FEET.index(str(self.leg))] >= CONTACT_THRESHOLD_N
        rises = np.flatnonzero(~own[:-1] & own[1:]) + 1
        if len(rises) == 0:
            return None
        t_end = float(t_s[rises[0]]) + HOLD_AFTER_LANDING_S
        if t_s[-1] >= t_end:
            return EndDecision(t_end, f"held {HOLD_AFTER_LANDING_S:g} s after landing")
        return None


def _other(leg: str | None) -> str:
    return "right" if leg == "left" else "left"
