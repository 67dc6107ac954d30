"""Errors -> HTTP responses, in one place.

Every :class:`~station.core.errors.StationError` carries its status code (``http_status``);
this module turns it into ``{"detail": message, "hint": what to do}``. Validation
errors become 422 naming the field. Nothing else ever reaches the client: an
unexpected exception is logged with its traceback and answered with a plain 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from station.core.errors import AuthError, StationError

log = logging.getLogger(__name__)

#: Hints for plain HTTP errors raised by the framework (unknown route, wrong method).
_HTTP_HINTS = {
    404: "Check the URL; the API is under /api/v1 and documented at /docs.",
    405: "Check the HTTP method; /docs lists the methods of each route.",
    413: "Send a smaller body.",
}


def error_body(detail: str, hint: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "hint": hint, **extra}


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "athlete_id") -> "athlete_id"; ("query", "limit") -> "limit" (query)
    parts = [str(p) for p in loc]
    where = parts[0] if parts and parts[0] in {"body", "query", "path", "header", "cookie"} else ""
    name = ".".join(parts[1:] if where else parts) or where or "request"
    return f"{name} ({where})" if where and where != "body" else name


def validation_errors(errors: list[Any]) -> list[dict[str, str]]:
    out = []
    for e in errors:
        msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
        out.append({"field": _field_name(e.get("loc", ())), "message": msg})
    return out


def station_error_response(exc: StationError) -> JSONResponse:
    """The response for a station error: its status, ``{detail, hint}``, and the headers
    its class calls for (``WWW-Authenticate`` on 401, ``Retry-After`` on 429). Used by
    the exception handler and by middleware that answers before any route runs."""
    headers: dict[str, str] = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    elif isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc.message, exc.hint), status_code=exc.http_status, headers=headers or None)


async def _station_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StationError)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return station_error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(list(exc.errors()))
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return JSONResponse(
        error_body(detail, "Fix the named field(s) and send the request again; /docs shows the schema.", errors=errors),
        status_code=422,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        error_body(detail, _HTTP_HINTS.get(exc.status_code)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log, never to the client.
    log.error("%s %s: unexpected %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
    return JSONResponse(
        error_body("internal error", "The station logged the details; try again, and report it if it repeats."),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StationError, _station_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
