"""First boot without amplifiers: a real ``station serve --hardware pi`` process, our HX711
driver on the fake ``RPi.GPIO`` (``hardware/fakes/gpio_site`` first on its path), every
chip unpowered. The service must serve the kiosk and the API, /healthz must answer 503
naming the channels and what to check, recording must refuse with that reason, the kiosk
(Chromium) must show it on a banner, and powering the amplifiers must make the station
healthy without a restart. Never a fallback to the simulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware.fakes.rpi_gpio import POWER_FILE_ENV
from station.core.geometry import CHANNELS
from station.testing.service import ROOT, StationService, wait_until

GPIO_SITE = ROOT / "hardware" / "fakes" / "gpio_site"


@pytest.fixture(scope="module")
def unpowered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StationService, Path]]:
    base = tmp_path_factory.mktemp("first-boot")
    power = base / "amplifier-power"
    power.write_text("off")
    svc = StationService(base / "data", hardware="pi",
                         env={"PYTHONPATH": str(GPIO_SITE), POWER_FILE_ENV: str(power)})
    svc.start()
    try:
        yield svc, power
    finally:
        svc.stop()


def _healthz(svc: StationService) -> tuple[int, dict[str, Any]]:
    r = svc.http.get("/healthz")
    return r.status_code, r.json()


def test_1_serves_and_names_every_channel_with_what_to_check(unpowered: tuple[StationService, Path]) -> None:
    svc, _ = unpowered
    assert svc.alive(), svc.log_text()[-2000:]
    code, body = _healthz(svc)
    assert code == 503, body
    assert body["hardware"]["backend"] == "pi"  # not the simulator
    problem = next(p for p in body["problems"] if p["code"] == "load_cells_down")
    assert problem["severity"] == "error"
    assert problem["channels"] == list(CHANNELS)
    assert "no HX711 became ready" in problem["message"] and "GPIO 5" in problem["message"]
    assert "power" in problem["hint"] and "SCK on GPIO 17" in problem["hint"]
    dead = [c for c in body["hardware"]["channels"] if c["state"] == "dead"]
    assert [c["name"] for c in dead] == list(CHANNELS)
    assert "HX711 on GPIO 20" in next(c for c in dead if c["name"] == "right_bl")["last_error"]
    assert body["hardware"]["frames_read"] == 0
    # the kiosk page and the API answer meanwhile
    assert svc.http.get("/").status_code == 200
    assert svc.http.get("/api/v1/protocols").status_code == 200


def test_2_recording_and_calibration_refuse_with_the_reason(unpowered: tuple[StationService, Path]) -> None:
    svc, _ = unpowered
    athlete = svc.http.post("/api/v1/athletes", json={"name": "First Boot", "body_mass_kg": 70}).json()
    r = svc.http.post("/api/v1/recording/start", json={
        "athlete_id": athlete["id"], "protocol": "bilateral_stance",
        "options": {"tare": False, "wait_still": False, "duration_s": 2, "video": False}})
    assert r.status_code == 503, r.text
    assert "load cells deliver no data" in r.text and "no HX711 became ready" in r.text
    r = svc.http.post("/api/v1/calibration/workflow/start", json={"mass_kg": 20})
    assert r.status_code == 503, r.text
    assert "load cells deliver no data" in r.text
    r = svc.http.post("/api/v1/calibration/rezero")
    assert r.status_code == 503, r.text
    assert "load cells deliver no data" in r.text


def test_3_kiosk_shows_the_problem_on_a_banner(unpowered: tuple[StationService, Path]) -> None:
    from playwright.sync_api import sync_playwright

    from station.testing.browser import launch_chromium

    svc, _ = unpowered
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            for lang, words in (("en", "None of the load cells answers"), ("nl", "Geen enkele krachtopnemer antwoordt")):
                context = browser.new_context(viewport={"width": 800, "height": 480})
                context.add_init_script(f"localStorage.setItem('stance.lang', '{lang}')")
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(svc.base_url + "/")
                page.wait_for_selector("body[data-ready='1']", timeout=20_000)
                for view in ("#athletes", "#history"):  # on every view
                    page.goto(svc.base_url + "/" + view)
                    banner = page.wait_for_selector("[data-banner='health:load_cells_down']", timeout=15_000)
                    text = banner.inner_text()
                    assert words in text, text
                    assert "SCK" in text and "GPIO 17" in text  # what to check, down to the pin
                assert not errors, errors
                context.close()
        finally:
            browser.close()


def test_4_amplifiers_powered_healthy_without_restart(unpowered: tuple[StationService, Path]) -> None:
    svc, power = unpowered
    pid = svc.proc.pid if svc.proc else None
    power.write_text("on")
    wait_until(lambda: _healthz(svc)[0] == 200, 30, "/healthz to answer 200 after power-up", interval_s=0.25)
    code, body = _healthz(svc)
    assert body["problems"] == [] and body["hardware"]["frames_read"] > 0
    assert all(c["state"] == "ok" for c in body["hardware"]["channels"])
    assert svc.proc is not None and svc.proc.pid == pid and svc.alive()
    assert "load cells are back" in svc.log_text()
    assert os.path.exists(power)
