"""Every HTTP route and every CLI command is documented.

Routes are enumerated from the app itself and must appear as ``METHOD /path`` in
docs/api.md (WebSocket routes as ``WS /path``); CLI commands (and their
sub-commands, e.g. ``station token create``) are enumerated from the parser and must
appear as ``station <command>`` in docs/cli.md. A new route or command without
documentation fails here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from api.app import create_app, route_table
from station.cli import build_parser
from station.core.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: Framework pages, not part of the API.
FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_every_route_is_in_docs_api_md(tmp_path: Path) -> None:
    text = (DOCS / "api.md").read_text()
    app = create_app(Settings(data_dir=tmp_path))
    routes = [(m, p) for m, p in route_table(app) if p not in FRAMEWORK and p != "/"]
    assert len(routes) >= 20
    missing = [f"{m} {p}" for m, p in routes if f"{m} {p}" not in text]
    assert not missing, f"document these routes in docs/api.md: {missing}"


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append(f"{prefix} {name}")
                out += _commands(sub, f"{prefix} {name}")
    return out


def test_every_cli_command_is_in_docs_cli_md() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _commands(build_parser(), "station")
    assert "station serve" in commands
    missing = [c for c in commands if f"`{c}" not in text]
    assert not missing, f"document these commands in docs/cli.md: {missing}"
