"""A trial as a C3D file (the biomechanics interchange format) written with ezc3d.

What the file holds, so Mokka, Visual3D, ezc3d or the ``c3d`` package can read it:

- No markers (POINT:USED = 0); POINT:RATE = ANALOG:RATE = the trial's sample rate.
- Two force platforms of TYPE 2 (six channels each: Fx, Fy, Fz, Mx, My, Mz), then
  eight extra analog channels with the load of each cell (N), in CHANNELS order.
- Each plate's coordinate system follows the common lab-plate convention: origin at
  the centre of the plate's top surface (FORCE_PLATFORM:ORIGIN = 0, 0, 0), x along the
  lab's x (to the athlete's right), z pointing *down* into the plate, so y points
  backwards (lab -y). CORNERS (lab frame, mm, z = 0 at the surface) are numbered
  1: (+x, +y), 2: (-x, +y), 3: (-x, -y), 4: (+x, -y) in plate axes, as the C3D
  manual asks; a reader derives the plate's orientation from them.
- Channels hold the force the athlete applies to the plate, in plate axes: our
  plates measure vertical force only, so Fx = Fy = 0, Fz = the plate's vertical load
  (positive when standing), and the moments about the plate origin follow from the
  centre of pressure (x_p, y_p) in plate axes: Mx = y_p * Fz, My = -x_p * Fz, Mz = 0.
  Readers recover CoP = (-My / Fz, Mx / Fz); where Fz is below 20 N the CoP is
  undefined and the moments are written as 0.
- Plate outlines: the rectangle through the four cells plus ``PLATE_MARGIN_MM``
  (the station knows where its cells are, not the size of the top plate).
- C3D assumes uniform sampling: frames are the samples linearly interpolated onto
  a uniform grid at the trial's nominal rate starting at its first sample (the
  station's own timestamps vary by well under a millisecond).
- Group STATION: TRIAL_ID, ATHLETE_ID, PROTOCOL, LEG, STARTED_AT, SOFTWARE_VERSION,
  CALIBRATION_ID.

References: C3D.org, "The C3D File Format User Guide" (Motion Lab Systems, 2008),
chapter on the FORCE_PLATFORM group; Winter, Biomechanics and Motor Control of Human
Movement (CoP from force and moments).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from station.core.errors import InputError, StorageError
from station.core.geometry import CHANNELS, PLATES, Geometry
from station.core.physics import CONTACT_THRESHOLD_N
from station.export.common import trial_loads
from station.storage import Store

#: Margin around the cell rectangle used as the plate outline in CORNERS.
PLATE_MARGIN_MM = 20.0
FP_LABELS = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
FP_UNITS = ("N", "N", "N", "Nmm", "Nmm", "Nmm")


def plate_corners_mm(geometry: Geometry, plate: str, *, margin_mm: float = PLATE_MARGIN_MM) -> np.ndarray:
    """(3, 4) lab coordinates of a plate's corners in C3D order (see the module docstring)."""
    g = geometry.plates[plate]
    cells = np.array([g.cells_mm[c] for c in g.cells_mm], dtype=float)
    cx, cy = g.center_mm
    x0, x1 = cells[:, 0].min() - margin_mm, cells[:, 0].max() + margin_mm
    y0, y1 = cells[:, 1].min() - margin_mm, cells[:, 1].max() + margin_mm
    # plate +x = lab +x; plate +y = lab -y (z down)
    return np.array(
        [
            [cx + x1, cy + y0, 0.0],  # 1: +x_p, +y_p
            [cx + x0, cy + y0, 0.0],  # 2: -x_p, +y_p
            [cx + x0, cy + y1, 0.0],  # 3: -x_p, -y_p
            [cx + x1, cy + y1, 0.0],  # 4: +x_p, -y_p
        ]
    ).T


def plate_origin_mm(corners: np.ndarray) -> np.ndarray:
    """Lab position of a plate's origin: the centre of its top surface."""
    return np.asarray(corners.mean(axis=1))


def plate_channels(loads_n: np.ndarray, geometry: Geometry) -> np.ndarray:
    """(N, 12) Fx, Fy, Fz, Mx, My, Mz of the left then the right plate, in plate axes."""
    pos = geometry.cell_positions_mm()
    out = np.zeros((len(loads_n), 12))
    for k, plate in enumerate(PLATES):
        cells = slice(4 * k, 4 * k + 4)
        fz = loads_n[:, cells].sum(axis=1)
        ox, oy, _ = plate_origin_mm(plate_corners_mm(geometry, plate))
        # moments of the cell loads about the plate origin, lab axes
        mx_lab = loads_n[:, cells] @ (pos[cells, 1] - oy)  # = Fz * (y_cop - oy)
        my_lab = loads_n[:, cells] @ (pos[cells, 0] - ox)  # = Fz * (x_cop - ox)
        loaded = fz >= CONTACT_THRESHOLD_N
        x_p = np.where(loaded, my_lab / np.where(loaded, fz, 1.0), 0.0)   # plate x = lab x
        y_p = np.where(loaded, -mx_lab / np.where(loaded, fz, 1.0), 0.0)  # plate y = lab -y
        out[:, 6 * k + 2] = fz
        out[:, 6 * k + 3] = y_p * fz
        out[:, 6 * k + 4] = -x_p * fz
    return out


