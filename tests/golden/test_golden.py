"""The renovation of issue 14 changes no behaviour: every golden case's analysis JSON equals the
one stored from before it (floats to 1e-9 relative, so another BLAS build does not fail it)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.golden.cases import CASES, GOLDEN


def _diff(expected: Any, actual: Any, path: str = "$") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}.{k}: missing" for k in expected.keys() - actual.keys()]
        out += [f"{path}.{k}: unexpected" for k in actual.keys() - expected.keys()]
        for k in expected.keys() & actual.keys():
            out += _diff(expected[k], actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: length {len(actual)} != {len(expected)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in _diff(e, a, f"{path}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, int | float) and not isinstance(actual, bool):
        if math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12):
            return []
    elif expected == actual and type(expected) is type(actual):
        return []
    return [f"{path}: {actual!r} != {expected!r}"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_analysis_output_unchanged(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    actual = json.loads(json.dumps(CASES[name]()))
    assert _diff(expected, actual) == []


def test_the_diff_sees_a_change() -> None:
    assert _diff({"a": [1.0, {"b": None}]}, {"a": [1.0 + 1e-6, {"b": None}]}) == ["$.a[0]: 1.000001 != 1.0"]
    assert _diff({"a": 1}, {"a": 1.0}) != []
    assert _diff({"a": 1}, {"b": 1}) == ["$.a: missing", "$.b: unexpected"]
