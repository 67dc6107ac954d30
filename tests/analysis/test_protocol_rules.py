"""A protocol is its entry in ``station.core.protocols.PROTOCOLS`` plus its analysis
function in ``station.analysis.protocols.ANALYSES``: the analysis, the simulator and the
option checks ask the entry, and the blocks it declares are exactly the ones it fills."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hardware.sim import simulate_trial
from station.analysis import analyze_corner_loads
from station.analysis.protocols import ANALYSES, TrialView, common_only
from station.core.protocols import (
    PROTOCOLS,
    RESULT_BLOCKS,
    SINGLE_LEG_WINDOWS,
    WINDOWS,
    Protocol,
    check_options,
)
from tests.golden.cases import GOLDEN


def _analyze_sim(protocol: str, seed: int, leg: str | None, **options: Any) -> dict[str, Any]:
    trial = simulate_trial(protocol, seed=seed, leg=leg, **options)
    return analyze_corner_loads(trial.t_s, trial.loads_n, geometry=trial.geometry, protocol=protocol,
                                leg=leg, invalid=trial.invalid)


def _filled(result: dict[str, Any]) -> set[str]:
    return {b for b in RESULT_BLOCKS if result[b] is not None}


def test_every_protocol_has_an_analysis_function_and_every_function_a_protocol() -> None:
    assert set(ANALYSES) == set(PROTOCOLS)


def test_the_rules_of_every_protocol_agree() -> None:
    for p in PROTOCOLS.values():
        assert p.window is None or p.window in WINDOWS
        assert set(p.result_blocks) <= set(RESULT_BLOCKS)
        assert p.single_leg == (p.window in SINGLE_LEG_WINDOWS) == ("single_leg" in p.result_blocks)
        if p.symmetry_metric is not None:
            assert p.symmetry_metric.split(".")[0] in p.result_blocks


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_a_simulated_trial_fills_exactly_the_blocks_its_protocol_declares(name: str) -> None:
    proto = PROTOCOLS[name]
    result = _analyze_sim(name, 21, "right" if proto.needs_leg else None)
    assert result["protocol"] == name
    assert _filled(result) == set(proto.result_blocks)
    assert (result["analysis_window_s"] is not None) == (proto.window is not None)
    assert (result["sway_frequency"] is not None) <= (result["sway"] is not None)
    if proto.single_leg:
        assert result["single_leg"]["leg"] == result["leg"] == "right"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_every_golden_result_fills_exactly_the_declared_blocks(path: Any) -> None:
    """Declared blocks are non-null unless the quality check withheld them (a dead cell)."""
    result = json.loads(path.read_text())
    proto = PROTOCOLS[result["protocol"]]
    withheld = set((result.get("quality") or {}).get("withheld") or [])
    assert _filled(result) == set(proto.result_blocks) - withheld
    assert (result["sway_frequency"] is not None) <= (result["sway"] is not None)


def test_the_golden_results_cover_every_protocol() -> None:
    seen = {json.loads(p.read_text())["protocol"] for p in GOLDEN.glob("*.json")}
    assert seen == set(PROTOCOLS)


@pytest.mark.parametrize(
    ("rules", "complaint"),
    [
        ({"window": "whenever"}, "unknown window"),
        ({"result_blocks": ("sway", "jump_height")}, "unknown result block"),
        ({"single_leg": True, "window": "settled", "result_blocks": ("single_leg",)}, "single-leg window"),
        ({"window": "lift_off_to_touchdown", "result_blocks": ("single_leg",)}, "single-leg window"),
        ({"single_leg": True, "window": "lift_off_to_touchdown"}, "single_leg block"),
        ({"needs_leg": False, "single_leg": True, "window": "lift_off_to_touchdown", "result_blocks": ("single_leg",)},
         "needs a leg"),
        ({"result_blocks": ("sway",)}, "sway needs an analysis window"),
        ({"window": "settled", "result_blocks": ("sway",), "symmetry_metric": "squat.stability_score"},
         "symmetry metric"),
    ],
)
def test_a_protocol_with_contradicting_rules_is_refused_when_it_is_defined(rules: dict[str, Any], complaint: str) -> None:
    values: dict[str, Any] = {"needs_leg": True, "default_duration_s": 10.0, **rules}
    with pytest.raises(ValueError, match=complaint):
        Protocol("new_protocol", **values)


def test_a_new_protocol_is_one_entry_and_one_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tandem stance, played by the bilateral-stance scenario: nothing but the entry and its
    function are added, and recording options, the simulator and the analysis know it."""
    tandem = Protocol("tandem_stance", needs_leg=False, default_duration_s=12.0, window="settled",
                      result_blocks=("sway",), sim_scenario="bilateral_stance")
    monkeypatch.setitem(PROTOCOLS, "tandem_stance", tandem)
    monkeypatch.setitem(ANALYSES, "tandem_stance", common_only)

    assert check_options("tandem_stance", None, {})["duration_s"] == 12.0
    trial = simulate_trial("tandem_stance", seed=4, leg=None)
    assert trial.protocol == "tandem_stance" and trial.leg is None
    assert trial.truth.protocol == "bilateral_stance"  # the scenario that played it
    assert 11.8 < trial.t_s[-1] <= 12.0  # the protocol's default duration (last frame at 80 Hz)
    result = analyze_corner_loads(trial.t_s, trial.loads_n, geometry=trial.geometry, protocol="tandem_stance")
    assert result["protocol"] == "tandem_stance" and _filled(result) == {"sway"}
    as_bilateral = analyze_corner_loads(trial.t_s, trial.loads_n, geometry=trial.geometry,
                                        protocol="bilateral_stance")
    assert {**result, "protocol": "bilateral_stance"} == as_bilateral


def test_a_protocol_function_that_fills_an_undeclared_block_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def squats_in_a_stepping_trial(view: TrialView) -> dict[str, Any]:
        return {"squat": {"reps": [], "touchdowns": 0, "stability_score": None}}

    monkeypatch.setitem(ANALYSES, "stepping", squats_in_a_stepping_trial)
    with pytest.raises(RuntimeError, match="stepping fills result block.*squat"):
        _analyze_sim("stepping", 9, None, duration_s=5.0)


def test_a_protocol_without_a_function_fails_naming_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(ANALYSES, "stepping")
    with pytest.raises(RuntimeError, match="stepping has no analysis function.*ANALYSES"):
        _analyze_sim("stepping", 9, None, duration_s=5.0)


def test_a_single_leg_protocol_without_a_leg_infers_it_and_fills_its_blocks() -> None:
    """The stance leg is inferred for every single-leg protocol (here a right-leg trial)."""
    for name in (n for n, p in PROTOCOLS.items() if p.single_leg):
        trial = simulate_trial(name, seed=31, leg="right")
        result = analyze_corner_loads(trial.t_s, trial.loads_n, geometry=trial.geometry, protocol=name)
        assert result["leg"] == "right", name
        assert _filled(result) == set(PROTOCOLS[name].result_blocks), name
        assert any("no stance leg given" in w for w in result["warnings"]), name
