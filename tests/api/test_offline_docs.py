"""``/docs`` and ``/redoc`` work on a station without internet: Debian's Chromium loads
them from the real app under uvicorn while every request that leaves the station's own
origin is aborted (as it would fail on a gym's offline network), and the pages still
render the API's operations; afterwards no request may have been for anywhere else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from station.core.config import Settings
from station.testing.browser import launch_chromium
from station.testing.servers import serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("docs") / "data", hardware="sim", camera="none",
                        loopback_without_token=True)
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture
def offline_page(base_url: str) -> Iterator[tuple[Any, list[str]]]:
    """A page whose requests to any origin but the station's are aborted and recorded."""
    from playwright.sync_api import sync_playwright

    origin = urlsplit(base_url).netloc
    outside: list[str] = []

    def only_the_station(route: Any) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", only_the_station)
            yield context.new_page(), outside
        finally:
            browser.close()


def test_swagger_ui_renders_the_operations_offline(base_url: str, offline_page: tuple[Any, list[str]]) -> None:
    page, outside = offline_page
    page.goto(base_url + "/docs")
    start = page.locator(".opblock-summary-path[data-path='/api/v1/recording/start']")
    start.wait_for(state="visible", timeout=20_000)
    assert page.locator(".opblock").count() >= 30  # every route of the API, not a stub
    page.wait_for_load_state("networkidle")
    Path("test-artifacts/api").mkdir(parents=True, exist_ok=True)
    page.screenshot(path="test-artifacts/api/docs-offline.png")
    assert outside == [], f"/docs asked for files outside the station: {outside}"


def test_redoc_renders_the_operations_offline(base_url: str, offline_page: tuple[Any, list[str]]) -> None:
    page, outside = offline_page
    page.goto(base_url + "/redoc")
    heading = page.locator("h2", has_text="Start a recording (409 when one is running)")
    heading.wait_for(state="visible", timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path="test-artifacts/api/redoc-offline.png")
    assert outside == [], f"/redoc asked for files outside the station: {outside}"


def test_fastapis_default_pages_would_have_left_the_station(base_url: str) -> None:
    """The check above can fail: FastAPI's own pages point at a CDN, ours do not."""
    import httpx
    from fastapi.openapi.docs import get_swagger_ui_html

    cdn = get_swagger_ui_html(openapi_url="/openapi.json", title="x").body.decode()
    assert "https://" in cdn
    for path in ("/docs", "/redoc"):
        html = httpx.get(base_url + path, timeout=10).text
        assert "https://" not in html and "http://" not in html, path
        for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/redoc.standalone.js"):
            assert httpx.get(base_url + asset, timeout=10).status_code == 200
