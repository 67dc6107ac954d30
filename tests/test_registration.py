"""Every router module is included in the app and every command module is registered
in ``station``: both are plain imports (a missing module fails at start-up), and these
tests catch a new module that was written but never added to the lists."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, FastAPI

import api.routes
import station.cli
from api.app import create_app, route_table
from station.cli import build_parser
from station.core.config import Settings


def _modules(package: object) -> list[str]:
    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]  # type: ignore[attr-defined]


def test_every_router_module_is_included_in_the_app(tmp_path: Path) -> None:
    served = set(route_table(create_app(Settings(data_dir=tmp_path))))
    routers = 0
    for name in _modules(api.routes):
        router = getattr(importlib.import_module(name), "router", None)
        if not isinstance(router, APIRouter):
            continue  # a helper module (e.g. common.py)
        routers += 1
        alone = FastAPI(docs_url=None, redoc_url=None)  # only the router's own routes
        alone.include_router(router)
        own = set(route_table(alone))
        assert own, f"{name}.router has no routes"
        assert own <= served, f"{name}.router is not included by api.app.create_app: {sorted(own - served)}"
    assert routers >= 10


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    return {name for a in parser._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices}


def test_every_command_module_is_registered() -> None:
    registered = _choices(build_parser())
    commands = 0
    for name in _modules(station.cli):
        module = importlib.import_module(name)
        if not callable(getattr(module, "register", None)):
            continue  # a helper module (argtypes, progress)
        commands += 1
        probe = argparse.ArgumentParser()
        module.register(probe.add_subparsers())
        own = _choices(probe)
        assert own, f"{name}.register adds no command"
        assert own <= registered, f"{name} is not registered in station.cli.COMMAND_MODULES: {sorted(own)}"
    assert commands >= 9
