"""A trial as a C3D file (the biomechanics interchange format), written with the
pure-Python ``c3d`` package, so a Raspberry Pi needs no compiled extension for it
(ezc3d has no aarch64 wheel; it stays an optional extra for reading lab files).

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

import io
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


def _add_param(group: Any, name: str, desc: str, values: Any, *, dims: tuple[int, ...] | None = None) -> None:
    """Add a parameter to a ``c3d.Writer`` group. ``values`` is indexed as in the C3D
    manual (first index fastest in the file): (3, 4, 2) CORNERS are [coordinate,
    corner, plate]. Integers are stored as INT16, reals as FLOAT32, str as CHAR."""
    if isinstance(values, str):
        data = values.encode("utf-8")
        group.add_param(name, desc=desc, bytes_per_element=-1, bytes=data, dimensions=[len(data)])
        return
    arr = np.asarray(values)
    dtype = np.dtype("<i2") if np.issubdtype(arr.dtype, np.integer) else np.dtype("<f4")
    shape = list(arr.shape if dims is None else dims)
    group.add_param(
        name, desc=desc, bytes_per_element=dtype.itemsize,
        bytes=arr.astype(dtype).tobytes(order="F"), dimensions=shape,
    )


def build_c3d(
    t_s: np.ndarray,
    loads_n: np.ndarray,
    *,
    geometry: Geometry,
    rate_hz: float,
    station_info: dict[str, Any] | None = None,
) -> bytes:
    """The C3D file of one trial, as bytes (see the module docstring for its content)."""
    import c3d

    t = np.asarray(t_s, dtype=float)
    loads = np.asarray(loads_n, dtype=float)
    if len(t) < 2:
        raise InputError("the trial has fewer than two samples; there is nothing to export as C3D")
    grid = uniform_grid(t, rate_hz)
    frames = np.column_stack([np.interp(grid, t, loads[:, c]) for c in range(loads.shape[1])])
    analogs = np.hstack([plate_channels(frames, geometry), frames])  # (n, 12 + 8)

    # One analog sample per point frame; no markers (a (0, 5) point block per frame).
    w = c3d.Writer(point_rate=float(rate_hz), analog_rate=float(rate_hz), point_units="mm")
    labels = [f"{lab}{k + 1}" for k in range(len(PLATES)) for lab in FP_LABELS] + [f"F_{name}" for name in CHANNELS]
    units = list(FP_UNITS) * len(PLATES) + ["N"] * len(CHANNELS)
    descriptions = [f"{p} plate {lab}" for p in PLATES for lab in FP_LABELS] + [f"vertical load of cell {n}" for n in CHANNELS]
    w.set_analog_labels(labels)
    w.set_analog_scales(np.ones(len(labels)))  # values stored as floats, unscaled
    w.set_analog_offsets(np.zeros(len(labels), dtype=int))
    for name, texts in (("UNITS", units), ("DESCRIPTIONS", descriptions)):
        packed, width = c3d.Writer.pack_labels(texts)
        w.analog_group.add_str(name, f"Analog {name.lower()}.", packed, width, len(texts))
    no_points = np.zeros((0, 5), dtype=np.float32)
    w.add_frames([(no_points, row[:, np.newaxis].astype(np.float32)) for row in analogs])

    n_plates = len(PLATES)
    fp = w.get_create("FORCE_PLATFORM")
    _add_param(fp, "USED", "Number of force platforms", np.int16(n_plates), dims=())
    _add_param(fp, "TYPE", "Force platform types", np.full(n_plates, 2, dtype=int))
    _add_param(fp, "ZERO", "Zero baseline frames (the station zeroes its plates itself)", np.array([0, 0]))
    corners = np.stack([plate_corners_mm(geometry, p) for p in PLATES], axis=2)  # (3, 4, plates)
    _add_param(fp, "CORNERS", "Plate corners, lab frame (mm)", corners)
    _add_param(fp, "ORIGIN", "Plate origin relative to its centre (mm)", np.zeros((3, n_plates)))
    _add_param(fp, "CHANNEL", "Analog channels of each plate", np.arange(1, 6 * n_plates + 1).reshape(n_plates, 6).T)

    info = w.get_create("STATION")
    for key, value in (station_info or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            fits = isinstance(value, int) and -(2**15) <= value < 2**15
            _add_param(info, key.upper(), key, np.array([value], dtype=int if fits else np.float32))
        else:
            _add_param(info, key.upper(), key, "" if value is None else str(value))

    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def write_trial_c3d(store: Store, trial_id: int, out: str | Path, *, include_deleted: bool = False) -> None:
    trial, t_s, loads, _invalid, cal = trial_loads(store, trial_id, include_deleted=include_deleted)
    data = build_c3d(
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
        Path(out).write_bytes(data)
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc}", hint="Check the path and the free disk space.") from None
