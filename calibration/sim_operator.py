"""A simulated operator: puts the masses the workflow asks for onto the simulated plates.

With simulated hardware (``hardware.sim.SimLoadCellSource``) the whole calibration runs
by itself in the demo, the CLI (``station calibrate --simulate``) and the tests: the
operator clears the plates for the tare, places each requested mass on its spot (with an
optional placement error) and takes it away at the end, restoring the scenario that was
playing before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from hardware.sim.source import SimLoadCellSource


class SimOperator:
    """Reacts to :meth:`CalibrationWorkflow.status` dicts by acting on a simulated source.

    The simulator is not thread-safe, so the actions are queued and carried out between
    two frames on the acquisition thread: register :meth:`run_pending` as a frame hook.
    """

    def __init__(self, source: SimLoadCellSource, *, placement_sd_mm: float = 0.0, seed: int = 0) -> None:
        self.source = _Deferred(self)
        self._real_source = source
        self.placement_sd_mm = float(placement_sd_mm)
        self._rng = np.random.default_rng(seed)
        self._done_for: Any = None
        self._saved_scenario: str | None = None
        self._pending: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def run_pending(self, _sample: Any = None) -> None:
        """Carry out the queued actions (frame hook: runs on the acquisition thread)."""
        if not self._pending:
            return
        with self._lock:
            todo, self._pending = self._pending, []
        for fn in todo:
            fn()

    def act(self, status: dict[str, Any]) -> str | None:
        """Do what the current step needs (once per step); return what was done."""
        state = status.get("state")
        key: Any = (state, status.get("step_index"))
        if key == self._done_for:
            return None
        self._done_for = key
        if state == "tare":
            if self._saved_scenario is None:
                self._saved_scenario = self._real_source.scenario
            self.source.set_scenario("empty")
            self.source.clear_masses()
            return "cleared the plates"
        if state in ("capture", "verifying") and status.get("step"):
            step = status["step"]
            x, y = (float(v) for v in step["position_mm"])
            if self.placement_sd_mm > 0:
                x, y = np.array([x, y]) + self._rng.normal(0.0, self.placement_sd_mm, 2)
            self.source.clear_masses()
            self.source.place_mass(float(step["mass_kg"]), (float(x), float(y)))
            return f"placed {step['mass_kg']:g} kg at ({x:.0f}, {y:.0f}) mm"
        if state in ("fitted", "verified", "failed"):
            self.source.clear_masses()
            return "took the mass away"
        if state in ("activated", "cancelled"):
            self.source.clear_masses()
            if self._saved_scenario is not None:
                self.source.set_scenario(self._saved_scenario)
                self._saved_scenario = None
            return "cleared the plates"
        return None


class _Deferred:
    """Stands in for the source: each call is queued for :meth:`SimOperator.run_pending`."""

    def __init__(self, op: SimOperator) -> None:
        self._op = op

    def __getattr__(self, name: str) -> Callable[..., None]:
        target = getattr(self._op._real_source, name)

        def call(*args: Any, **kwargs: Any) -> None:
            with self._op._lock:
                self._op._pending.append(lambda: target(*args, **kwargs))

        return call
