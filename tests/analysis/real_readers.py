"""Readers for the public recordings in tests/data/real (test helpers, not product input formats)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def read_mot(path: Path = REAL / "grf_run.mot") -> dict[str, np.ndarray]:
    """OpenSim storage: header up to ``endheader``, then a whitespace table with a name row."""
    lines = path.read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip() == "endheader")
    rest = [line for line in lines[end + 1 :] if line.strip()]
    names = rest[0].split()
    data = np.array([[float(v) for v in line.split()] for line in rest[1:]])
    return {n: data[:, i] for i, n in enumerate(names)}


def read_jump(path: Path = REAL / "GRFZjump.txt", fs_hz: float = 600.0) -> tuple[np.ndarray, np.ndarray]:
    """One vertical force per line at 600 Hz (rate from the BMC VerticalJump notebook)."""
    f = np.loadtxt(path)
    return np.arange(len(f)) / fs_hz, f


def read_amti(path: Path = REAL / "amti_quiet_stance.csv") -> dict[str, np.ndarray]:
    """AMTI export: 31 metadata lines, header on line 32 (names with a leading space)."""
    with open(path) as fh:
        lines = fh.read().splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("MocapFrame"))
    names = [n.strip() for n in lines[head].split(",")]
    data = np.loadtxt(lines[head + 1 :], delimiter=",", usecols=range(len(names)))
    return {n: data[:, i] for i, n in enumerate(names)}


def read_kistler_original(path: Path = REAL / "kistler_fp_data.txt") -> dict[str, np.ndarray]:
    """Kistler 9281EA voltages -> forces (N) and the BMC CoP (m), as README.md documents."""
    d = np.loadtxt(path, skiprows=1)
    s = np.array([38.117, 37.723, 38.062, 38.008, 3.898, 3.889, 3.885, 3.891])
    f = 1000 * d[:, 1:] / s
    fx = f[:, 0] + f[:, 1]
    fy = f[:, 2] + f[:, 3]
    fz1, fz2, fz3, fz4 = f[:, 4], f[:, 5], f[:, 6], f[:, 7]
    fz = fz1 + fz2 + fz3 + fz4
    a, b, az0 = 0.120, 0.200, -0.048
    mx = b * (fz1 + fz2 - fz3 - fz4)
    my = a * (-fz1 + fz2 + fz3 - fz4)
    # Kistler CoP with the plate-top correction: ax = (Fx az0 - My) / Fz, ay = (Fy az0 + Mx) / Fz
    return {
        "t_s": d[:, 0],
        "fz_n": fz,
        "cop_x_m": (fx * az0 - my) / fz,
        "cop_y_m": (fy * az0 + mx) / fz,
    }
