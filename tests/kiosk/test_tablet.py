"""A tablet: the station requires tokens (loopback_without_token off, as for any client
that is not the station itself). Without a token the page says what to do; with a
coach token from the settings page it works, and admin-only parts stay hidden."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from station.config import Settings
from station.runtime import Station
from tests.api.servers import serve_in_thread


@pytest.fixture(scope="module")
def tablet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Station]]:
    data: Path = tmp_path_factory.mktemp("tablet") / "data"
    settings = Settings(data_dir=data, hardware="sim", camera="none", sim_seed=3, loopback_without_token=False)
    station = Station(settings, camera=False)
    station.start()
    try:
        with serve_in_thread(create_app(settings, station=station)) as url:
            yield url, station
    finally:
        station.stop()


def test_token_from_settings_lets_a_coach_in(browser: Any, tablet_server: tuple[str, Station]) -> None:
    url, station = tablet_server
    assert station.store is not None
    station.store.create_athlete(name="Bea Jumper", body_mass_kg=70.0)
    secret, _ = station.store.create_token(name="tablet-1", role="coach")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    context.add_init_script("localStorage.setItem('stance.lang', 'en')")
    page = context.new_page()
    try:
        page.goto(url + "/")
        banner = page.wait_for_selector("[data-banner=auth]", timeout=10_000)
        assert "token" in banner.inner_text().lower()
        page.click("[data-nav=settings]")
        page.fill("#token", "not-a-valid-token")
        page.tap("#save-token")
        page.wait_for_selector("[data-banner=auth]")  # still refused
        page.fill("#token", secret)
        page.tap("#save-token")
        page.wait_for_selector("[data-banner=auth]", state="detached", timeout=10_000)
        page.tap("[data-nav=athletes]")
        page.wait_for_selector("[data-athlete-id]")
        assert "Bea Jumper" in page.inner_text("#athlete-list")
        assert page.evaluate("localStorage.getItem('stance.token')") == secret
        # Edit the athlete through the form: the change reaches the database.
        page.tap("#athlete-list [data-athlete-id] >> text=Edit")
        page.fill("#athlete-form input[name=body_mass_kg]", "72.5")
        page.tap("#athlete-form button[type=submit]")
        page.wait_for_selector("#athlete-form", state="detached")
        athlete = station.store.list_athletes(q="Bea")[0][0]
        assert athlete["body_mass_kg"] == pytest.approx(72.5)
        # A coach is not an admin: the calibration tab is hidden.
        assert not page.is_visible("[data-nav=admin]")
        # The live stream accepts the token too (passed as ?token=).
        page.wait_for_function("window.__kioskLive.samples > 20", timeout=10_000)
    finally:
        context.close()
