"""Every relative link in README.md and docs/*.md leads to a file (and its #anchor to a
heading of that file), and every ``docs/...`` path the Python sources name exists:
a renamed or removed page breaks here, not in a reader's hands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = [p for d in ("station", "hardware", "calibration", "api", "bench", "tests", "scripts")
           for p in sorted((ROOT / d).rglob("*.py"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
#: A path under docs/ as prose names it; trailing punctuation is not part of it.
_DOCS_PATH = re.compile(r"(?<![/\w.])docs/[\w./-]*[\w/]")


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code (neither holds links)."""
    return _CODE.sub("", _FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens,
    repeats numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    out = set()
    for title in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(page: Path) -> list[str]:
    return [t for t in _LINK.findall(_prose(page.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]  # http:, https:, mailto:, file: ...


def test_the_pages_have_relative_links() -> None:
    assert len(PAGES) >= 10
    assert sum(len(links(p)) for p in PAGES) >= 20  # the parser finds them (else the test proves nothing)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page):
        path_part, _, anchor = target.partition("#")
        if path_part.startswith("/"):
            broken.append(f"{target} (an absolute path: link relative to {page.name})")
            continue
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{target} (no {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest})")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_anchor_slugs_follow_github() -> None:
    cli = anchors(ROOT / "docs" / "cli.md")
    assert "station-purge" in cli and "the-station-command" in cli
    assert "soft-delete-purge-and-privacy" in anchors(ROOT / "docs" / "storage.md")


def test_docs_paths_named_in_python_sources_exist() -> None:
    assert len(SOURCES) > 100
    named = {(src, m) for src in SOURCES for m in _DOCS_PATH.findall(src.read_text(encoding="utf-8"))}
    assert len(named) >= 10
    missing = sorted(f"{src.relative_to(ROOT)}: {path}" for src, path in named if not (ROOT / path).exists())
    assert not missing, f"these docs/ paths do not exist: {missing}"
