"""Coloured marker detection: colour segmentation and blob centroids (pure, no I/O).

The station tracks four adhesive markers in the camera image, each of its own colour
(see :data:`DEFAULT_MARKERS`): the left and right anterior superior iliac spine (ASIS,
the camera faces the athlete), the knee centre and the ankle of the stance leg.

Detection per frame, built for speed (>= 120 frames/s at 640x480 on a desktop core):

1. *Coarse pass* on a frame downscaled by striding (``downscale``): pixels with a
   strong chroma (max - min channel) are candidates; only those few are converted to
   hue and classified to the nearest marker hue. Connected components
   (:func:`scipy.ndimage.label`) of each class are found in that class's bounding box
   and the largest one is kept, so a stray pixel of the same colour does not win.
2. *Fine pass* at full resolution in a small window around the coarse blob: the
   centroid is the chroma-weighted mean of the marker's pixels (sub-pixel), and the
   blob's area is counted.

A marker that is not found gives NaN. A marker that is partly hidden is found with a
smaller area and a shifted centroid; :func:`gate_partial_markers` turns those frames
into gaps (NaN) by comparing each area with the marker's median area over the trial,
so a half-hidden marker yields no angle rather than a wrong one.

Hue follows the usual hexcone model (Smith AR. Color gamut transform pairs.
SIGGRAPH 1978; 12(3):12-19): H = 60 * ((G - B)/C mod 6 | (B - R)/C + 2 | (R - G)/C + 4)
for max = R | G | B, with chroma C = max - min.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from station.core.markers import DEFAULT_MARKERS, MarkerSpec


@dataclass(frozen=True)
class FrameMarkers:
    """Markers found in one frame.

    ``positions_px``: (M, 2) image coordinates (u to the right, v down; pixel centres
    at integer coordinates), NaN where a marker was not found. ``areas_px``: (M,) blob
    areas at full resolution, 0 where not found.
    """

    positions_px: np.ndarray
    areas_px: np.ndarray


def _hue_deg(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue (deg), chroma and max of (N, 3) RGB values (Smith 1978 hexcone)."""
    px = rgb.astype(np.float32)
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    mx = px.max(axis=1)
    mn = px.min(axis=1)
    c = np.maximum(mx - mn, 1e-6)
    h = np.where(
        mx == r,
        np.mod((g - b) / c, 6.0),
        np.where(mx == g, (b - r) / c + 2.0, (r - g) / c + 4.0),
    )
    return h * 60.0, mx - mn, mx


def _classify(
    rgb: np.ndarray, hues: np.ndarray, *, hue_tol_deg: float, min_saturation: float, min_value: float
) -> np.ndarray:
    """Marker index per pixel of (N, 3) RGB, -1 where the pixel is no marker colour."""
    h, c, mx = _hue_deg(rgb)
    d = np.abs((h[:, None] - hues[None, :] + 180.0) % 360.0 - 180.0)
    k = d.argmin(axis=1)
    ok = (d[np.arange(len(k)), k] <= hue_tol_deg) & (c >= min_saturation * mx) & (mx >= min_value)
    return np.where(ok, k, -1)


