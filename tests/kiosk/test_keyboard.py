"""The on-screen keyboard (api/static/js/keyboard.js) on a 800x480 touchscreen: every
character is typed by tapping its key (never keyboard.type or fill), and what arrives
is read back from the station (the API, localStorage, the calibration workflow)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.kiosk.conftest import Kiosk, shot

LAYER_KEYS = ("abc", "symbols", "accents")


@contextmanager
def touch_page(browser: Any, kiosk: Kiosk, lang: str, query: str = "") -> Iterator[Any]:
    """A 800x480 touchscreen (touch only) with the page in ``lang``."""
    context = browser.new_context(viewport={"width": 800, "height": 480}, has_touch=True)
    context.add_init_script(f"localStorage.setItem('stance.lang', '{lang}');")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(kiosk.url + "/" + query)
        page.wait_for_selector("body[data-ready='1']")
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def key_selector(key: str) -> str:
    return f"#osk [data-key={json.dumps(key, ensure_ascii=False)}]"


def tap_text(page: Any, text: str) -> None:
    """Type ``text`` by tapping keys: capitals with one tap on shift first, other layers
    (123, àé) through their layer keys, "ij"/"IJ" with the ij key when there is one."""
    i = 0
    while i < len(text):
        two = text[i : i + 2]
        chunk = two if two.lower() == "ij" and page.locator(key_selector("ij")).count() else text[i]
        base = chunk.lower()
        if chunk == " ":
            page.tap("#osk [data-act=space]")
            i += 1
            continue
        if not page.locator(key_selector(base)).count():
            for layer in LAYER_KEYS:
                if page.locator(f"#osk [data-layer={layer}]").count():
                    page.tap(f"#osk [data-layer={layer}]")
                    if page.locator(key_selector(base)).count():
                        break
        assert page.locator(key_selector(base)).count() == 1, f"no key for {chunk!r}"
        if chunk != base and page.get_attribute("#osk", "data-shift") == "0":
            page.tap("#osk [data-act=shift]")
        page.tap(key_selector(base))
        i += len(chunk)


def assert_field_uncovered(page: Any, selector: str) -> None:
    """The focused field is whole on screen, above the keyboard (bounding boxes)."""
    assert page.evaluate(f"document.activeElement === document.querySelector({json.dumps(selector)})")
    field = page.locator(selector).bounding_box()
    board = page.locator("#osk").bounding_box()
    main = page.locator("main#view").bounding_box()
    assert board is not None and field is not None and main is not None
    assert board["y"] + board["height"] <= 480 + 0.5 and board["width"] <= 800 + 0.5, board
    assert field["y"] + field["height"] <= board["y"] + 0.5, (field, board)
    assert field["y"] >= main["y"] - 0.5, (field, main)


def keys_at_least(page: Any, px: float) -> list[str]:
    return page.evaluate(
        """(px) => [...document.querySelectorAll('#osk button')].map(b => [b, b.getBoundingClientRect()])
             .filter(([b, r]) => r.width < px || r.height < px).map(([b, r]) => `${b.textContent} ${r.width}x${r.height}`)""",
        px,
    )


def stored_athlete(kiosk: Kiosk, name: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"q": name})
    with urllib.request.urlopen(f"{kiosk.url}/api/v1/athletes?{query}", timeout=10) as r:
        items = json.loads(r.read())["items"]
    found = [a for a in items if a["name"] == name]
    assert len(found) == 1, items
    return found[0]  # type: ignore[no-any-return]


def add_athlete_by_taps(page: Any, name: str, mass: str, notes: str) -> None:
    page.tap("#add-athlete")
    # The form focuses the name field itself: the letters come up at once.
    page.wait_for_selector("#osk:not([hidden]) [data-key=q]")
    assert_field_uncovered(page, "input[name=name]")
    assert not keys_at_least(page, 44), keys_at_least(page, 44)
    tap_text(page, name)
    page.tap("input[name=body_mass_kg]")
    page.wait_for_selector("#osk[data-layer=pad]")
    assert_field_uncovered(page, "input[name=body_mass_kg]")
    tap_text(page, mass)
    page.tap("#athlete-form textarea[name=notes]")
    page.wait_for_selector("#osk[data-layer=abc]")
    assert_field_uncovered(page, "#athlete-form textarea[name=notes]")
    tap_text(page, notes)


def test_dutch_name_and_mass_by_touch_alone(browser: Any, kiosk: Kiosk) -> None:
    name = "Loïs van 't Hoff-Ünal"
    with touch_page(browser, kiosk, "nl") as page:
        assert page.evaluate("window.__kioskKeyboard.mode") == "always"  # the station's display
        add_athlete_by_taps(page, name, "72,5", "IJzer 2e")
        shot(page, "800x480-keyboard-nl")
        # A whole number (an <input type=number>): a pad without a separator.
        page.tap("input[name=birth_year]")
        page.wait_for_selector("#osk[data-layer=pad]")
        assert_field_uncovered(page, "input[name=birth_year]")
        assert page.locator(key_selector(",")).count() == 0 and page.locator(key_selector(".")).count() == 0
        tap_text(page, "1998")
        # The Dutch pad has the comma and no point; letters are back for the notes.
        page.tap("input[name=body_mass_kg]")
        page.wait_for_selector("#osk[data-layer=pad]")
        assert page.locator(key_selector(",")).count() == 1 and page.locator(key_selector(".")).count() == 0
        shot(page, "800x480-keyboard-nl-pad")
        assert not keys_at_least(page, 44), keys_at_least(page, 44)
        page.tap("#osk [data-act=enter]")  # submits the form, as Enter does
        page.wait_for_selector("#start-test")
        assert page.is_hidden("#osk")
        athlete = stored_athlete(kiosk, name)
        assert athlete["body_mass_kg"] == pytest.approx(72.5)
        assert athlete["notes"] == "IJzer 2e" and athlete["birth_year"] == 1998


def test_english_name_and_mass_on_a_tablet(browser: Any, kiosk: Kiosk) -> None:
    name = "Zoë O'Neill-Smith"
    with touch_page(browser, kiosk, "en", "?keyboard=touch") as page:
        assert page.evaluate("window.__kioskKeyboard.mode") == "touch"
        add_athlete_by_taps(page, name, "72.5", "left knee")
        page.tap("input[name=body_mass_kg]")
        assert page.locator(key_selector(".")).count() == 1 and page.locator(key_selector(",")).count() == 0
        # Backspace and the close key: the pad goes away, the field keeps its text.
        tap_text(page, "9")
        page.tap("#osk [data-act=back]")
        page.tap("#osk [data-act=close]")
        assert page.is_hidden("#osk")
        assert page.input_value("input[name=body_mass_kg]") == "72.5"
        page.tap("#athlete-form button[type=submit]")
        page.wait_for_selector("#start-test")
        athlete = stored_athlete(kiosk, name)
        assert athlete["body_mass_kg"] == pytest.approx(72.5)
        assert athlete["notes"] == "left knee"
        # The search field finds her as she is typed (the "input" events of real typing).
        page.tap("#athlete-chip")
        page.tap("#athlete-search")
        page.wait_for_selector("#osk:not([hidden])")
        assert_field_uncovered(page, "#athlete-search")
        tap_text(page, "Zoë")
        page.wait_for_function("document.querySelectorAll('#athlete-list [data-athlete-id]').length === 1")
        assert name in page.inner_text("#athlete-list")
        # In touch mode a mouse does not bring it up (a desk computer has its keyboard).
        page.goto(kiosk.url + "/#settings")
        page.wait_for_selector("#token")
        page.click("#token")
        page.wait_for_timeout(300)
        assert page.is_hidden("#osk")
        page.tap("#token")
        page.wait_for_selector("#osk:not([hidden])")


def test_a_token_typed_on_the_keyboard_is_saved(browser: Any, kiosk: Kiosk) -> None:
    assert kiosk.station.store is not None
    secret, _ = kiosk.station.store.create_token(name="keyboard-tablet", role="admin")
    with touch_page(browser, kiosk, "en") as page:
        page.tap("[data-nav=settings]")
        page.tap("#token")
        page.wait_for_selector("#osk:not([hidden])")
        assert page.get_attribute("#token", "inputmode") == "none"  # no second (system) keyboard
        assert_field_uncovered(page, "#token")
        tap_text(page, secret)
        assert page.input_value("#token") == secret
        page.tap("#osk [data-act=enter]")  # the token form's Save
        page.wait_for_selector("#toast:not([hidden])")
        assert page.evaluate("localStorage.getItem('stance.token')") == secret
        assert page.is_hidden("#osk") and not page.is_visible("[data-banner=auth]")
        # Settings can turn it off on this device (and back to the device's default).
        page.tap("[data-keyboard=off]")
        page.tap("#token")
        page.wait_for_timeout(300)
        assert page.is_hidden("#osk")
        assert page.evaluate("localStorage.getItem('stance.keyboard')") == "off"
        page.tap("[data-keyboard=auto]")
        assert page.get_attribute("[data-keyboard=auto]", "class") == "selected"
        page.tap("#token")
        page.wait_for_selector("#osk:not([hidden])")


def test_calibration_mass_in_dutch(browser: Any, kiosk: Kiosk) -> None:
    """The wizard redraws every 0.5 s: typing slower than that must not lose the field."""
    with touch_page(browser, kiosk, "nl") as page:
        page.tap("[data-nav=admin]")
        page.wait_for_selector("#cal-mass")
        page.tap("#cal-mass")
        page.wait_for_selector("#osk[data-layer=pad]")
        assert_field_uncovered(page, "#cal-mass")
        for _ in range(3):
            page.tap("#osk [data-act=back]")
        for ch in "12,5":
            page.wait_for_timeout(300)
            tap_text(page, ch)
        assert page.input_value("#cal-mass") == "12,5"
        shot(page, "800x480-keyboard-calibration-mass")
        page.tap("#osk [data-act=enter]")
        page.wait_for_selector("#cal-tare")
        with urllib.request.urlopen(f"{kiosk.url}/api/v1/calibration/workflow", timeout=10) as r:
            workflow = json.loads(r.read())
        assert {s["mass_kg"] for s in workflow["steps"]} >= {12.5}
        page.tap("#cal-cancel")
        page.wait_for_selector("#cal-start")
