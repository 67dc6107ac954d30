"""Schemathesis against the app's own OpenAPI schema: generated requests (valid and
invalid) to every operation, with an admin token so they reach the handlers. No
response may be a 5xx or carry a traceback. Bounded: a few examples per operation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis.errors import Unsatisfiable

from api.app import create_app
from station.runtime import Station
from tests.api.conftest import make_settings

#: Examples per operation and mode; about 25 operations x 2 modes keeps this under ~30 s.
MAX_EXAMPLES = 10


def test_no_server_errors_on_any_operation(tmp_path: Path) -> None:
    # With the simulated camera, so the camera routes run their real code too.
    settings = make_settings(tmp_path / "data", camera="sim")
    station = Station(settings)
    station.start()
    try:
        _fuzz(settings, station)
    finally:
        station.stop()


def _fuzz(settings: Any, station: Any) -> None:
    app = create_app(settings, station=station)
    # Some data to find, so generated ids sometimes hit real rows.
    aid = station.store.create_athlete(name="Fuzz Target")["id"]
    station.store.create_trial(athlete_id=aid, protocol="bilateral_stance", sample_rate_hz=80.0)
    secret, _ = station.store.create_token(name="fuzzer", role="admin")
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    calls: list[tuple[str, int]] = []

    for operation in operations:
        for mode in ("positive", "negative"):
            try:
                strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
            except Exception:  # an operation without anything to make invalid
                continue

            @given(case=strategy)
            @hyp_settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: Any) -> None:
                response = case.call(headers=headers)
                calls.append((f"{case.method} {case.path}", response.status_code))
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
                )
                assert "Traceback" not in response.text

            try:
                check()
            except Unsatisfiable:
                # Negative mode on an operation without parameters: nothing can be made invalid.
                assert mode == "negative", operation.label
    # The fuzzer must actually have reached the handlers, not only the auth layer.
    assert len(calls) >= 100
    assert sum(1 for _, code in calls if code == 200) >= 10
    assert sum(1 for _, code in calls if code == 422) >= 10
