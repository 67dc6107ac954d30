"""Marker detection on images with markers drawn at known sub-pixel positions."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.markers import detect_markers, gate_partial_markers
from station.core.markers import DEFAULT_MARKERS


def _scene(centres: dict[str, tuple[float, float]], *, radius: float = 6.3, seed: int = 0) -> np.ndarray:
    """Grey background with noise and anti-aliased discs in the markers' colours."""
    rng = np.random.default_rng(seed)
    img = np.full((480, 640, 3), 150.0)
    vv, uu = np.mgrid[0:480, 0:640]
    for spec in DEFAULT_MARKERS:
        if spec.name in centres:
            cu, cv = centres[spec.name]
            cover = np.clip(radius + 0.5 - np.hypot(uu - cu, vv - cv), 0, 1)[..., None]
            img = img * (1 - cover) + np.array(spec.rgb) * cover
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


TRUE = {"pelvis_left": (401.37, 120.81), "pelvis_right": (300.62, 131.24), "knee": (352.9, 300.45), "ankle": (340.18, 440.7)}


def test_centroids_are_subpixel_accurate() -> None:
    fm = detect_markers(_scene(TRUE))
    for k, spec in enumerate(DEFAULT_MARKERS):
        err = np.hypot(*(fm.positions_px[k] - np.array(TRUE[spec.name])))
        assert err < 0.15, f"{spec.name}: {err:.3f} px"
        assert 100 < fm.areas_px[k] < 160  # pi * 6.3^2 = 125


def test_missing_marker_is_nan_and_others_still_found() -> None:
    centres = {k: v for k, v in TRUE.items() if k != "knee"}
    fm = detect_markers(_scene(centres))
    assert np.isnan(fm.positions_px[2]).all() and fm.areas_px[2] == 0
    assert np.isfinite(fm.positions_px[[0, 1, 3]]).all()


def test_largest_blob_wins_over_a_stray_speck() -> None:
    img = _scene(TRUE)
    img[20:22, 600:602] = DEFAULT_MARKERS[2].rgb  # a yellow speck far from the knee
    fm = detect_markers(img)
    assert np.hypot(*(fm.positions_px[2] - np.array(TRUE["knee"]))) < 0.15


def test_skin_and_grey_clothing_are_not_markers() -> None:
    img = np.full((480, 640, 3), (205, 160, 135), np.uint8)  # skin
    img[:, 320:] = (45, 50, 72)  # dark shorts
    fm = detect_markers(img)
    assert np.isnan(fm.positions_px).all()


def test_rejects_a_non_rgb_image() -> None:
    with pytest.raises(ValueError, match="RGB"):
        detect_markers(np.zeros((480, 640), np.uint8))


def test_gate_turns_small_blobs_into_gaps() -> None:
    pos = np.ones((5, 2, 2))
    areas = np.array([[120, 50], [118, 52], [60, 49], [121, 0], [119, 51]], float)
    out = gate_partial_markers(pos, areas, min_area_fraction=0.8)
    assert np.isnan(out[2, 0]).all()  # half its usual area
    assert np.isfinite(out[[0, 1, 3, 4], 0]).all()
    assert np.isfinite(out[[0, 1, 2, 4], 1]).all()  # 49 of 50.5 is fine
    assert np.array_equal(pos, np.ones((5, 2, 2)))  # input untouched


def test_marker_hues_are_two_tolerances_apart() -> None:
    # detect_markers' fine pass relies on it: a pixel near one hue is near no other.
    hues = [m.hue_deg for m in DEFAULT_MARKERS]
    for i in range(len(hues)):
        for j in range(i + 1, len(hues)):
            d = abs((hues[i] - hues[j] + 180) % 360 - 180)
            assert d >= 2 * 28.0
