"""/healthz: hardware, database and disk, 200 when fit to record and 503 otherwise; a
station whose load cells cannot start still answers, says why, and recovers by itself."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.routes import health
from hardware.sim import SimLoadCellSource
from station.acquisition import Acquisition
from station.core.errors import HardwareError
from station.runtime import Station
from station.testing.service import wait_until


def wait_for_frames(station: Any, n: int = 10, timeout_s: float = 5.0) -> None:
    end = time.monotonic() + timeout_s
    while station.acquisition.frames_read < n and time.monotonic() < end:
        time.sleep(0.02)


def test_healthy_station_answers_200_without_a_token(client: TestClient, station: Any) -> None:
    wait_for_frames(station)
    r = client.get("/healthz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["database"]["ok"] is True
    assert body["hardware"]["running"] is True and body["hardware"]["backend"] == "sim"
    assert [c["name"] for c in body["hardware"]["channels"]][:2] == ["left_fl", "left_fr"]
    assert body["disk"]["free_bytes"] > 0


def test_stopped_acquisition_gives_503(client: TestClient, station: Any) -> None:
    wait_for_frames(station)
    station.acquisition.stop()
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["hardware"]["healthy"] is False and r.json()["status"] == "degraded"


def test_closed_database_and_full_disk_give_503(client: TestClient, station: Any, monkeypatch: Any) -> None:
    wait_for_frames(station)
    monkeypatch.setattr(health, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["disk"]["ok"] is False
    monkeypatch.undo()
    station.store.close()
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["database"]["ok"] is False


class AmplifiersOff(SimLoadCellSource):
    """The simulated plates behind a supply switch: start() fails as the HX711 driver's does
    when no chip becomes ready, until ``powered`` is set."""

    def __init__(self) -> None:
        super().__init__(seed=2, rate_hz=80.0, paced=True)
        self.powered = threading.Event()
        self.attempts = 0

    def start(self) -> None:
        self.attempts += 1
        if not self.powered.is_set():
            raise HardwareError("no HX711 became ready for 1.5 s (DOUT on GPIO 5, 6 all stayed high)",
                                hint="Check the amplifiers' power (VCC, GND) and the shared clock wire SCK on GPIO 17.")
        super().start()


def test_a_source_that_cannot_start_gives_503_then_recovers_by_itself(settings: Any) -> None:
    from api.app import create_app

    source = AmplifiersOff()
    st = Station(settings, source=source, camera=False)
    st.start()  # does not raise: the station serves and says what is wrong
    try:
        acq = st.acquisition
        assert acq is not None
        acq._retry_s, acq._max_retry_s = 0.05, 0.2  # the back-off, shortened for the test
        with TestClient(create_app(settings, station=st), raise_server_exceptions=False) as client:
            r = client.get("/healthz")
            assert r.status_code == 503
            body = r.json()
            assert body["hardware"]["open"] is False and body["hardware"]["frames_read"] == 0
            [problem] = body["problems"]
            assert problem["code"] == "load_cells_down" and problem["severity"] == "error"
            assert "no HX711 became ready" in problem["message"] and "SCK on GPIO 17" in problem["hint"]
            time.sleep(1.2)  # the first wait (0.5 s) began before the shortening
            tried = source.attempts
            assert 3 <= tried <= 25, tried  # it keeps trying, at a bounded pace
            assert acq.reader_alive()  # what the watchdog feeds on: no restart loop
            with pytest.raises(HardwareError, match="load cells deliver no data"):
                acq.require_frames()
            source.powered.set()
            wait_until(lambda: client.get("/healthz").status_code == 200, 10, "healthz 200 after power-up")
            body = client.get("/healthz").json()
            assert body["problems"] == [] and body["hardware"]["last_error"] is None
            acq.require_frames()  # no longer refuses
    finally:
        st.stop()


def test_back_off_doubles_up_to_its_bound() -> None:
    source = AmplifiersOff()
    acq = Acquisition(source, retry_s=0.01, max_retry_s=0.08)
    waits: list[float] = []
    acq._stop.wait = lambda timeout=None: waits.append(timeout) or False  # type: ignore[method-assign]
    for _ in range(6):
        acq._try_open()
        acq._back_off()
    assert waits == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.08, 0.08])
