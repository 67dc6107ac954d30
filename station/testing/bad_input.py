"""Generated bad input: text shaped like a raw CSV but wrong anywhere, well-formed files
with odd physics, the check every read must pass, and path-traversal attempts
(tests/reliability/test_bad_input.py runs them small, bench/bench_reliability.py large)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from hypothesis import strategies as st

from station.core.errors import InputError
from station.rawcsv import HEADER, RawRecording, read_raw_csv, write_raw_csv

_CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e999", "0x10", "1,5", "abc", "\"1\"", "1e-400", "+", "-",
                     "１２", "\u00a01", "0" * 400, "1_000"]),
    st.floats(-2000, 2000, allow_nan=False).map(lambda v: f"{v:.4f}"),
)


@st.composite
def csv_texts(draw: Any) -> str:
    """Text shaped like a raw CSV, wrong in any place: comments, header, row lengths,
    cells, times, line endings, encoding oddities."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append("#" + draw(st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s)))
    header = draw(st.sampled_from([HEADER, HEADER.upper(), HEADER + ",extra", HEADER.replace(",", ";"),
                                   ",".join(HEADER.split(",")[:8]), "", "t_s"]))
    if draw(st.booleans()) or header:
        lines.append(header)
    t = draw(st.floats(-5, 5, allow_nan=False))
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.integers(0, 9)) == 0:
            cells = draw(st.lists(_CELLS, min_size=0, max_size=11))
        else:
            t += draw(st.sampled_from([0.0125, 0.0125, 0.0125, 0.0, -0.01, 1.0]))
            cells = [f"{t:.6f}"] + [draw(_CELLS) if draw(st.integers(0, 12)) == 0 else f"{100.0 + k:.4f}"
                                   for k in range(8)]
        lines.append(",".join(cells))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending, ending * 3]))


any_text = st.one_of(csv_texts(), st.text(max_size=300))


def check_read(text: str) -> RawRecording | InputError:
    """Read ``text`` as a raw CSV: a recording the analysis can rely on, or an InputError
    that names the line (1-based)."""
    try:
        rec = read_raw_csv(io.StringIO(text))
    except InputError as exc:
        assert exc.line is not None and exc.line >= 1, f"no line in: {exc}"
        assert str(exc).startswith(f"line {exc.line}")
        return exc
    # a valid recording: what the analysis relies on
    assert rec.loads_n.shape == (len(rec.t_s), 8) and len(rec.t_s) >= 1
    assert np.isfinite(rec.t_s).all() and np.isfinite(rec.loads_n).all()
    assert (np.diff(rec.t_s) > 0).all()
    return rec


@st.composite
def analysable_texts(draw: Any) -> str:
    """Mostly well-formed files with odd physics (short, flat, negative, huge, NaN-free):
    they get past the reader into the analysis."""
    n = draw(st.integers(1, 400))
    dt = draw(st.sampled_from([0.0125, 0.1, 0.001, 3.0]))
    level = draw(st.sampled_from([0.0, 5.0, 100.0, -300.0, 1e7]))
    noise = draw(st.sampled_from([0.0, 1.0, 500.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    loads = level + noise * rng.standard_normal((n, 8))
    if draw(st.booleans()):
        loads[: n // 2, draw(st.integers(0, 7))] = 0.0
    buf = io.StringIO()
    write_raw_csv(buf, RawRecording(np.arange(n) * dt, loads, {}))
    return buf.getvalue()


TRAVERSALS = [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/css/..%2f..%2f..%2fapp.py",
    "/..%2f..%2fapi%2fapp.py", "/css/%2e%2e/%2e%2e/app.py", "/..\\..\\api\\app.py", "/%2e%2e%5c%2e%2e%5capp.py",
    "//etc/passwd", "/vendor/uplot/../../../app.py", "/css/kiosk.css%00.py", "/index.html/../../app.py",
    "/api/v1/trials/1/video/../../../../etc/passwd", "/api/v1/trials/..%2f..%2fetc%2fpasswd/export.csv",
]
