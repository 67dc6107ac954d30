"""Debian's Chromium through Playwright (kiosk tests and the kiosk benchmark). The
browser comes from the system (``/usr/bin/chromium``, installed by ``make
debian-test-deps``): never a downloaded build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium from ``sync_playwright()``; a missing browser is an error
    (a kiosk test must fail, not skip, when it cannot run)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run 'make debian-test-deps' (installs Debian's chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def health_banner(playwright: Any, url: str, code: str, *, lang: str = "nl") -> tuple[str, str]:
    """The text and class of the kiosk's health banner for problem ``code`` (e.g.
    ``camera_unavailable``), as an 800x480 station display in ``lang`` shows it."""
    browser = launch_chromium(playwright)
    try:
        context = browser.new_context(viewport={"width": 800, "height": 480})
        context.add_init_script(f"localStorage.setItem('stance.lang', '{lang}')")
        page = context.new_page()
        page.goto(url + "/#history")
        banner = page.wait_for_selector(f"[data-banner='health:{code}']", timeout=15_000)
        return banner.inner_text(), banner.get_attribute("class") or ""
    finally:
        browser.close()