def uniform_grid(t_s: np.ndarray, rate_hz: float) -> np.ndarray:
    """Frame times: uniform at ``rate_hz`` from the first sample up to the last."""
    n = int(np.floor((t_s[-1] - t_s[0]) * rate_hz + 1e-9)) + 1
    return t_s[0] + np.arange(n) / rate_hz


def build_c3d(
    t_s: np.ndarray,
    loads_n: np.ndarray,
    *,
    geometry: Geometry,
    rate_hz: float,
    station_info: dict[str, Any] | None = None,
) -> Any:
    """An ``ezc3d.c3d`` object for one trial (call ``.write(path)`` on it)."""
    import ezc3d

    t = np.asarray(t_s, dtype=float)
    loads = np.asarray(loads_n, dtype=float)
    if len(t) < 2:
        raise InputError("the trial has fewer than two samples; there is nothing to export as C3D")
    grid = uniform_grid(t, rate_hz)
    frames = np.column_stack([np.interp(grid, t, loads[:, c]) for c in range(loads.shape[1])])
    analogs = np.hstack([plate_channels(frames, geometry), frames])  # (n, 12 + 8)

    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([float(rate_hz)])
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c["parameters"]["ANALOG"]["RATE"]["value"] = np.array([float(rate_hz)])
    labels = [f"{lab}{k + 1}" for k in range(len(PLATES)) for lab in FP_LABELS] + [f"F_{name}" for name in CHANNELS]
    units = list(FP_UNITS) * len(PLATES) + ["N"] * len(CHANNELS)
    descriptions = [f"{p} plate {lab}" for p in PLATES for lab in FP_LABELS] + [f"vertical load of cell {n}" for n in CHANNELS]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
    c["parameters"]["ANALOG"]["UNITS"]["value"] = units
    c["parameters"]["ANALOG"]["DESCRIPTIONS"]["value"] = descriptions
    c["data"]["analogs"] = analogs.T[np.newaxis, :, :]
    # No markers, but C3D counts frames in point frames: an empty point block of n frames.
    c["data"]["points"] = np.zeros((4, 0, len(grid)))
    if "rotations" in c["data"]:  # an empty rotations block would make ezc3d divide by zero
        del c["data"]["rotations"]

    fp = c["parameters"]["FORCE_PLATFORM"]
    fp["USED"]["value"] = np.array([len(PLATES)])
    fp["TYPE"]["value"] = np.array([2] * len(PLATES))
    fp["ZERO"]["value"] = np.array([0, 0])  # the station zeroes its plates itself
    fp["CORNERS"]["value"] = np.stack([plate_corners_mm(geometry, p) for p in PLATES], axis=2)
    fp["ORIGIN"]["value"] = np.zeros((3, len(PLATES)))
    fp["CHANNEL"]["value"] = np.arange(1, 6 * len(PLATES) + 1).reshape(len(PLATES), 6).T

    for key, value in (station_info or {}).items():
        if value is None:
            value = ""
        c.add_parameter("STATION", key.upper(), [value] if isinstance(value, int | float) else str(value))
    return c


def write_trial_c3d(store: Store, trial_id: int, out: str | Path, *, include_deleted: bool = False) -> None:
    trial, t_s, loads, _invalid, cal = trial_loads(store, trial_id, include_deleted=include_deleted)
    c = build_c3d(
        t_s, loads, geometry=cal.geometry, rate_hz=float(trial["sample_rate_hz"]),
        station_info={
            "trial_id": int(trial["id"]),
            "athlete_id": int(trial["athlete_id"]),
            "protocol": trial["protocol"],
            "leg": trial["leg"] or "both",
            "started_at": trial["started_at"],
            "software_version": trial["software_version"],
            "calibration_id": "" if trial["calibration_id"] is None else str(trial["calibration_id"]),
        },
    )
    try:
        c.write(str(out))
    except (OSError, RuntimeError) as exc:
        raise StorageError(f"cannot write {out}: {exc}", hint="Check the path and the free disk space.") from None
