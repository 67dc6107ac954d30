"""The simulator plays the station's protocols by their rules in station.core.protocols
(scenario, leg, default duration and reps, single-leg events), plus its own ``hopping``."""

from __future__ import annotations

import pytest

from hardware.sim import SIM_PROTOCOLS, simulate_trial
from hardware.sim.athlete import BUILDERS, OWN_SCENARIOS
from station.core.errors import InputError
from station.core.protocols import DEFAULT_REPS, PROTOCOLS


def test_every_protocol_is_played_by_a_scenario_and_hopping_is_the_simulators_own() -> None:
    assert all(p.sim_scenario in BUILDERS for p in PROTOCOLS.values())
    assert set(SIM_PROTOCOLS) == set(PROTOCOLS) | set(OWN_SCENARIOS)
    assert "hopping" in OWN_SCENARIOS and "hopping" not in PROTOCOLS


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_the_stance_leg_follows_the_protocol(name: str) -> None:
    proto = PROTOCOLS[name]
    given = simulate_trial(name, seed=2, leg="right", duration_s=12.0)
    omitted = simulate_trial(name, seed=2, leg=None, duration_s=12.0)
    assert given.leg == ("right" if proto.needs_leg else None)
    assert omitted.leg == ("left" if proto.needs_leg else None)  # a leg it needs defaults to left


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_the_truth_has_the_events_the_protocol_is_analysed_by(name: str) -> None:
    proto = PROTOCOLS[name]
    truth = simulate_trial(name, seed=3, leg="left").truth
    if proto.single_leg:  # the other foot lifted off, or the athlete landed on the stance plate
        assert truth.lift_off_s is not None or truth.landing_s is not None
    else:
        assert truth.lift_off_s is None and truth.landing_s is None
    assert (truth.landing_s is not None) == (proto.window == "landing_to_touchdown")
    assert (truth.ml_shift_mm is not None) == ("ml_shift_mm" in proto.result_blocks)


@pytest.mark.parametrize("name", [n for n, p in PROTOCOLS.items() if p.end_condition == "duration"])
def test_a_protocol_ended_by_its_duration_lasts_its_default_duration(name: str) -> None:
    trial = simulate_trial(name, seed=4, leg="left", rate_hz=100.0)
    # the last frame falls within two frame periods (jitter included) of the end
    assert PROTOCOLS[name].default_duration_s - 0.02 < trial.t_s[-1] <= PROTOCOLS[name].default_duration_s


def test_a_squat_set_has_the_default_number_of_reps() -> None:
    name = next(n for n, p in PROTOCOLS.items() if p.end_condition == "reps")
    assert len(simulate_trial(name, seed=5, leg="left").truth.reps) == DEFAULT_REPS


def test_an_unknown_protocol_is_refused_naming_what_the_simulator_plays() -> None:
    with pytest.raises(InputError, match="unknown protocol 'cartwheel'") as err:
        simulate_trial("cartwheel", seed=1)
    assert all(name in (err.value.hint or "") for name in SIM_PROTOCOLS)
