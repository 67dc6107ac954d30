"""Sensor faults injected mid-trial, through the whole station: simulator (or fake GPIO
under the real HX711 driver) -> acquisition -> recorder -> analysis -> SQLite -> API.

Expected for each fault: the trial ends cleanly (saved), the affected channel is named in
the trial's warnings and quality flags and in /healthz while the fault lasts, no other
channel is blamed, metrics that would be wrong are withheld or flagged, and the service
keeps answering."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hardware.fakes import FakeBoard, default_chips, install_fake_gpio, uninstall_fake_gpio
from hardware.hx711_backend import HX711Array
from station.core.config import HX711Pins
from station.core.geometry import CHANNELS
from station.runtime import Station
from station.testing.faults import DURATION_S, FAULT_AT_S, FAULT_S, record_with_fault
from station.testing.servers import make_settings
from station.testing.service import wait_until

RATE_HZ = 80.0


def _named(text: str) -> set[str]:
    return {c for c in CHANNELS if re.search(rf"\b{c}\b", text)}


def unhealthy_channels(client: TestClient) -> tuple[int, dict[str, Any], set[str]]:
    r = client.get("/healthz")
    body = r.json()
    bad = {c["name"] for c in body["hardware"]["channels"] if c["state"] != "ok"}
    return r.status_code, body, bad


def dead_channels(client: TestClient, body: dict[str, Any] | None = None) -> set[str]:
    """Channels /healthz calls dead (the fake GPIO's timing glitches may make others 'noisy')."""
    body = body if body is not None else client.get("/healthz").json()
    return {c["name"] for c in body["hardware"]["channels"] if c["state"] == "dead"}


# -- simulated backend ---------------------------------------------------------------------


def test_dead_channel_is_named_and_its_cop_metrics_are_withheld(station: Station, kiosk: TestClient) -> None:
    seen: dict[str, Any] = {}

    def during() -> None:
        seen["health"] = unhealthy_channels(kiosk)

    trial = record_with_fault(kiosk, lambda: station.source.inject_fault("left_fr", "dead"), during=during)  # type: ignore[union-attr]
    code, body, bad = seen["health"]
    assert code == 503 and bad == {"left_fr"}
    left_fr = next(c for c in body["hardware"]["channels"] if c["name"] == "left_fr")
    assert left_fr["state"] == "dead" and "left_fr" in left_fr["last_error"]

    m = trial["metrics"]
    q = m["quality"]
    # 1.0 s of 5 s was good: 80 % of the frames flagged
    assert q["dead_channels"] == ["left_fr"]
    assert q["invalid_fraction"]["left_fr"] == pytest.approx(1 - FAULT_AT_S / DURATION_S, abs=0.06)
    assert set(q["invalid_fraction"]) == {"left_fr"}
    # CoP summaries computed from a held corner would be wrong: withheld, not reported
    assert m["sway"] is None and m["weight_left_pct"] is None and "sway" in q["withheld"]
    warnings = " ".join(m["warnings"])
    assert _named(warnings) == {"left_fr"} and "withheld" in warnings
    # every frame kept (a dead channel does not stop the others)
    assert trial["n_samples"] == pytest.approx(DURATION_S * RATE_HZ, abs=3)
    # the service is still up and the fault ends with clear_faults()
    station.source.clear_faults()  # type: ignore[union-attr]
    wait_until(lambda: unhealthy_channels(kiosk)[0] == 200, 5, "healthz to recover")


#: Transient faults injected together, on channels of both plates: each must be named
#: with its own share of flagged frames, and no other channel blamed.
TRANSIENT = {
    "right_bl": ("saturated", FAULT_S / DURATION_S),  # every read out of range during the fault
    "left_bl": ("spikes", 0.2 * FAULT_S / DURATION_S),  # a burst: 20 % of reads are spikes
}


def test_transient_channel_faults_are_named_and_flag_the_metrics(station: Station, kiosk: TestClient) -> None:
    seen: dict[str, Any] = {}

    def inject() -> None:
        for channel, (kind, _) in TRANSIENT.items():
            station.source.inject_fault(channel, kind, FAULT_S)  # type: ignore[union-attr]

    trial = record_with_fault(kiosk, inject, during=lambda: seen.update(health=station.source.health()))  # type: ignore[union-attr]
    health = {h.name: h for h in seen["health"]}
    assert health["right_bl"].saturated > 0 and "right_bl" in (health["right_bl"].last_error or "")
    assert health["left_bl"].spikes_rejected > 0
    m = trial["metrics"]
    q = m["quality"]
    assert set(q["invalid_fraction"]) == set(TRANSIENT)
    for channel, (_, fraction) in TRANSIENT.items():
        assert q["invalid_fraction"][channel] == pytest.approx(fraction, rel=0.35), channel
    assert q["dead_channels"] == [] and q["withheld"] == []
    # the numbers are kept (the held value spans short gaps) but flagged
    assert m["sway"] is not None and "sway" in q["unreliable"] and "contacts" in q["unreliable"]
    assert _named(" ".join(m["warnings"])) == set(TRANSIENT)
    assert trial["n_samples"] == pytest.approx(DURATION_S * RATE_HZ, abs=3)
    # the faults are over: healthy again
    wait_until(lambda: kiosk.get("/healthz").status_code == 200, 5, "healthz to recover")


def test_whole_array_gone_for_two_seconds(station: Station, kiosk: TestClient) -> None:
    seen: dict[str, Any] = {}
    errors_before = station.acquisition.errors  # type: ignore[union-attr]
    trial = record_with_fault(
        kiosk, lambda: station.source.array_gone(FAULT_S),  # type: ignore[union-attr]
        during=lambda: seen.update(health=kiosk.get("/healthz")),
    )
    during = seen["health"]
    assert during.status_code == 503 and "not responding" in during.json()["hardware"]["last_error"]
    assert station.acquisition.errors > errors_before  # type: ignore[union-attr]
    m = trial["metrics"]
    q = m["quality"]
    # one gap of about the outage (plus up to one retry interval of the reader)
    assert len(q["gaps_s"]) == 1
    start_s, length_s = q["gaps_s"][0]
    assert start_s == pytest.approx(FAULT_AT_S, abs=0.3)
    assert FAULT_S - 0.1 <= length_s <= FAULT_S + 1.2
    assert "sway" in q["unreliable"]
    assert any("no data from the load cells" in w for w in m["warnings"])
    assert _named(" ".join(m["warnings"])) == set()  # no channel blamed for a missing array
    # the frames that did arrive are all stored
    assert trial["n_samples"] == pytest.approx((DURATION_S - length_s) * RATE_HZ, abs=4)
    wait_until(lambda: kiosk.get("/healthz").status_code == 200, 5, "healthz to recover")


# -- HX711 driver on fake GPIO -----------------------------------------------------------------

#: About 70 kg over eight cells at the nominal 2000 counts/N of the default calibration.
STANDING_COUNTS = 172_000
PINS = HX711Pins()


@pytest.fixture
def hx711_station(tmp_path: Path) -> Iterator[tuple[FakeBoard, Station, TestClient]]:
    board = install_fake_gpio(default_chips(PINS.dout, values=[STANDING_COUNTS] * 8, noise_counts=300.0, seed=5))
    source = HX711Array(pins=PINS, rate_hz=80, dead_after_s=0.3, array_timeout_s=0.6)
    st = Station(make_settings(tmp_path / "data"), source=source, camera=False)
    try:
        st.start()
        app = create_app(st.settings, station=st)
        with TestClient(app, client=("127.0.0.1", 50001), raise_server_exceptions=False) as c:
            yield board, st, c
    finally:
        st.stop()
        uninstall_fake_gpio()


def test_hx711_channel_unplugged_then_array_unpowered(hx711_station: tuple[FakeBoard, Station, TestClient]) -> None:
    board, station, client = hx711_station
    right_bl = board.chip_on(PINS.dout[CHANNELS.index("right_bl")])
    seen: dict[str, Any] = {}

    def unplug() -> None:
        right_bl.disconnected = True

    trial = record_with_fault(client, unplug, duration_s=4.0, during=lambda: seen.update(h=unhealthy_channels(client)))
    code, body, _ = seen["h"]
    assert code == 503 and dead_channels(client, body) == {"right_bl"}
    assert "GPIO 20" in next(c for c in body["hardware"]["channels"] if c["name"] == "right_bl")["last_error"]
    q = trial["metrics"]["quality"]
    assert q["dead_channels"] == ["right_bl"] and trial["metrics"]["sway"] is None, q
    assert _named(" ".join(trial["metrics"]["warnings"])) == {"right_bl"}
    right_bl.disconnected = False
    wait_until(lambda: "right_bl" not in dead_channels(client), 5, "right_bl to come back")

    # the whole array loses power for 2 s mid-trial
    def power_cut() -> None:
        board.set_power(False)
        seen["cut"] = time.monotonic()

    def restore() -> None:
        time.sleep(max(0.0, FAULT_S - (time.monotonic() - seen["cut"])))
        board.set_power(True)

    trial = record_with_fault(client, power_cut, duration_s=5.0, during=restore)
    q = trial["metrics"]["quality"]
    assert len(q["gaps_s"]) >= 1
    assert FAULT_S - 0.2 <= sum(g[1] for g in q["gaps_s"]) <= FAULT_S + 1.5
    assert any("no data from the load cells" in w for w in trial["metrics"]["warnings"])
    wait_until(lambda: client.get("/healthz").status_code == 200, 5, "healthz after power is back")
