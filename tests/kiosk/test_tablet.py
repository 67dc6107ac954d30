"""A tablet: the station requires tokens (loopback_without_token off, as for any client
that is not the station itself). Without a token the page says what to do; with a
coach token from the settings page it works, and admin-only parts stay hidden."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from station.core.config import Settings
from station.runtime import Station
from station.testing.servers import serve_in_thread


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


@contextmanager
def tablet_page(browser: Any, *, token: str | None = None, athlete: dict[str, Any] | None = None,
                init_script: str = "") -> Iterator[Any]:
    """A tablet's page (1280x800, touch, English) with its own localStorage: the
    saved token and chosen athlete if given, plus ``init_script``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    stored = {"stance.lang": "en", "stance.token": token, "stance.athlete": json.dumps(athlete) if athlete else None}
    context.add_init_script("".join(f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});"
                                    for k, v in stored.items() if v is not None) + init_script)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_token_from_settings_lets_a_coach_in(browser: Any, tablet_server: tuple[str, Station]) -> None:
    url, station = tablet_server
    assert station.store is not None
    station.store.create_athlete(name="Bea Jumper", body_mass_kg=70.0)
    secret, _ = station.store.create_token(name="tablet-1", role="coach")
    with tablet_page(browser) as page:
        page.goto(url + "/")
        banner = page.wait_for_selector("[data-banner=auth]", timeout=10_000)
        assert "token" in banner.inner_text().lower()
        page.click("[data-nav=settings]")
        page.fill("#token", "not-a-valid-token")
        page.tap("#save-token")
        page.wait_for_selector("#toast:not([hidden])")  # the station answered
        assert page.is_visible("[data-banner=auth]")  # still refused
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


def test_a_coach_tablet_draws_the_stations_geometry(browser: Any, tablet_server: tuple[str, Station]) -> None:
    """Coaches cannot read /calibration; the page takes the plates from /geometry and
    the live stream's hello, so a station with moved plates is drawn as it is."""
    url, station = tablet_server
    assert station.store is not None and station.calibration is not None and station.acquisition is not None
    cal = station.acquisition.calibration
    moved = cal.geometry.to_dict()
    moved["plates"]["left"]["center_mm"] = [-180.0, 6.0]
    moved["plates"]["right"]["cells_mm"]["br"] = [330.0, -170.0]
    new_id = station.store.save_calibration(kind="calibration", data={**cal.to_dict(), "geometry": moved,
                                                                     "is_default": False}, created_by="test")
    station.calibration.activate_existing(new_id, actor="test")
    assert station.acquisition.calibration.geometry.to_dict()["plates"] == moved["plates"]
    secret, _ = station.store.create_token(name="tablet-geometry", role="coach")
    with tablet_page(browser, token=secret) as page:
        page.goto(url + "/")
        # (no geometry of its own until the station's arrives)
        page.wait_for_function("window.__kiosk && window.__kiosk.geometry && "
                               "window.__kiosk.geometry.plates.left.center_mm[0] === -180",
                               timeout=10_000)
        assert page.evaluate("window.__kiosk.geometry.plates") == moved["plates"]
        assert not page.is_visible("[data-nav=admin]")  # still a coach
        page.wait_for_function("window.__kiosk.stream.geometry !== null", timeout=10_000)
        assert page.evaluate("window.__kiosk.stream.geometry.plates") == moved["plates"]


def _slow_answers_for(secret: str, delay_ms: int, *, path: str = "") -> str:
    """An init script: the page gets the station's answers to requests carrying
    ``secret`` (and, if given, to ``path``) ``delay_ms`` late, as over a slow Wi-Fi
    link (the station answers at once; only this tablet hears it late). Each late
    answer, once handed to the page, counts in ``window.__lateAnswers``."""
    return f"""
      window.__lateAnswers = 0;
      const realFetch = window.fetch;
      window.fetch = async (url, init) => {{
        const res = await realFetch(url, init);
        const auth = (init && init.headers && init.headers.Authorization) || "";
        if (auth.includes({secret!r}) && String(url).includes({path!r})) {{
          await new Promise((r) => setTimeout(r, {delay_ms}));
          window.__lateAnswers++;
        }}
        return res;
      }};"""


