"""The FastAPI application: ``create_app(settings=None, *, station=None)``.

The lifespan builds and starts a :class:`~station.runtime.Station` unless one is
passed in (``station serve`` starts it first, so a bad configuration fails before
the web server runs; a passed-in station is started and stopped by its owner).
Routes live in ``api/routes/<resource>.py`` (one router each, under ``/api/v1``
except ``/healthz``); the kiosk's static files are served at ``/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.routing import Mount, Route, Router

from api.auth import install_log_redaction
from api.errors import install_error_handlers
from api.middleware import AuthBeforeBody, BodySizeLimit
from api.routes import (
    athletes,
    calibration,
    camera,
    exports,
    geometry,
    health,
    live,
    protocols,
    recording,
    sessions,
    trials,
)
from station import __version__
from station.core.config import Settings, load_settings

STATIC_DIR = Path(__file__).parent / "static"

#: The route modules, each with a module-level ``router``, in the order they are included.
ROUTE_MODULES = (health, protocols, athletes, trials, sessions, recording, live, exports, calibration, camera, geometry)

_PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><title>Stance Station</title></head>
<body><h1>Stance Station</h1><p>The kiosk page is not installed. The API is documented at
<a href="/docs">/docs</a>.</p></body></html>"""


def create_app(settings: Settings | None = None, *, station: Any = None) -> FastAPI:
    settings = settings or load_settings()
    owns_station = station is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_station:
            from station.runtime import Station

            st = Station(settings)
            # Start-up opens the database and the hardware: keep it off the event loop.
            await asyncio.to_thread(st.start)
            app.state.station = st
        try:
            yield
        finally:
            if owns_station and app.state.station is not None:
                await asyncio.to_thread(app.state.station.stop)
                app.state.station = None

    app = FastAPI(
        docs_url=None,  # served by install_offline_docs: no CDN
        redoc_url=None,
        title="Stance Station API",
        version=__version__,
        description="Force-plate station for hip-stability testing. Authenticate with "
        "`Authorization: Bearer <token>` (tokens: `station token create`). See docs/api.md.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.station = station

    install_error_handlers(app)
    install_log_redaction()  # WebSocket URLs carry ?token=... and uvicorn logs them
    # The last added runs first: CORS, then the token check, then the size limit, so
    # an unauthenticated body is never read at all (api/middleware.py).
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(AuthBeforeBody)
    if settings.cors_origins:  # closed by default: no CORS headers at all
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )

    for module in ROUTE_MODULES:
        app.include_router(module.router)
    install_offline_docs(app)

    if not (STATIC_DIR / "index.html").is_file():

        @app.get("/", include_in_schema=False)
        def placeholder() -> HTMLResponse:
            return HTMLResponse(_PLACEHOLDER)

    if STATIC_DIR.is_dir():
        # Mounted last so the API routes win; html=True serves index.html at "/".
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="kiosk")
    return app


#: Where the Swagger UI and ReDoc files are served from (the fastapi-offline package).
DOCS_ASSETS = "/docs-assets"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def install_offline_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts, styles and icon served by
    the station itself: FastAPI's defaults load them from a CDN, so on a station without
    internet the pages stayed blank. The files come from the fastapi-offline package;
    Google Fonts and Swagger's online validator are switched off for the same reason."""
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    assets = Path(fastapi_offline.__file__).parent / "static"
    redoc_js: list[bytes] = []

    # ReDoc's side menu shows Redocly's logo from their CDN (hidden again when it fails to
    # load): point it at the local icon, so that no page of the station leaves it.
    def redoc_script(request: Request) -> Response:
        if not redoc_js:
            text = (assets / "redoc.standalone.js").read_bytes()
            redoc_js.append(text.replace(REDOC_CDN_LOGO, f"{DOCS_ASSETS}/favicon.png".encode()))
        return Response(redoc_js[0], media_type="text/javascript")

    # A mount, like the kiosk's files: public, and not an API route.
    files = Router([Route("/redoc.standalone.js", redoc_script), Mount("/", StaticFiles(directory=assets))])
    app.mount(DOCS_ASSETS, files, name="docs-assets")
    icon = f"{DOCS_ASSETS}/favicon.png"
    swagger = {
        "swagger_js_url": f"{DOCS_ASSETS}/swagger-ui-bundle.js", "swagger_css_url": f"{DOCS_ASSETS}/swagger-ui.css",
        "swagger_favicon_url": icon, "swagger_ui_parameters": {"validatorUrl": None},
    }  # fmt: skip
    redoc = {"redoc_js_url": f"{DOCS_ASSETS}/redoc.standalone.js", "redoc_favicon_url": icon, "with_google_fonts": False}
    for path, render, name, options in (
        ("/docs", get_swagger_ui_html, "Swagger UI", swagger), ("/redoc", get_redoc_html, "ReDoc", redoc)
    ):
        page = _html_page(render, openapi_url=app.openapi_url, title=f"{app.title} - {name}", **options)
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)


def _html_page(render: Callable[..., HTMLResponse], **kwargs: Any) -> Callable[[], HTMLResponse]:
    """A route without parameters (FastAPI would turn any argument into a query parameter)."""
    return lambda: render(**kwargs)


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every ``(method, path)`` the app serves, with router prefixes applied; WebSocket
    routes have method ``"WS"``. Used by the auth and documentation tests, so a new
    route is checked without anyone listing it by hand."""
    from starlette.routing import WebSocketRoute

    try:  # FastAPI >= 0.120 keeps included routers as objects; flatten them
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI
        routes = list(app.routes)
    out: list[tuple[str, str]] = []
    for r in routes:
        original = getattr(r, "original_route", r)
        if isinstance(original, Mount):
            continue
        path = str(getattr(r, "path", ""))
        if isinstance(original, WebSocketRoute) or type(original).__name__ == "APIWebSocketRoute":
            out.append(("WS", path))
            continue
        out += [(m, path) for m in sorted(getattr(r, "methods", None) or ()) if m != "HEAD"]
    return out
