"""Run every benchmark module ``bench/bench_*.py`` (each has ``run(report)``) and write
``bench-report.json`` and ``bench-report.md`` in the working directory.

``python -m bench [NAME ...]`` runs only the modules whose name contains NAME.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

import bench
from bench.report import Report


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    report = Report()
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").run(report)
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            report.errors.append({"module": name, "error": f"{type(exc).__name__}: {exc}"})
        print(f"[{i}/{len(names)}] {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    report.write(Path("bench-report.json"), Path("bench-report.md"))
    print()
    print(report.to_markdown())
    print("Report written to bench-report.json and bench-report.md")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
