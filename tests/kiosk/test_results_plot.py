"""The results page draws the trial's stored analysis: the numbers it shows and the 95 %
ellipse it draws (read back from the SVG) are the stored metrics of that trial, for a
trial under the default geometry and for one recorded under another geometry while a
third one is in use when the page is opened.

Real app on the simulator (uvicorn, SQLite, recorder), Debian's Chromium via Playwright."""

from __future__ import annotations

import re
from typing import Any

import httpx
import numpy as np
import pytest

from station.core.geometry import Geometry
from tests.kiosk.conftest import Kiosk, shot

#: A right plate far from where the standard geometry has it (x 30..270 mm): a CoP drawn
#: there can only have been computed with this geometry.
MOVED_RIGHT_CENTRE_MM = (420.0, 60.0)


def record(kiosk: Kiosk, protocol: str, leg: str | None, name: str) -> dict[str, Any]:
    """Record a trial through the HTTP API (loopback: the kiosk's own rights) and return it."""
    store = kiosk.station.store
    athlete = store.create_athlete(name=name, body_mass_kg=70.0)
    body: dict[str, Any] = {"athlete_id": athlete["id"], "protocol": protocol,
                            "options": {"duration_s": 7.0, "video": False}}
    if leg:
        body["leg"] = leg
    r = httpx.post(f"{kiosk.url}/api/v1/recording/start", json=body, timeout=10)
    assert r.status_code == 202, r.text
    status = kiosk.station.recorder.wait(60)
    assert status["state"] == "saved", status["message"]
    trial = store.get_trial(status["trial_id"])
    assert trial["metrics"]["sway"] is not None, trial["metrics"]["warnings"]
    return trial  # type: ignore[no-any-return]


def activate_geometry(kiosk: Kiosk, geometry: dict[str, Any]) -> int:
    """Store a calibration with the simulator's true gains and offsets and ``geometry``, and
    make it active (as an admin would, over loopback)."""
    base = kiosk.sim.cells.true_calibration(kiosk.station.geometry)
    cal_id = kiosk.station.store.save_calibration(
        kind="calibration", data={**base.to_dict(), "geometry": geometry, "is_default": False}, created_by="test")
    r = httpx.post(f"{kiosk.url}/api/v1/calibration/{cal_id}/activate", timeout=10)
    assert r.status_code == 200, r.text
    assert kiosk.station.acquisition.calibration.id == cal_id
    return int(cal_id)


def open_results(page: Any, trial_id: int) -> None:
    page.evaluate(f"location.hash = '#results/{trial_id}'")
    page.wait_for_function(f"window.__kioskResult && window.__kioskResult.trialId === {trial_id}", timeout=30_000)
    page.wait_for_selector("[data-view=results][data-ready='1']", timeout=30_000)


def shown_number(text: str) -> tuple[float, int]:
    """A number as the English page shows it ("1,107", "4.3") and its decimals."""
    s = text.strip().replace(",", "")
    return float(s), len(s.split(".")[1]) if "." in s else 0


def drawn_ellipse(page: Any) -> np.ndarray:
    """The points (mm) of the ellipse polygon drawn in the stabilogram."""
    points = page.get_attribute("#stabilogram #ellipse95", "points")
    return np.array([[float(v) for v in p.split(",")] for p in points.split()])


def drawn_path(page: Any) -> np.ndarray:
    """The points (mm) of the CoP path drawn in the stabilogram."""
    d = page.get_attribute("#stabilogram #stabilogram-path", "d")
    return np.array([[float(a), float(b)] for a, b in re.findall(r"[ML](-?[\d.e+-]+) (-?[\d.e+-]+)", d)])


