"""Simulated time for the fake GPIO board and the code that bit-bangs it.

Why: the fake HX711 chips run in the same Python process as the driver under test, so on the
real clock their own bookkeeping (and a slow clock source or a loaded machine) adds to every
clock pulse the driver times, and a test's outcome would depend on the machine's speed. On a
:class:`VirtualClock`, time moves only when something spends it: a GPIO call costs the
board's ``call_cost_us``, an injected preemption its ``glitch_us``, a ``sleep`` its argument.
The driver runs unmodified with this object in place of its ``time`` module, and a run is
the same on every machine.

For real-time figures (``make bench``) a :class:`CompensatedClock` is the real clock with
the fake's own bookkeeping taken out: the driver's Python, its sleeps, the modelled cost of
each call and any preemption by the scheduler all take real time, the simulation's overhead
none, as on a Pi where a GPIO call costs its few microseconds and nothing more.
"""

from __future__ import annotations

import time


class VirtualClock:
    """A monotonic clock that advances only when told to; a drop-in for the ``time``
    functions a driver uses (``monotonic``, ``monotonic_ns``, ``perf_counter``,
    ``perf_counter_ns``, ``sleep``).

    It starts at the real ``time.monotonic_ns()`` so timestamps look like the real clock's.
    """

    def __init__(self, start_ns: int | None = None) -> None:
        self._now_ns = time.monotonic_ns() if start_ns is None else int(start_ns)
        self.sleeps = 0

    def monotonic_ns(self) -> int:
        return self._now_ns

    def monotonic(self) -> float:
        return self._now_ns / 1e9

    perf_counter_ns = monotonic_ns
    perf_counter = monotonic

    def advance(self, ns: int) -> None:
        """Spend ``ns`` nanoseconds (a GPIO call's cost, a preemption)."""
        if ns < 0:
            raise ValueError("a clock cannot go backwards")
        self._now_ns += int(ns)

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")  # as time.sleep says
        self.sleeps += 1
        self.advance(round(seconds * 1e9))

    def spend_call(self, entry_ns: int, cost_ns: int) -> None:
        """A simulated GPIO call that began at ``entry_ns`` costs ``cost_ns``."""
        self.advance(cost_ns)


class CompensatedClock:
    """The real monotonic clock minus the time the fake board spends on its own bookkeeping.

    Same functions as :class:`VirtualClock`; ``sleep`` really sleeps. ``excluded_ns`` is the
    real time taken out so far (the fake's overhead, which a Pi does not have). A preemption
    that happens during that bookkeeping is taken out with it, so figures measured on this
    clock under-count preemption somewhat.
    """

    def __init__(self) -> None:
        self.excluded_ns = 0

    def monotonic_ns(self) -> int:
        return time.monotonic_ns() - self.excluded_ns

    def monotonic(self) -> float:
        return self.monotonic_ns() / 1e9

    perf_counter_ns = monotonic_ns
    perf_counter = monotonic

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def spend_call(self, entry_ns: int, cost_ns: int) -> None:
        """The call that began at ``entry_ns`` ends ``cost_ns`` later: the bookkeeping done
        since is taken out, the cost spent busy (a real call's cost is CPU time)."""
        self.excluded_ns += max(0, self.monotonic_ns() - entry_ns)
        end = entry_ns + cost_ns
        while self.monotonic_ns() < end:
            pass
