"""The real app in simulated mode, served by uvicorn on a free loopback port (real
SQLite, acquisition thread on the paced seeded simulator, recorder and calibration
service), driven by Debian's Chromium through Playwright. The browser comes from the
system (``/usr/bin/chromium``, installed by ``make debian-test-deps``): never a
downloaded build."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from station.core.config import Settings
from station.runtime import Station
from station.testing.browser import launch_chromium
from station.testing.servers import serve_in_thread

#: Screenshots for people to look at (and CI to keep).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "kiosk"


@dataclass
class Kiosk:
    url: str
    station: Station

    @property
    def sim(self) -> Any:
        """The simulated load-cell source (ground truth, fault injection)."""
        return self.station.source


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    data = tmp_path_factory.mktemp("kiosk") / "data"
    # The simulated camera records a real H.264 video of each trial (small frames: cheap).
    settings = Settings(data_dir=data, hardware="sim", camera="sim", sim_seed=11, loopback_without_token=True,
                        camera_width=320, camera_height=240, camera_fps=15)
    station = Station(settings)
    station.start()
    try:
        app = create_app(settings, station=station)
        with serve_in_thread(app) as url:
            yield Kiosk(url=url, station=station)
    finally:
        station.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, kiosk: Kiosk) -> Iterator[Any]:
    """A fresh browser context (empty localStorage) at 1280x800, English, no countdown."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script("if (!localStorage.getItem('stance.lang')) { localStorage.setItem('stance.lang', 'en'); "
                            "localStorage.setItem('stance.countdown_s', '1'); }")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(kiosk.url + "/")
    pg.wait_for_selector("body[data-ready='1']")
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def clean_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
