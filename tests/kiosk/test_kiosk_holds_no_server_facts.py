"""The kiosk draws what the server sends and keeps no copy of the server's facts
(issue 14): no protocol names or rules, no plate geometry, no CoP or ellipse maths. (g and
the contact threshold are searched for by tests/test_one_home.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from station.core.protocols import PROTOCOLS

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"


def js_code() -> dict[str, str]:
    """Each kiosk module's code without its comments."""
    out = {}
    for path in sorted((STATIC / "js").rglob("*.js")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        out[str(path.relative_to(STATIC))] = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    return out


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_no_protocol_is_named_in_the_kiosk(name: str) -> None:
    """What a protocol is (single-leg, its symmetry metric, how it ends, its label) comes
    from GET /api/v1/protocols."""
    hits = [f for f, code in js_code().items() if re.search(rf"\b{name}\b", code)]
    assert not hits, f"{name} is named in {hits}"


def test_no_geometry_and_no_analysis_in_the_kiosk() -> None:
    for f, code in js_code().items():
        # a geometry literal (plate centres, cell positions): the server sends the geometry
        assert not re.search(r"center_mm\s*:|cells_mm\s*:", code), f
        # the raw CSV is for downloads only: the plots come from GET /trials/{id}/plot
        assert "parseRawCsv" not in code and "5.991" not in code and "Math.atan2" not in code, f


def test_every_protocol_label_key_is_translated() -> None:
    for lang in ("en", "nl"):
        d = json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
        assert not [p.label_key for p in PROTOCOLS.values() if p.label_key not in d], lang
