"""A simulated director: plays on the simulated plates what a recording calls for.

The recording counterpart of :class:`calibration.sim_operator.SimOperator`. The
recorder knows nothing of the simulator: it announces each step of a recording with
a plain status (``phase``, ``protocol``, ``leg``, ``duration_s``, ``reps_wanted``,
``body_mass_kg``; see :meth:`station.recording.Recorder.status`) to a *cue*, and
:meth:`SimDirector.act` is that cue when the station runs on simulated plates
(``station.runtime.Station`` wires them). The director reacts like a cooperative
athlete:

- ``zeroing``: steps off the plates (``empty``), so the zero is taken on empty plates;
- ``waiting_still``: steps onto both plates and stands still (``quiet_stance``), as
  heavy as the athlete being recorded;
- ``recording``: performs the protocol's scenario (``Protocol.sim_scenario``) with
  everything the coach asked for: stance leg, maximum duration, repetitions, body mass.

``weak_side`` ("left" / "right" / None) gives the athlete a weak side: on that leg they
sway more and their pelvis drops further (:func:`hardware.sim.athlete.weak_side_overrides`),
so demos and tests show a real asymmetry.

It lives in ``hardware.sim`` (below the services floor) and takes the status as a
plain mapping, so it needs nothing from the recorder's module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardware.base import Camera
from hardware.sim.athlete import weak_side_overrides
from hardware.sim.camera import SimCamera
from hardware.sim.source import SimLoadCellSource
from station.core.errors import InputError
from station.core.protocols import PROTOCOLS


class SimDirector:
    """Reacts to the recorder's status by acting on a :class:`SimLoadCellSource`.

    Parameters
    ----------
    source
        The simulated plates. Its controls take the source's lock, so a switch lands
        between two frames whichever thread calls.
    camera
        Optional: a simulated camera (:class:`hardware.sim.camera.SimCamera`) is made to
        film the athlete the plates feel, so video and force show the same movement.
    weak_side
        Optional: the leg ("left" or "right") on which the athlete is weaker; may be
        changed later through the attribute.
    """

    def __init__(self, source: SimLoadCellSource, *, camera: Camera | None = None, weak_side: str | None = None) -> None:
        if weak_side not in (None, "left", "right"):
            raise InputError(f"weak_side must be 'left', 'right' or None, got {weak_side!r}")
        self.source = source
        self.weak_side = weak_side
        if isinstance(camera, SimCamera):
            camera.follow(source)
        self._done_for: tuple[Any, ...] | None = None
        #: What the director did last (for logs and tests).
        self.last_action: str | None = None

    def act(self, status: Mapping[str, Any]) -> int | None:
        """Do what the recorder's current step needs (once per step).

        Returns when what it started begins on the plates (CLOCK_MONOTONIC ns; frames
        before it still show the previous scenario), or None when nothing was done.
        """
        phase = status.get("phase")
        key = (phase, status.get("protocol"), status.get("trial_id"))
        if key == self._done_for:
            return None
        self._done_for = key
        mass = status.get("body_mass_kg")
        src = self.source
        if phase == "zeroing":
            src.set_scenario("empty")
            self.last_action = "stepped off the plates"
            return src.scenario_switch_ns
        if phase == "waiting_still":
            src.set_scenario("quiet_stance", body_mass_kg=mass)
            self.last_action = "stepped onto the plates"
            return src.scenario_switch_ns
        if phase == "recording" and status.get("protocol") in PROTOCOLS:
            protocol = PROTOCOLS[str(status["protocol"])]
            options: dict[str, Any] = {}
            if status.get("duration_s") is not None:
                options["duration_s"] = float(status["duration_s"])
            if status.get("reps_wanted") is not None:
                options["reps"] = int(status["reps_wanted"])
            leg = status.get("leg")
            weak = self.weak_side is not None and protocol.single_leg and leg == self.weak_side
            if weak:
                options.update(weak_side_overrides(src.athlete))
            src.set_scenario(protocol.sim_scenario, leg=leg, body_mass_kg=mass, **options)
            shown = ", ".join(f"{k}={v:g}" for k, v in options.items() if k in ("duration_s", "reps"))
            self.last_action = f"performs {protocol.name} ({shown}{', weak side' if weak else ''})"
            start = src.scenario_start_ns
            return start if start is not None else src.scenario_switch_ns
        return None


__all__ = ["SimDirector"]
