"""The analysis window of a trial and the single-leg events that bound it.

A protocol names its window kind (``Protocol.window``, one of
:data:`station.core.protocols.WINDOWS`); :func:`find_window` places it on a trial from the
contacts: the other foot's lift-off or the landing on the stance plate where it starts,
touch-downs and the stance foot leaving where it ends. See docs/analysis.md, "Windows".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from station.analysis.contacts import Contact
from station.core.protocols import SINGLE_LEG_WINDOWS, WINDOWS

#: The first second after a window's start (settling) is left out of it.
SETTLE_S = 1.0


@dataclass(frozen=True)
class Timeline:
    """Where a trial's analysis window lies and the events that place it (times in s).

    ``start_s`` is the window's anchor (trial start, lift-off or landing) before the
    settling second; None when the trial has no window kind or the anchor was not found
    (the other foot never lifted, nobody landed), and then sway is not measured.
    ``window_s`` is None too when the window would be empty (it ends within the settling
    second). ``touchdowns`` are the other foot's contacts beginning after ``start_s``.
    """

    window_s: tuple[float, float] | None = None
    start_s: float | None = None
    lift_off_s: float | None = None
    landing_s: float | None = None
    touchdowns: list[Contact] = field(default_factory=list)


def find_window(kind: str | None, contacts: list[Contact], *, leg: str | None, t0_s: float, t1_s: float) -> Timeline:
    """Place the window of ``kind`` on a trial.

    Parameters
    ----------
    kind : a key of :data:`station.core.protocols.WINDOWS`, or None (no window).
    contacts : the trial's contacts of both feet, sorted by start.
    leg : the stance leg ("left"/"right"); needed by the single-leg kinds.
    t0_s, t1_s : first and last timestamp of the trial, s.

    Returns
    -------
    Timeline
        The window [start + SETTLE_S, end] and, for the single-leg kinds, the other foot's
        lift-off (for a landing: its take-off from its plate, None if the hop started from
        the floor), the landing and the touch-downs after the start.
    """
    if kind is None:
        return Timeline()
    if kind not in WINDOWS:
        raise ValueError(f"unknown window kind {kind!r}")
    if kind not in SINGLE_LEG_WINDOWS:  # "settled"
        return Timeline(window_s=(t0_s + SETTLE_S, t1_s), start_s=t0_s)
    if leg not in ("left", "right"):
        raise ValueError(f"window {kind} needs the stance leg, got {leg!r}")
    other = "right" if leg == "left" else "left"
    own = [c for c in contacts if c.foot == leg]
    oth = [c for c in contacts if c.foot == other]
    landing: float | None = None
    lift_off: float | None
    if kind == "landing_to_touchdown":
        # landing = first initial contact of the stance foot that the recording saw
        landing = next((c.on_s for c in own if c.on_s is not None), None)
        start = landing
        # the other foot's lift-off is the take-off from its plate (none: hopped from the floor)
        lift_off = None
        if landing is not None:
            lift_off = max((c.off_s for c in oth if c.off_s is not None and c.off_s < landing), default=None)
    else:
        # lift-off = the end of the other foot's contact that was running when the
        # recording began (None: it never lifted); if there was none, the athlete
        # started on one leg (t0)
        lift_off = oth[0].off_s if oth and oth[0].on_s is None else t0_s
        start = lift_off
    if start is None:
        return Timeline(lift_off_s=lift_off, landing_s=landing)
    touchdowns = [c for c in oth if c.on_s is not None and c.on_s > start]
    first_td = touchdowns[0].on_s if touchdowns else None
    stance_end = next((c.off_s for c in own if c.off_s is not None and c.off_s > start), None)
    # a squat set goes on after a brief touch-down (counted separately), so its window
    # spans the set; the other kinds end at the first touch-down
    ends = [stance_end] if kind == "lift_off_to_stance_end" else [stance_end, first_td]
    end_candidates = [v for v in ends if v is not None]
    end = min(end_candidates) if end_candidates else t1_s
    window = (start + SETTLE_S, end) if end - (start + SETTLE_S) > 0 else None
    return Timeline(window_s=window, start_s=start, lift_off_s=lift_off, landing_s=landing, touchdowns=touchdowns)
