"""The raw trial CSV: what the station exports for every trial and what ``station analyze`` reads.

Format: optional ``#`` comment lines (``# key: value`` lines become metadata), then the
header ``t_s,left_fl,left_fr,left_bl,left_br,right_fl,right_fr,right_bl,right_br``, then
one row per frame: time in seconds, then the load of each cell in newtons. Reading is
strict: any problem raises :class:`station.core.errors.InputError` naming line and column.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from station.core.errors import InputError
from station.core.geometry import CHANNELS

COLUMNS = ("t_s", *CHANNELS)
HEADER = ",".join(COLUMNS)
_META = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_.\-]{0,39})\s*:\s*(.*?)\s*$")


@dataclass
class RawRecording:
    """One trial: timestamps (N,), cell loads (N, 8) in CHANNELS order, metadata."""

    t_s: np.ndarray
    loads_n: np.ndarray
    metadata: dict[str, str] = field(default_factory=dict)
    #: 1-based file line numbers of the first and last data row (None when built in memory)
    data_lines: tuple[int, int] | None = None


def read_raw_csv(source: str | Path | TextIO) -> RawRecording:
    """Read and validate a raw CSV file (path or open text stream).

    Raises
    ------
    InputError
        With ``line`` and ``column`` (1-based) for a wrong header, a row with the
        wrong number of cells, a non-numeric or non-finite cell, a time that does not
        increase, or a file without data rows.
    """
    if isinstance(source, str | Path):
        try:
            with open(source, encoding="utf-8", newline="") as fh:
                text = fh.read()
        except UnicodeDecodeError as exc:
            raise InputError(f"{source} is not a UTF-8 text file ({exc.reason})",
                             hint="Export the CSV as UTF-8 text.") from None
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror}") from None
    else:
        text = source.read()
    return parse_raw_csv(text)


def parse_raw_csv(text: str) -> RawRecording:
    """Parse the text of a raw CSV; see :func:`read_raw_csv`."""
    lines = text.splitlines()
    metadata: dict[str, str] = {}
    comments: list[str] = []
    i = 0
    while i < len(lines) and (lines[i].startswith("#") or not lines[i].strip()):
        m = _META.match(lines[i])
        if m:
            metadata[m.group(1)] = m.group(2)
        elif lines[i].strip():
            comments.append(lines[i][1:].strip())
        i += 1
    if comments:
        metadata.setdefault("comment", "\n".join(comments))
    if i >= len(lines):
        raise InputError("the file has no header line", line=i + 1, hint=f"The first line after the # comments must be: {HEADER}")
    header_line = i + 1
    names = [n.strip().lstrip("\ufeff") for n in lines[i].split(",")]
    for col, expected in enumerate(COLUMNS, 1):
        got = names[col - 1] if col <= len(names) else None
        if got != expected:
            raise InputError(
                f"header column {col} is {got!r}, expected {expected!r}",
                line=header_line, column=col, hint=f"The header must be: {HEADER}",
            )
    if len(names) > len(COLUMNS):
        raise InputError(
            f"header has {len(names)} columns, expected {len(COLUMNS)}",
            line=header_line, column=len(COLUMNS) + 1, hint=f"The header must be: {HEADER}",
        )
    body = lines[i + 1 :]
    while body and not body[-1].strip():
        body.pop()  # trailing blank lines are harmless
    if not body:
        raise InputError("the file has a header but no data rows", line=header_line + 1, hint="Record a trial first.")
    first = header_line + 1
    blank = next((r for r, line in enumerate(body) if not line.strip()), None)
    if blank is not None:
        raise InputError("empty line inside the data", line=first + blank, column=1, hint="Remove the empty line.")
    try:
        data = np.loadtxt(io.StringIO("\n".join(body)), delimiter=",", dtype=float, ndmin=2, comments=None)
        if data.shape[1] != len(COLUMNS):
            raise ValueError
    except ValueError:
        data = _parse_slowly(body, first)  # raises with the exact line and column
    bad = ~np.isfinite(data)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise InputError(
            f"{COLUMNS[c]} is {body[r].split(',')[c].strip()!r}: missing values (NaN/inf) are not allowed",
            line=first + r, column=c + 1, hint="Repair or remove that row.",
        )
    t = data[:, 0]
    d = np.diff(t)
    if (d <= 0).any():
        r = int(np.flatnonzero(d <= 0)[0]) + 1
        raise InputError(
            f"t_s = {t[r]:g} s does not increase (previous row: {t[r - 1]:g} s)",
            line=first + r, column=1, hint="Timestamps must be strictly increasing.",
        )
    return RawRecording(t_s=t.copy(), loads_n=data[:, 1:].copy(), metadata=metadata,
                        data_lines=(first, first + len(body) - 1))


def _parse_slowly(body: list[str], first: int) -> np.ndarray:
    out = np.empty((len(body), len(COLUMNS)))
    for r, line in enumerate(body):
        cells = line.split(",")
        if len(cells) != len(COLUMNS):
            raise InputError(
                f"row has {len(cells)} cells, expected {len(COLUMNS)}",
                line=first + r, column=min(len(cells), len(COLUMNS)) + (len(cells) < len(COLUMNS)),
                hint="Every row needs a time and eight loads, separated by commas.",
            )
        for c, cell in enumerate(cells):
            try:
                out[r, c] = float(cell)
            except ValueError:
                raise InputError(
                    f"{COLUMNS[c]} is {cell.strip()!r}, not a number",
                    line=first + r, column=c + 1, hint="Use plain decimal numbers with a dot.",
                ) from None
    return out


def write_raw_csv(target: str | Path | TextIO, recording: RawRecording) -> None:
    """Write ``recording`` as a raw CSV (metadata as ``# key: value`` lines).

    Times with 6 decimals (microseconds), loads with 4 (0.1 mN): well below the noise.
    """
    t = np.asarray(recording.t_s, dtype=float)
    loads = np.asarray(recording.loads_n, dtype=float)
    if loads.shape != (len(t), len(CHANNELS)):
        raise InputError(f"loads_n must be (N, 8) for N = {len(t)} timestamps, got {loads.shape}")
    head = []
    for k, v in recording.metadata.items():
        for n, part in enumerate(str(v).splitlines() or [""]):
            head.append(f"# {k}: {part}" if n == 0 else f"# {part}")
    buf = io.StringIO()
    buf.write("".join(h + "\n" for h in head))
    buf.write(HEADER + "\n")
    np.savetxt(buf, np.column_stack([t, loads]), delimiter=",", fmt=["%.6f"] + ["%.4f"] * len(CHANNELS))
    text = buf.getvalue()
    if isinstance(target, str | Path):
        Path(target).write_text(text, encoding="utf-8")
    else:
        target.write(text)