def test_typing_a_token_while_the_last_one_is_checked_keeps_what_is_typed(
    browser: Any, tablet_server: tuple[str, Station]
) -> None:
    """Saving a token re-checks the tablet's access; what is typed meanwhile stays
    in the field (the view used to be drawn again with the saved token)."""
    url, station = tablet_server
    assert station.store is not None
    secret, _ = station.store.create_token(name="tablet-typing", role="coach")
    with tablet_page(browser, init_script=_slow_answers_for("not-a-valid-token", 800)) as page:
        page.goto(url + "/#settings")
        page.wait_for_selector("[data-banner=auth]", timeout=10_000)
        page.fill("#token", "not-a-valid-token")
        page.tap("#save-token")
        page.fill("#token", secret)  # while the station's answer is on its way
        page.wait_for_selector("#toast:not([hidden])", timeout=10_000)  # the answer came
        assert page.input_value("#token") == secret
        page.tap("#save-token")
        page.wait_for_selector("[data-banner=auth]", state="detached", timeout=10_000)
        page.wait_for_function("window.__kioskLive.samples > 20", timeout=10_000)
        assert page.evaluate("localStorage.getItem('stance.token')") == secret


def test_a_view_opened_while_the_token_is_checked_is_drawn_again(
    browser: Any, tablet_server: tuple[str, Station]
) -> None:
    """A coach saves the token and goes straight to the Test tab before the station
    has answered: that tab, drawn without the protocols, is drawn again once the
    answer comes."""
    url, station = tablet_server
    assert station.store is not None
    athlete = station.store.create_athlete(name="Cas Quick", body_mass_kg=80.0)
    secret, _ = station.store.create_token(name="tablet-hasty", role="coach")
    with tablet_page(browser, athlete=athlete, init_script=_slow_answers_for(secret, 800, path="/api/v1/protocols")) as page:
        page.goto(url + "/#settings")
        page.wait_for_selector("[data-banner=auth]", timeout=10_000)
        page.fill("#token", secret)
        page.tap("#save-token")
        page.tap("[data-nav=test]")
        page.wait_for_function("window.__lateAnswers >= 1", timeout=10_000)
        page.wait_for_selector("[data-view=test][data-ready='1'] [data-protocol=single_leg_stance]", timeout=10_000)
        protocols = httpx.get(url + "/api/v1/protocols", headers={"Authorization": f"Bearer {secret}"}).json()
        assert page.locator("#protocols [data-protocol]").count() == len(protocols["protocols"]) > 1


def test_late_answers_for_a_token_saved_before_are_ignored(browser: Any, tablet_server: tuple[str, Station]) -> None:
    """An admin token saved and at once replaced by a coach's: the admin token's
    answers, arriving last, must not show the admin tab to the coach."""
    url, station = tablet_server
    assert station.store is not None
    admin_secret, _ = station.store.create_token(name="tablet-admin-first", role="admin")
    coach_secret, _ = station.store.create_token(name="tablet-coach-then", role="coach")
    # Only the role check is slow: the other answers for the admin token come at once.
    slow_role_check = _slow_answers_for(admin_secret, 800, path="/api/v1/calibration")
    with tablet_page(browser, init_script=slow_role_check) as page:
        page.goto(url + "/#settings")
        page.wait_for_selector("[data-banner=auth]", timeout=10_000)
        page.fill("#token", admin_secret)
        page.tap("#save-token")
        page.fill("#token", coach_secret)
        page.tap("#save-token")
        page.wait_for_selector("[data-banner=auth]", state="detached", timeout=10_000)
        page.wait_for_function("window.__lateAnswers >= 1", timeout=10_000)  # the admin's answer came
        assert page.evaluate("window.__kiosk.isAdmin") is False
        assert not page.is_visible("[data-nav=admin]")
        assert page.evaluate("localStorage.getItem('stance.token')") == coach_secret


def test_a_refused_live_stream_says_so_and_does_not_hammer_the_station(
    browser: Any, tablet_server: tuple[str, Station]
) -> None:
    """With a revoked token the live stream is closed with 1008 and its reason (not
    the 1006 of a socket closed before its handshake), the page says the token is
    refused, and it does not retry with the same token."""
    url, station = tablet_server
    assert station.store is not None
    secret, _ = station.store.create_token(name="tablet-revoked", role="coach")
    station.store.revoke_token("tablet-revoked")
    sockets: list[Any] = []
    with tablet_page(browser, token=secret) as page:
        page.on("websocket", lambda ws: sockets.append(ws) if "/api/v1/live" in ws.url else None)
        page.goto(url + "/")
        page.wait_for_function("window.__kiosk && window.__kiosk.stream.closeCode === 1008", timeout=10_000)
        assert page.is_visible("[data-banner=auth]")
        # A retry would come after 0.5, 1 and 2 s. (Not time.sleep: Playwright reports
        # the page's sockets only while one of its calls runs.)
        page.wait_for_timeout(3000)
        assert len(sockets) == 1
        assert page.evaluate("window.__kioskLive.samples") == 0
