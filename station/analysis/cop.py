"""Vertical force and centre of pressure (CoP) per plate and for both plates together.

CoP of one plate: CoP = sum(F_i p_i) / sum(F_i) over its four cells (statics of a rigid
plate on point supports). Combined CoP: the force-weighted mean of the plate CoPs,
which is the same as the moment sum over all eight cells divided by the total force
(Winter 1995, *Human balance and posture control during standing and walking*,
Gait Posture 3:193, two-plate CoP_net).
"""

from __future__ import annotations

import numpy as np

from station.core.errors import InputError
from station.core.geometry import CHANNELS, PLATES, Geometry, cop_from_cells
from station.core.physics import CONTACT_THRESHOLD_N


def plate_force_and_cop(
    loads_n: np.ndarray, *, geometry: Geometry, min_force_n: float = CONTACT_THRESHOLD_N
) -> tuple[np.ndarray, np.ndarray]:
    """Per-plate vertical force and CoP from the eight corner loads.

    Parameters
    ----------
    loads_n : (N, 8) vertical load per cell, newtons, in CHANNELS order.
    geometry : cell positions of both plates.
    min_force_n : CoP is NaN where the plate carries less than this (20 N).

    Returns
    -------
    fz_n : (N, 2) vertical force [left, right], newtons.
    cop_mm : (N, 2, 2) CoP [plate, (x, y)] in the lab frame, mm; NaN where unloaded.

    References
    ----------
    CoP = sum(F_i p_i) / sum(F_i), see :func:`station.core.geometry.cop_from_cells`.
    """
    loads = np.asarray(loads_n, dtype=float)
    fz = np.empty((len(loads), 2))
    cop = np.empty((len(loads), 2, 2))
    for k, plate in enumerate(PLATES):
        f, c = cop_from_cells(loads[:, 4 * k : 4 * k + 4], geometry.plates[plate].cell_positions_mm())
        c[f < min_force_n] = np.nan
        fz[:, k] = f
        cop[:, k] = c
    return fz, cop


def combined_cop_from_cells(
    loads_n: np.ndarray, *, geometry: Geometry, min_force_n: float = CONTACT_THRESHOLD_N
) -> np.ndarray:
    """Combined CoP of both plates from all eight cells: sum(F_i p_i) / sum(F_i).

    Parameters
    ----------
    loads_n : (N, 8) cell loads, newtons, CHANNELS order.
    geometry : cell positions.
    min_force_n : NaN where the total force is below this.

    Returns
    -------
    (N, 2) combined CoP, mm, lab frame.

    Notes
    -----
    Using every cell (instead of dropping a plate below 20 N) keeps the combined CoP
    continuous when a foot touches down or lifts off; an unloaded plate only adds
    its noise moment, a fraction of a millimetre.
    """
    total, cop = cop_from_cells(np.asarray(loads_n, dtype=float), geometry.cell_positions_mm())
    cop[total < min_force_n] = np.nan
    return cop


def combined_cop(
    fz_n: np.ndarray, cop_mm: np.ndarray, *, min_force_n: float = CONTACT_THRESHOLD_N
) -> np.ndarray:
    """Force-weighted mean of the plate CoPs.

    Parameters
    ----------
    fz_n : (N, 2) vertical force per plate, newtons.
    cop_mm : (N, 2, 2) plate CoPs, mm; NaN where a plate is unloaded.
    min_force_n : NaN where the total weight of the plates used is below this.

    Returns
    -------
    (N, 2) combined CoP = sum_p(Fz_p CoP_p) / sum_p(Fz_p) over plates with a CoP.
    """
    fz = np.asarray(fz_n, dtype=float)
    cop = np.asarray(cop_mm, dtype=float)
    has = np.isfinite(cop).all(axis=2)
    w = np.where(has, fz, 0.0)
    moment = np.einsum("np,npk->nk", w, np.where(has[:, :, None], cop, 0.0))
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = moment / total[:, None]
    out[total < min_force_n] = np.nan
    return out


def forces_and_cops(loads_n: np.ndarray, *, geometry: Geometry, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-plate vertical force and the three CoPs of ``n_samples`` frames of cell loads.

    Parameters
    ----------
    loads_n : (n_samples, 8) cell loads, newtons, CHANNELS order.
    geometry : cell positions.
    n_samples : the number of frames expected (the length of their time axis).

    Returns
    -------
    fz_n : (N, 2) vertical force [left, right], newtons.
    cop_mm : (N, 3, 2) CoP [left, right, combined][x, y], mm, lab frame; NaN where the
        plate (both plates, for the combined CoP) carries less than the contact
        threshold. The combined CoP is :func:`combined_cop_from_cells`.

    Raises
    ------
    InputError
        When ``loads_n`` is not (n_samples, 8).
    """
    loads = np.asarray(loads_n, dtype=float)
    if loads.shape != (n_samples, len(CHANNELS)):
        raise InputError(f"loads_n must have shape ({n_samples}, {len(CHANNELS)}), one row per sample; got {loads.shape}")
    fz, plates = plate_force_and_cop(loads, geometry=geometry)
    both = combined_cop_from_cells(loads, geometry=geometry)[:, None, :]
    return fz, np.concatenate([plates, both], axis=1)
