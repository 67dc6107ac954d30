"""Progress lines for long page copies (backup, restore) on stderr.

On a terminal one line is redrawn; in a log (systemd journal, a pipe) a line is printed
every 10 %, so the journal shows that a long backup is moving without flooding it.
"""

from __future__ import annotations

import sys
from typing import TextIO


class PageProgress:
    def __init__(self, what: str, stream: TextIO | None = None) -> None:
        self.what = what
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_decile = -1
        self._drew = False

    def __call__(self, done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        if self.tty:
            self.stream.write(f"\r{self.what}: {pct:3d} % ({done}/{total} pages)")
            self._drew = True
        elif pct // 10 > self._last_decile:
            self._last_decile = pct // 10
            self.stream.write(f"{self.what}: {pct} % ({done}/{total} pages)\n")
        self.stream.flush()

    def __enter__(self) -> PageProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._drew:
            self.stream.write("\n")
            self.stream.flush()
