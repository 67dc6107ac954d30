"""ASGI middleware that guards request bodies: who may send one, and how big.

FastAPI reads and parses a route's body *before* it solves the route's dependencies,
the token check among them: an unauthenticated 15 MB JSON of empty objects was
parsed in full (the server grew from 372 to 653 MB) before the 401. So:

- :class:`AuthBeforeBody` checks the caller's token and role for every protected
  route that can carry a body (any method but GET, HEAD and OPTIONS) before the app
  sees the request. The role a route needs is read from the route's own
  ``require_role`` dependencies (one home: the routers), once, at the first request.
  The caller it found is left in the request scope, where the routes' dependency
  (``api.deps.current_principal``) takes it instead of checking again.
- :class:`BodySizeLimit` counts the body's bytes as they arrive and answers 413 past
  the limit (by ``Content-Length`` at once, or while streaming): ``max_upload_bytes``
  for uploads, and :data:`MAX_JSON_BYTES` (or less) for JSON, which the API parses
  into Python objects at many times its size.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import HTTPConnection
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import API_PREFIX
from api.auth import ROLE_RANK, check_role
from api.deps import current_principal
from api.errors import error_body, station_error_response
from station.core.errors import StationError

#: Largest JSON body any route takes. The API's bodies are a few hundred bytes (an
#: athlete, a recording's options, a calibration step); 1 MiB leaves room for notes
#: and options while bounding what parsing can cost.
MAX_JSON_BYTES = 1024 * 1024

#: Methods whose requests carry no body any route reads.
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


def _route_roles(app: Any) -> list[tuple[frozenset[str], re.Pattern[str], str]]:
    """``(methods, path regex, role)`` of every route that requires a role."""
    from fastapi.routing import iter_route_contexts

    out = []
    for route in iter_route_contexts(app.routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods:  # mounts, WebSockets (they check their own token)
            continue
        dependant = getattr(route, "dependant", None)
        if dependant is None:  # plain Starlette routes: /docs, /openapi.json
            continue
        roles = []
        stack = list(dependant.dependencies)
        while stack:
            dep = stack.pop()
            name = getattr(dep.call, "__name__", "")
            # api.deps.require_role names its dependency "require_<role>"
            if name.startswith("require_") and name[len("require_"):] in ROLE_RANK:
                roles.append(name[len("require_"):])
            stack += dep.dependencies
        if roles:
            regex, _, _ = compile_path(path)
            out.append((frozenset(methods), regex, max(roles, key=ROLE_RANK.__getitem__)))
    return out


def _route_path(scope: Scope) -> str:
    """The path the routes match: without the ``root_path`` a proxy may have set."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path


class AuthBeforeBody:
    """Refuse callers without the route's role before the app reads the body (see the
    module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._roles: list[tuple[frozenset[str], re.Pattern[str], str]] | None = None

    def _role_for(self, scope: Scope) -> str | None:
        if self._roles is None:
            self._roles = _route_roles(scope["app"])
        method, path = scope["method"], _route_path(scope)
        for methods, regex, role in self._roles:
            if method in methods and regex.match(path):
                return role
        return None  # public, or no such route (the app answers 404/405 without reading)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS or not _route_path(scope).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        role = self._role_for(scope)
        if role is not None:
            try:
                check_role(await current_principal(HTTPConnection(scope)), role)
            except StationError as exc:
                await station_error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Refuse request bodies above the limit with 413, by Content-Length or while
    streaming, before any route reads them (an upload never fills memory or disk).
    JSON bodies (and bodies without a content type, which FastAPI parses as JSON)
    are limited to ``max_json_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_bytes: int = MAX_JSON_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_bytes = min(max_json_bytes, max_bytes)

    def _limit(self, scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                return self.max_json_bytes if b"json" in value.lower() else self.max_bytes
        return self.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(send, limit)
                    return
        seen = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer 413 now; the route sees a disconnected client and whatever
                    # it answers is dropped.
                    refused = True
                    if not started:
                        await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            error_body(f"the request body is larger than {limit} bytes", "Send a smaller file or body.")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
