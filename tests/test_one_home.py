"""Each shared fact has one home (issue 14): g and the contact threshold are defined in
:mod:`station.core.physics` and nowhere else, in the Python or the kiosk's JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

from station.core import physics

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    p for d in ("station", "hardware", "calibration", "api")
    for p in sorted((ROOT / d).rglob("*"))
    if p.suffix in (".py", ".js") and p != ROOT / "station" / "core" / "physics.py"
]
#: any spelling of g: 9.81, 9.8066, 9.80665
G_LITERAL = re.compile(r"(?<![\d.])9\.8(?:1|066\d*)\b")
#: the threshold as a literal: compared with a force (``fz > 20``, ``>= 20.0``), given as a
#: default (``minN = 20``) or named as a force threshold (``..._N = 20``)
THRESHOLD_LITERAL = re.compile(
    r"(?:[<>]=?\s*20(?:\.0*)?\b(?!\s*[*/]))"
    r"|(?:\b\w*(?:_N|N|_n)\s*(?::\s*float\s*)?=\s*20(?:\.0*)?\b)"
)


def _hits(pattern: re.Pattern[str]) -> list[str]:
    out = []
    for path in SOURCES:
        for no, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0] if path.suffix == ".py" else line.split("//", 1)[0]
            if pattern.search(code):
                out.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    return out


def test_the_facts_have_their_values() -> None:
    assert physics.G_M_S2 == 9.80665
    assert physics.CONTACT_THRESHOLD_N == 20.0
    assert physics.is_loaded([19.999, 20.0, 25.0]).tolist() == [False, True, True]


def test_g_is_defined_once() -> None:
    assert _hits(G_LITERAL) == []


def test_the_contact_threshold_is_defined_once() -> None:
    assert _hits(THRESHOLD_LITERAL) == []


def test_the_search_finds_copies() -> None:
    assert G_LITERAL.search("G = 9.81") and G_LITERAL.search("m * 9.80665")
    assert not G_LITERAL.search("x = 19.81")
    for copy in ("CONTACT_N = 20.0", "fz > 20", "minN = 20", "f >= 20.0", "EMPTY_MAX_N = 20.0"):
        assert THRESHOLD_LITERAL.search(copy), copy
    for other in ("mass_kg: float = 20.0", "n_frames > 200", "PLATE_MARGIN_MM = 20.0", "t > 20 * dt"):
        assert not THRESHOLD_LITERAL.search(other), other
