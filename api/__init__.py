"""The station's HTTP API (FastAPI): ``create_app`` in :mod:`api.app`."""

from __future__ import annotations

API_PREFIX = "/api/v1"
