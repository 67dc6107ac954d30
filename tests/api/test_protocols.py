"""``GET /api/v1/protocols`` gives each protocol's rules as station.core.protocols has them,
so the kiosk can ask instead of repeating them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from station.core.protocols import PROTOCOLS, RESULT_BLOCKS, SINGLE_LEG_WINDOWS, WINDOWS, Protocol
from tests.api.conftest import Tokens


def _listed(client: TestClient, tokens: Tokens) -> dict[str, Any]:
    r = client.get("/api/v1/protocols", headers=tokens.coach_h)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_every_protocol_is_listed_with_its_rules(client: TestClient, tokens: Tokens) -> None:
    body = _listed(client, tokens)
    assert [p["name"] for p in body["protocols"]] == list(PROTOCOLS)
    for p in body["protocols"]:
        proto = PROTOCOLS[p["name"]]
        assert p["single_leg"] == proto.single_leg
        assert p["needs_leg"] == proto.needs_leg
        assert p["end_condition"] == proto.end_condition
        assert p["window"] == proto.window
        assert p["result_blocks"] == list(proto.result_blocks)
        assert p["symmetry_metric"] == proto.symmetry_metric
        assert p["label_key"] == f"protocol.{proto.name}"
    assert body["windows"] == WINDOWS


def test_single_leg_protocols_say_so_in_every_rule(client: TestClient, tokens: Tokens) -> None:
    listed = {p["name"]: p for p in _listed(client, tokens)["protocols"]}
    single = {n for n, p in listed.items() if p["single_leg"]}
    assert single == {"single_leg_stance", "single_leg_squat", "hop_and_stick"}
    for name, p in listed.items():
        assert (p["window"] in SINGLE_LEG_WINDOWS) == (name in single) == ("single_leg" in p["result_blocks"])
        assert set(p["result_blocks"]) <= set(RESULT_BLOCKS)
        assert p["window"] is None or p["window"] in WINDOWS
    assert listed["bilateral_stance"]["window"] == "settled"
    assert listed["weight_shift"]["result_blocks"] == ["ml_shift_mm"] and listed["weight_shift"]["window"] is None
    assert "time_to_stabilization_s" in listed["hop_and_stick"]["result_blocks"]


def test_a_protocol_added_to_the_list_is_listed(client: TestClient, tokens: Tokens,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tandem = Protocol("tandem_stance", needs_leg=False, default_duration_s=12.0, window="settled",
                      result_blocks=("sway",), sim_scenario="bilateral_stance",
                      instructions={"en": "Stand heel to toe.", "nl": "Sta hiel tegen teen."})
    monkeypatch.setitem(PROTOCOLS, "tandem_stance", tandem)
    listed = {p["name"]: p for p in _listed(client, tokens)["protocols"]}
    assert listed["tandem_stance"] == {
        "name": "tandem_stance", "needs_leg": False, "default_duration_s": 12.0, "end_condition": "duration",
        "single_leg": False, "window": "settled", "result_blocks": ["sway"], "symmetry_metric": None,
        "label_key": "protocol.tandem_stance",
        "instructions": {"en": "Stand heel to toe.", "nl": "Sta hiel tegen teen."},
    }
