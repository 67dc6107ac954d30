"""The benchmark report: every figure beside its target."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    section: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""          # human-readable target, e.g. ">= 200x" or "<= 3 ms"
    ok: bool | None = None    # None where there is no target
    note: str = ""


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(
        self,
        section: str,
        name: str,
        value: float | int | str | None,
        unit: str = "",
        *,
        target: str = "",
        ok: bool | None = None,
        note: str = "",
    ) -> Figure:
        # numpy scalars (np.float64, np.bool_) are not JSON-serialisable: store plain Python values
        if hasattr(value, "item") and not isinstance(value, str):
            value = value.item()  # type: ignore[union-attr]
        if isinstance(value, float):
            value = float(f"{value:.4g}")
        ok = None if ok is None else bool(ok)
        fig = Figure(section, name, value, unit, target, ok, note)
        self.figures.append(fig)
        mark = {True: "ok", False: "MISSED", None: ""}[ok]
        print(f"  {section} | {name}: {value} {unit} {('(target ' + target + ')') if target else ''} {mark}", flush=True)
        return fig

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
            "started_unix": self.started,
            "duration_s": round(time.time() - self.started, 1),
            "figures": [asdict(f) for f in self.figures],
            "errors": self.errors,
        }

    def to_markdown(self) -> str:
        lines = ["# Stance Station benchmark report", ""]
        d = self.to_dict()
        lines.append(f"Machine: {d['machine']['platform']}, {d['machine']['cpus']} CPUs, Python {d['machine']['python']}. Run took {d['duration_s']} s.")
        lines.append("")
        lines.append("| section | figure | value | unit | target | met |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for f in self.figures:
            met = {True: "yes", False: "**no**", None: ""}[f.ok]
            lines.append(f"| {f.section} | {f.name} | {f.value} | {f.unit} | {f.target} | {met} |")
        if self.errors:
            lines += ["", "## Benchmarks that failed to run", ""]
            lines += [f"- {e['module']}: {e['error']}" for e in self.errors]
        return "\n".join(lines) + "\n"

    def write(self, json_path: Path, md_path: Path) -> None:
        json_path.write_text(json.dumps(self.to_dict(), indent=2))
        md_path.write_text(self.to_markdown())


def _cpus() -> int:
    import os

    return os.cpu_count() or 0