def detect_markers(
    image: np.ndarray,
    /,
    *,
    markers: Sequence[MarkerSpec] = DEFAULT_MARKERS,
    downscale: int = 2,
    min_chroma: int = 80,
    min_saturation: float = 0.45,
    min_value: float = 70.0,
    hue_tol_deg: float = 28.0,
    min_area_px: int = 4,
) -> FrameMarkers:
    """Find the coloured markers in one RGB frame.

    Parameters
    ----------
    image
        (H, W, 3) uint8 RGB frame.
    markers
        Marker colours; the output has one row per marker, in this order.
    downscale
        Stride of the coarse pass (2 turns 640x480 into 320x240).
    min_chroma, min_saturation, min_value
        A pixel is a marker candidate when max - min >= ``min_chroma`` (0-255) and
        (max - min) / max >= ``min_saturation`` and max >= ``min_value``.
    hue_tol_deg
        Largest hue distance from a marker's hue.
    min_area_px
        Smallest blob (full-resolution pixels) accepted as a marker.

    Returns
    -------
    FrameMarkers
        Sub-pixel centroids (NaN when not found) and blob areas.

    Notes
    -----
    Hue: Smith AR (1978) hexcone model; blobs: 8-connected components.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
    n_m = len(markers)
    hues = np.array([m.hue_deg for m in markers], dtype=np.float32)
    positions = np.full((n_m, 2), np.nan)
    areas = np.zeros(n_m)
    ds = max(1, int(downscale))
    small = image[::ds, ::ds]
    # Channel-wise maximum/minimum: much faster than a reduction over a length-3 axis.
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    chroma = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)  # uint8, max >= min
    rows_all, cols_all = np.nonzero(chroma >= min_chroma)
    if rows_all.size == 0:
        return FrameMarkers(positions, areas)
    cls = _classify(
        small[rows_all, cols_all],
        hues,
        hue_tol_deg=hue_tol_deg,
        min_saturation=min_saturation,
        min_value=min_value,
    )
    structure = np.ones((3, 3), dtype=bool)
    h_img, w_img = image.shape[:2]
    for k in range(n_m):
        sel = cls == k
        if not sel.any():
            continue
        rows, cols = rows_all[sel], cols_all[sel]
        r0, c0 = rows.min(), cols.min()
        mask = np.zeros((rows.max() - r0 + 1, cols.max() - c0 + 1), dtype=bool)
        mask[rows - r0, cols - c0] = True
        labels, n = ndimage.label(mask, structure=structure)
        if n > 1:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            best = int(sizes.argmax())
        else:
            best = 1
        br, bc = np.nonzero(labels == best)
        # Fine pass: a full-resolution window around the coarse blob, one stride wider.
        top = max(0, (int(br.min()) + r0 - 1) * ds)
        bottom = min(h_img, (int(br.max()) + r0 + 2) * ds)
        left = max(0, (int(bc.min()) + c0 - 1) * ds)
        right = min(w_img, (int(bc.max()) + c0 + 2) * ds)
        win = image[top:bottom, left:right]
        # Only this marker's hue: with hues >= 2 tolerances apart, a pixel within the
        # tolerance of hue k is nearest to k anyway.
        fine = _classify(
            win.reshape(-1, 3),
            hues[k : k + 1],
            hue_tol_deg=hue_tol_deg,
            min_saturation=min_saturation,
            min_value=min_value,
        ).reshape(win.shape[:2]) == 0
        area = int(fine.sum())
        if area < min_area_px:
            continue
        wr, wg, wb = win[..., 0], win[..., 1], win[..., 2]
        weight = (np.maximum(np.maximum(wr, wg), wb) - np.minimum(np.minimum(wr, wg), wb)) * fine
        w_cols = weight.sum(axis=0, dtype=np.float64)  # chroma-weighted centroid via marginals
        w_rows = weight.sum(axis=1, dtype=np.float64)
        total = float(w_cols.sum())
        positions[k] = (
            float(w_cols @ np.arange(left, right)) / total,
            float(w_rows @ np.arange(top, bottom)) / total,
        )
        areas[k] = area
    return FrameMarkers(positions, areas)


def track_markers(
    images: Iterable[np.ndarray],
    /,
    *,
    markers: Sequence[MarkerSpec] = DEFAULT_MARKERS,
    downscale: int = 2,
    min_area_fraction: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """Detect markers in a sequence of frames and gap the partly hidden ones.

    Returns
    -------
    positions_px : (T, M, 2) array, NaN for gaps
    areas_px : (T, M) array of blob areas (before gating)
    """
    pos: list[np.ndarray] = []
    area: list[np.ndarray] = []
    for img in images:
        fm = detect_markers(img, markers=markers, downscale=downscale)
        pos.append(fm.positions_px)
        area.append(fm.areas_px)
    if not pos:
        return np.zeros((0, len(markers), 2)), np.zeros((0, len(markers)))
    positions = np.stack(pos)
    areas = np.stack(area)
    return gate_partial_markers(positions, areas, min_area_fraction=min_area_fraction), areas


def gate_partial_markers(
    positions_px: np.ndarray, areas_px: np.ndarray, /, *, min_area_fraction: float = 0.8
) -> np.ndarray:
    """Turn frames where a marker's blob is clearly smaller than usual into gaps.

    A marker partly covered (by a hand, clothing) keeps only part of its blob and its
    centroid moves towards the visible part; an angle computed from it would be wrong
    without warning. Its area, compared with the marker's median area over the frames
    where it was seen, tells: below ``min_area_fraction`` of the median the position
    becomes NaN.

    Parameters
    ----------
    positions_px
        (T, M, 2) marker positions.
    areas_px
        (T, M) blob areas, 0 where not found.
    min_area_fraction
        Fraction of the median area below which a detection is dropped.

    Returns
    -------
    (T, M, 2) positions with NaN for dropped detections (a copy).
    """
    out = np.array(positions_px, dtype=float, copy=True)
    a = np.asarray(areas_px, dtype=float)
    seen = a > 0
    for m in range(a.shape[1]):
        if not seen[:, m].any():
            continue
        typical = float(np.median(a[seen[:, m], m]))
        out[a[:, m] < min_area_fraction * typical, m, :] = np.nan
    return out
