"""Every text of the kiosk comes from the translation files: both languages have the
same keys, every key the code uses exists, and the markup holds no text of its own."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from calibration.workflow import STATES as CAL_STATES
from station.core.geometry import CHANNELS
from station.core.protocols import PROTOCOLS

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
LANGS = ("en", "nl")
RECORDING_STATES = ("idle", "armed", "recording", "analysing", "saved", "aborted", "failed", "interrupted")
#: Literal keys in the code: t("a.b"), i18n: "a.b", data-i18n="a.b", ARMED_MESSAGES values.
_KEY = re.compile(r"""(?:\bt\(|i18n(?:Placeholder|Aria)?:\s*|data-i18n(?:-[a-z]+)?=)["']([a-z_]+\.[A-Za-z0-9_.]+)["']""")


def load(lang: str) -> dict[str, str]:
    return json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def code_files() -> list[Path]:
    return sorted((STATIC / "js").rglob("*.js")) + [STATIC / "index.html"]


def test_both_languages_have_the_same_non_empty_keys() -> None:
    en, nl = load("en"), load("nl")
    assert set(en) == set(nl), f"only en: {set(en) - set(nl)}; only nl: {set(nl) - set(en)}"
    assert all(v.strip() for v in [*en.values(), *nl.values()])
    # Dutch is really Dutch: most texts differ from the English ones.
    differ = sum(en[k] != nl[k] for k in en)
    assert differ > 0.8 * len(en)


def test_every_key_used_in_the_code_exists() -> None:
    en = load("en")
    used: set[str] = set()
    for path in code_files():
        used |= set(_KEY.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 100, "the key pattern no longer finds the keys"
    missing = sorted(k for k in used if k not in en)
    assert not missing, missing


@pytest.mark.parametrize(
    ("prefix", "names"),
    [
        ("protocol", list(PROTOCOLS)),
        ("measures", list(PROTOCOLS)),
        ("channel", list(CHANNELS)),
        ("state", list(RECORDING_STATES)),
        ("cal_state", [*CAL_STATES, "idle"]),
        ("channel_state", ["ok", "noisy", "dead"]),
    ],
)
def test_keys_built_from_server_names_exist(prefix: str, names: list[str]) -> None:
    for lang in LANGS:
        d = load(lang)
        missing = [n for n in names if f"{prefix}.{n}" not in d]
        assert not missing, f"{lang}: {prefix}.{missing}"


def test_every_metric_shown_has_a_label() -> None:
    src = (STATIC / "js" / "views" / "results.js").read_text(encoding="utf-8")
    block = src[src.index("export const METRICS") : src.index("];", src.index("export const METRICS"))]
    paths = re.findall(r'\["([a-z_.0-9]+)"', block)
    assert len(paths) >= 10
    for lang in LANGS:
        d = load(lang)
        assert not [p for p in paths if f"metric.{p}" not in d], lang


class _TextOutsideI18n(HTMLParser):
    """Collects text in <body> that is not inside an element carrying data-i18n."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.in_body = False
        self.stray: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        if tag in ("meta", "link", "input", "br", "img"):
            return
        self.stack.append(any(k == "data-i18n" for k, _ in attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("meta", "link", "input", "br", "img"):
            return
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.in_body and data.strip() and not any(self.stack):
            self.stray.append(data.strip())


def test_the_markup_has_no_hard_coded_text() -> None:
    parser = _TextOutsideI18n()
    parser.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    assert parser.in_body
    assert parser.stray == []


def test_vendored_chart_library_is_local_with_its_licence() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html  # no CDN: works offline
    vendor = STATIC / "vendor" / "uplot"
    assert (vendor / "uPlot.iife.min.js").stat().st_size > 10_000
    assert "MIT" in (vendor / "LICENSE").read_text(encoding="utf-8")
