"""Read two force platforms of a C3D file as the station's left and right plates.

Uses ezc3d (Michaud & Begon 2021, J Open Source Softw 6:2911; optional, the ``ezc3d``
extra: it has no Raspberry Pi wheel), which builds platform
force, moment and CoP for platform types 1-4 from the analog channels and the
FORCE_PLATFORM parameters. Labs store either the force on the foot (+Fz up) or the
force on the plate (Fz negative, plate z down); the sign is normalised here so that
the vertical force under a foot is positive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from station.core.errors import InputError
from station.core.physics import CONTACT_THRESHOLD_N

_MM_PER = {"mm": 1.0, "m": 1000.0, "cm": 10.0}


def read_c3d_plates(
    path: str | Path, *, plates: tuple[int, int] = (1, 2)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertical force and CoP of two platforms of a C3D file.

    Parameters
    ----------
    path : the .c3d file.
    plates : 1-based platform numbers (as Vicon/C3D number them) mapped to
        (left, right).

    Returns
    -------
    t_s : (N,) analog sample times, s, on the file's time axis
        (first analog frame / analog rate).
    fz_n : (N, 2) vertical force on the feet [left, right], N (positive).
    cop_mm : (N, 2, 2) CoP [plate, (x, y)] in the lab (C3D global) frame, mm; NaN
        where the platform carries less than 20 N.

    Raises
    ------
    InputError
        The file cannot be read, has no force platforms, or a platform number does
        not exist.
    """
    try:
        import ezc3d  # heavy C++ extension: load only when a C3D file is read
    except ImportError:
        # Optional: no aarch64 wheel, so a Raspberry Pi install leaves it out.
        raise InputError(
            "reading force platforms from a C3D file needs ezc3d, which is not installed",
            hint="Install it with: pip install 'stance-station[ezc3d]' (on a PC; it has no "
            "Raspberry Pi wheel), or analyse the station's own raw CSV export instead.",
        ) from None
    p = Path(path)
    if not p.is_file():
        raise InputError(f"C3D file {p} does not exist")
    try:
        c = ezc3d.c3d(str(p), extract_forceplat_data=True)
    except Exception as exc:  # ezc3d raises plain RuntimeError/IndexError for bad files
        raise InputError(f"{p} is not a readable C3D file: {exc}", hint="Export the trial again as C3D.") from None
    platforms = c["data"].get("platform", [])
    if not platforms:
        raise InputError(f"{p} has no force platforms (FORCE_PLATFORM parameters missing)")
    if len(plates) != 2 or plates[0] == plates[1]:
        raise InputError(f"give two different platform numbers, got {plates}", hint="Example: --plates 2,4")
    for n in plates:
        if not 1 <= n <= len(platforms):
            raise InputError(
                f"platform {n} does not exist; the file has platforms 1-{len(platforms)}",
                hint="Use --plates L,R with the numbers of the plates under the left and right foot.",
            )
    rate = float(c["header"]["analogs"]["frame_rate"])
    first = int(c["header"]["analogs"]["first_frame"])
    n = platforms[plates[0] - 1]["force"].shape[1]
    t = (first + np.arange(n)) / rate
    fz = np.empty((n, 2))
    cop = np.full((n, 2, 2), np.nan)
    for k, num in enumerate(plates):
        pf = platforms[num - 1]
        scale = _MM_PER.get(str(pf.get("unit_position", "mm")).strip().lower())
        if scale is None:
            raise InputError(f"platform {num}: unknown position unit {pf.get('unit_position')!r}")
        f = np.nan_to_num(np.asarray(pf["force"][2], dtype=float))
        # force on the plate (negative under load) -> force on the foot
        if f.sum() < 0:
            f = -f
        fz[:, k] = f
        xy = np.asarray(pf["center_of_pressure"][:2], dtype=float).T * scale
        ok = f >= CONTACT_THRESHOLD_N
        cop[ok, k] = xy[ok]
    return t, fz, cop