def polygon_area_mm2(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def check_page_shows_stored_metrics(page: Any, trial: dict[str, Any]) -> None:
    m = trial["metrics"]
    # every key number shown is the stored metric, to the decimals shown
    shown = page.eval_on_selector_all(
        "#key-numbers [data-metric]", "els => els.map(e => [e.dataset.metric, e.querySelector('.v').textContent])")
    assert "sway.ellipse95_area_mm2" in dict(shown)
    for path, text in shown:
        if path == "squat.reps":
            assert int(text) == len(m["squat"]["reps"])
            continue
        stored: Any = m
        for key in path.split("."):
            stored = stored[key]
        value, decimals = shown_number(text)
        assert abs(value - stored) <= 0.5 * 10 ** -decimals + 1e-9, (path, text, stored)
    area = m["sway"]["ellipse95_area_mm2"]
    # the ellipse's caption is the same number as the key number "Sway area" (they differed)
    caption = page.inner_text("#ellipse-info")
    caption_area, _ = shown_number(re.search(r"([\d,.]+)\s*mm²", caption).group(1))  # type: ignore[union-attr]
    assert caption_area == pytest.approx(area, abs=0.5)
    # the polygon drawn encloses the stored area (less the polygon's n/(2 pi) sin(2 pi/n))
    poly = drawn_ellipse(page)
    n = len(poly)
    assert n >= 90
    assert polygon_area_mm2(poly) == pytest.approx(area * n / (2 * np.pi) * np.sin(2 * np.pi / n), rel=5e-4)
    assert float(page.get_attribute("#stabilogram #ellipse95", "data-area-mm2")) == pytest.approx(area, rel=1e-9)
    # ... and is on screen, inside the stabilogram
    box = page.locator("#stabilogram #ellipse95").bounding_box()
    svg = page.locator("#stabilogram").bounding_box()
    assert box and svg and box["width"] > 20 and box["height"] > 5
    assert svg["x"] - 1 <= box["x"] and box["x"] + box["width"] <= svg["x"] + svg["width"] + 1
    # the path drawn is the sway CoP of the analysis window (times from the plot series)
    res = page.evaluate("window.__kioskResult")
    assert res["samples"] == m["recording"]["frames"] and res["points"] <= 2000
    assert len(drawn_path(page)) > 50


def test_results_show_the_stored_metrics_under_the_default_geometry(page: Any, kiosk: Kiosk) -> None:
    trial = record(kiosk, "single_leg_stance", "left", "Una Default")
    assert trial["calibration_id"] is None
    open_results(page, trial["id"])
    check_page_shows_stored_metrics(page, trial)
    # the CoP drawn is on the left plate of the standard geometry
    left = Geometry().plates["left"]
    xs = [left.center_mm[0] + c[0] for c in left.cells_mm.values()]
    path = drawn_path(page)
    assert (path[:, 0] > min(xs)).all() and (path[:, 0] < max(xs)).all()
    assert page.evaluate("window.__kioskResult.series") == "left"
    shot(page, "1280x800-results-stance")


def test_results_of_a_trial_recorded_under_another_geometry(page: Any, kiosk: Kiosk) -> None:
    """Recorded with the right plate moved far out; opened while yet another geometry (the
    standard one, in a new calibration) is in use: the page still draws the trial's own."""
    moved = Geometry().to_dict()
    moved["plates"]["right"]["center_mm"] = list(MOVED_RIGHT_CENTRE_MM)
    moved["plates"]["right"]["cells_mm"]["fl"] = [-150.0, 200.0]
    moved["plates"]["right"]["cells_mm"]["fr"] = [150.0, 200.0]
    moved_id = activate_geometry(kiosk, moved)
    try:
        trial = record(kiosk, "single_leg_stance", "right", "Otto Moved")
    finally:
        activate_geometry(kiosk, Geometry().to_dict())
    assert trial["calibration_id"] == moved_id
    assert not [w for w in trial["metrics"]["warnings"] if "not zeroed" in w or "not calibrated" in w]
    assert kiosk.station.acquisition.calibration.geometry == Geometry()  # not the trial's
    open_results(page, trial["id"])
    check_page_shows_stored_metrics(page, trial)
    # the CoP drawn is on the moved right plate, nowhere near the standard one
    right = Geometry.from_dict(moved).plates["right"]
    xs = [right.center_mm[0] + c[0] for c in right.cells_mm.values()]
    path = drawn_path(page)
    assert (path[:, 0] > min(xs)).all() and (path[:, 0] < max(xs)).all()
    assert path[:, 0].min() > 270.0  # the standard right plate ends there
    assert page.evaluate("window.__kioskResult.series") == "right"
    shot(page, "1280x800-results-moved-geometry")
