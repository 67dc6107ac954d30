"""The test protocols the station runs (names shared by simulator, analysis, recording, kiosk).

Each protocol knows its maximum duration, how it ends by itself (``end_condition``,
applied by :mod:`station.protocol_runner` during a recording), the window its analysis
looks at, the result blocks it fills, the simulated scenario that plays it and the
instructions read to the athlete, in English and Dutch. Adding a protocol: one entry in
:data:`PROTOCOLS`, its analysis function in :data:`station.analysis.protocols.ANALYSES`,
tests (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from station.core.errors import InputError

#: The analysis windows a protocol can name (``Protocol.window``): kind -> what it spans.
#: Every window leaves out the first second after its start (settling) and ends with the
#: recording at the latest. Sway, and the weight distribution, are measured over it.
WINDOWS: dict[str, str] = {
    "settled": "the whole trial after its first second",
    "lift_off_to_touchdown": "from the other foot's lift-off to its first touch-down or the stance foot leaving",
    "lift_off_to_stance_end": "from the other foot's lift-off to the stance foot leaving; touch-downs are counted, "
    "they do not end it",
    "landing_to_touchdown": "from the landing on the stance plate to the other foot's first touch-down or the "
    "stance foot leaving",
}
#: The windows measured on one plate: they need a stance leg and start at a single-leg event.
SINGLE_LEG_WINDOWS = ("lift_off_to_touchdown", "lift_off_to_stance_end", "landing_to_touchdown")

#: The protocol-specific blocks (keys) of the analysis result, in the result's order; a
#: block a protocol does not name in ``result_blocks`` is null. ``sway`` comes with the
#: extra ``sway_frequency``.
RESULT_BLOCKS = ("sway", "ml_shift_mm", "single_leg", "squat", "time_to_stabilization_s")


@dataclass(frozen=True)
class Protocol:
    """One test protocol and every rule that belongs to it.

    The recorder asks it how a recording ends, the analysis whether it is single-leg,
    which window it measures and which result blocks it fills, the simulator which
    scenario plays it, the kiosk (through ``GET /api/v1/protocols``) its label, its
    result blocks and the metric it compares left vs right.
    """

    name: str
    needs_leg: bool          # the request names a leg (single-leg protocols, the side of a weight shift)
    default_duration_s: float  # maximum duration; some end earlier (touch-down, N reps)
    #: "duration" | "touchdown" (other foot touches down) | "reps" (N squats) | "landing" (hold after landing)
    end_condition: str = "duration"
    #: analysed as a stance on one plate: a stance leg, lift-off, touch-downs, the ``single_leg`` block
    single_leg: bool = False
    #: the analysis window, a key of :data:`WINDOWS`; None: no window (no sway; the weight
    #: distribution is over the whole trial)
    window: str | None = None
    #: the result blocks (of :data:`RESULT_BLOCKS`) its analysis fills; the others are null
    result_blocks: tuple[str, ...] = ()
    #: the metric (dotted path in the analysis result) compared left vs right; None: not compared
    symmetry_metric: str | None = None
    #: the simulated athlete's scenario that plays this protocol (:mod:`hardware.sim.athlete`)
    sim_scenario: str = ""
    instructions: dict[str, str] = field(default_factory=dict)  # language code -> text

    def __post_init__(self) -> None:
        if not self.sim_scenario:
            object.__setattr__(self, "sim_scenario", self.name)
        # contradictions between the rules fail at import, not in the middle of an analysis
        rules = f"protocol {self.name}: "
        if self.window is not None and self.window not in WINDOWS:
            raise ValueError(rules + f"unknown window {self.window!r}; use one of {', '.join(WINDOWS)}")
        unknown = [b for b in self.result_blocks if b not in RESULT_BLOCKS]
        if unknown:
            raise ValueError(rules + f"unknown result block(s) {', '.join(unknown)}; use {', '.join(RESULT_BLOCKS)}")
        if self.single_leg != (self.window in SINGLE_LEG_WINDOWS):
            raise ValueError(rules + "a single-leg protocol, and only one, has a single-leg window")
        if self.single_leg != ("single_leg" in self.result_blocks):
            raise ValueError(rules + "a single-leg protocol, and only one, fills the single_leg block")
        if self.single_leg and not self.needs_leg:
            raise ValueError(rules + "a single-leg protocol needs a leg")
        if "sway" in self.result_blocks and self.window is None:
            raise ValueError(rules + "sway needs an analysis window")
        if self.symmetry_metric is not None and self.symmetry_metric.split(".")[0] not in self.result_blocks:
            raise ValueError(rules + f"symmetry metric {self.symmetry_metric} is in no result block it fills")

    @property
    def label_key(self) -> str:
        """The kiosk's translation key for the protocol's name."""
        return f"protocol.{self.name}"


#: Default number of squat repetitions.
DEFAULT_REPS = 5
#: How long a hop-and-stick recording goes on after the landing (covers the 5 s TTS window).
HOLD_AFTER_LANDING_S = 6.0

_INSTRUCTIONS: dict[str, dict[str, str]] = {
    "bilateral_stance": {
        "en": "Stand still with one foot on each plate, arms relaxed, eyes on a point ahead.",
        "nl": "Sta stil met op elk plateau een voet, armen ontspannen, kijk naar een punt recht voor je.",
    },
    "weight_shift": {
        "en": "Start with one foot on each plate, then shift your weight slowly onto the chosen leg "
        "and stand on it until the recording ends.",
        "nl": "Begin met op elk plateau een voet en breng je gewicht dan langzaam over op het gekozen been; "
        "blijf daarop staan tot de meting stopt.",
    },
    "single_leg_stance": {
        "en": "Stand on the chosen leg on its plate, hands on hips, other foot off the ground. "
        "The test ends when the other foot touches down or after 30 s.",
        "nl": "Sta op het gekozen been op zijn plateau, handen in de zij, de andere voet van de grond. "
        "De test stopt als de andere voet de grond raakt of na 30 s.",
    },
    "single_leg_squat": {
        "en": "Stand on the chosen leg, hands on hips, and squat slowly to about 60 degrees of knee "
        "bend and back up, keeping the knee over the toes, until the set number of repetitions is done.",
        "nl": "Sta op het gekozen been, handen in de zij, en zak langzaam door tot ongeveer 60 graden kniebuiging "
        "en kom weer omhoog, de knie boven de tenen, tot het ingestelde aantal herhalingen klaar is.",
    },
    "stepping": {
        "en": "Step in place, one foot on each plate, at an easy steady pace.",
        "nl": "Stap op de plaats, een voet op elk plateau, in een rustig gelijkmatig tempo.",
    },
    "hop_and_stick": {
        "en": "Stand behind the plates, hop onto the chosen leg's plate, land on that leg and hold "
        "still without moving the foot until the recording ends.",
        "nl": "Sta achter de plateaus, spring op het plateau van het gekozen been, land op dat been en "
        "blijf stil staan zonder de voet te verplaatsen tot de meting stopt.",
    },
}

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("bilateral_stance", needs_leg=False, default_duration_s=30.0,
                 window="settled", result_blocks=("sway",)),
        Protocol("weight_shift", needs_leg=True, default_duration_s=10.0,
                 result_blocks=("ml_shift_mm",), symmetry_metric="ml_shift_mm"),
        Protocol("single_leg_stance", needs_leg=True, default_duration_s=30.0, end_condition="touchdown",
                 single_leg=True, window="lift_off_to_touchdown", result_blocks=("sway", "single_leg"),
                 symmetry_metric="sway.ellipse95_area_mm2"),
        Protocol("single_leg_squat", needs_leg=True, default_duration_s=40.0, end_condition="reps",
                 single_leg=True, window="lift_off_to_stance_end", result_blocks=("sway", "single_leg", "squat"),
                 symmetry_metric="squat.stability_score"),
        Protocol("stepping", needs_leg=False, default_duration_s=20.0),
        Protocol("hop_and_stick", needs_leg=True, default_duration_s=10.0, end_condition="landing",
                 single_leg=True, window="landing_to_touchdown",
                 result_blocks=("sway", "single_leg", "time_to_stabilization_s"),
                 symmetry_metric="time_to_stabilization_s"),
    )
}
for _p in PROTOCOLS.values():
    _p.instructions.update(_INSTRUCTIONS[_p.name])
PROTOCOL_NAMES = tuple(PROTOCOLS)

#: Recording options: name -> (type, min, max). Anything else is refused.
OPTION_LIMITS: dict[str, tuple[type, float, float]] = {
    "duration_s": (float, 1.0, 300.0),    # maximum length of the recording
    "reps": (int, 1, 30),                 # single_leg_squat: repetitions before it ends
    "video": (bool, 0, 1),                # record video when a camera is present
    "tare": (bool, 0, 1),                 # zero the plates while they are empty before arming
    "wait_still": (bool, 0, 1),           # start only once the athlete stands still
    "arm_timeout_s": (float, 1.0, 600.0),  # give up arming after this long
    "end_on_touchdown": (bool, 0, 1),     # single_leg_stance: stop at the first touch-down
}


def check_protocol_leg(protocol: str, leg: str | None) -> Protocol:
    """The protocol named, after checking that ``leg`` fits it; :class:`InputError` otherwise."""
    proto = PROTOCOLS.get(protocol)
    if proto is None:
        raise InputError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if proto.needs_leg and leg not in ("left", "right"):
        raise InputError(f"protocol {protocol} needs leg 'left' or 'right', got {leg!r}")
    if not proto.needs_leg and leg is not None:
        raise InputError(f"protocol {protocol} uses both legs; leave leg empty")
    return proto


def check_options(protocol: str, leg: str | None, options: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a recording request; return the options with defaults filled in.

    Raises :class:`InputError` naming the bad field.
    """
    proto = check_protocol_leg(protocol, leg)
    opts = dict(options or {})
    out: dict[str, Any] = {}
    for key, value in opts.items():
        if value is None:
            continue
        if key not in OPTION_LIMITS:
            raise InputError(f"unknown option {key!r}; allowed: {', '.join(OPTION_LIMITS)}")
        kind, lo, hi = OPTION_LIMITS[key]
        if kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"option {key} must be true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
            raise InputError(f"option {key} must be a number, got {value!r}")
        elif not lo <= value <= hi:
            raise InputError(f"option {key} must be between {lo:g} and {hi:g}, got {value!r}")
        out[key] = kind(value)
    if "reps" in out and proto.end_condition != "reps":
        counted = ", ".join(p.name for p in PROTOCOLS.values() if p.end_condition == "reps")
        raise InputError(f"option reps applies to {counted} only, not {protocol}")
    out.setdefault("duration_s", proto.default_duration_s)
    if proto.end_condition == "reps":
        out.setdefault("reps", DEFAULT_REPS)
    return out
