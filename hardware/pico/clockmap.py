"""Board microseconds to the host's CLOCK_MONOTONIC: offset and drift from the frames.

Each frame carries the board's ``ticks_us`` at its data-ready moment; the host notes
``time.monotonic_ns()`` when the frame is parsed. The difference is the transport latency
(USB polling, the firmware's loop, the reader's wake-up), which varies from frame to frame
but is never below some minimum. So the map is a line fitted to the last ``window`` pairs
(least squares, then again on the least-delayed quarter of them: the slope is the board
clock's rate against the host's, its drift) moved down to the lowest pair (the
least-delayed frame): ``host_ns = offset + slope * board_us``.
What is left is reported: ``residual_us`` = RMS of the pairs' distance above the line, i.e.
how much later than the mapped time frames arrive (the jitter of the link), and the spread.
The minimum latency itself (about 1 ms on full-speed USB) cannot be seen from one side; it
is a constant, so it shifts every load-cell time alike.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class ClockMap:
    def __init__(self, window: int = 1024, refit_every: int = 80) -> None:
        self.window = window
        self.refit_every = refit_every
        self.reset()

    def reset(self) -> None:
        """Forget every pair: a new board, or one that rebooted (its clock started again)."""
        window = self.window
        self._board: deque[float] = deque(maxlen=window)
        self._host: deque[float] = deque(maxlen=window)
        self._origin_us: float | None = None
        self._origin_ns = 0
        self.slope = 1000.0      # ns of host time per board microsecond
        self.offset_ns = 0.0     # host ns at board time origin (relative to _origin_ns)
        self.residual_us = 0.0
        self.max_residual_us = 0.0
        self._since_fit = 0

    @property
    def drift_ppm(self) -> float:
        return (self.slope / 1000.0 - 1.0) * 1e6

    def add(self, board_us: int, host_ns: int) -> None:
        if self._origin_us is None:
            self._origin_us = float(board_us)
            self._origin_ns = host_ns
            self.offset_ns = 0.0
        b = board_us - self._origin_us
        h = float(host_ns - self._origin_ns)
        self._board.append(b)
        self._host.append(h)
        self._since_fit += 1
        # the line must never map a frame later than it arrived
        if h < self.offset_ns + self.slope * b:
            self.offset_ns = h - self.slope * b
        if self._since_fit >= self.refit_every and len(self._board) >= 8:
            self._fit()

    def _fit(self) -> None:
        self._since_fit = 0
        b = np.fromiter(self._board, float)
        h = np.fromiter(self._host, float)
        slope = _slope(b, h)
        if slope is not None:
            # Latency only ever adds: the least-delayed quarter of the frames lies closest
            # to the true line, so the slope is fitted again on them.
            above = h - slope * b
            low = above <= np.quantile(above, 0.25)
            slope = _slope(b[low], h[low]) if low.sum() >= 8 else slope
        if slope is not None and 999.0 < slope < 1001.0:  # a crystal is within 1000 ppm
            self.slope = slope
        above = h - self.slope * b
        self.offset_ns = float(above.min())
        lateness_us = (above - self.offset_ns) / 1000.0
        self.residual_us = float(np.sqrt(np.mean(lateness_us ** 2)))
        self.max_residual_us = float(lateness_us.max())

    def to_host_ns(self, board_us: int) -> int:
        if self._origin_us is None:
            raise ValueError("no frame mapped yet")
        return self._origin_ns + round(self.offset_ns + self.slope * (board_us - self._origin_us))


def _slope(b: np.ndarray, h: np.ndarray) -> float | None:
    bc = b - b.mean()
    denom = float(bc @ bc)
    return float(bc @ (h - h.mean())) / denom if denom > 0 else None
