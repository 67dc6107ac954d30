"""Sessions through the HTTP API on a running simulated station whose athlete has a weak
left side: a both-legs single-leg stance and squat session (with video), its summary,
its PDF report read as a person would (pdftotext, pages rendered with pdftoppm)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hardware.sim import SimLoadCellSource
from hardware.sim.camera import SimCamera, SquatMotion
from station.core.config import Settings
from station.core.reference import BANDS
from station.runtime import Station
from station.testing.service import seed_calibration

ATHLETE = "Wendy Weakleft"
STATIC_I18N = Path(__file__).resolve().parents[2] / "api" / "static" / "i18n"


@dataclass
class Screen:
    station: Station
    client: TestClient
    h: dict[str, str]
    athlete: dict[str, Any]
    session: dict[str, Any]
    trials: dict[tuple[str, str], dict[str, Any]]


def _record(st: Station, client: TestClient, h: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/recording/start", json=body, headers=h)
    assert r.status_code == 202, r.text
    assert st.recorder is not None
    status = st.recorder.wait(120)
    assert status["state"] == "saved", status
    trial: dict[str, Any] = client.get(f"/api/v1/trials/{status['trial_id']}", headers=h).json()
    return trial


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screen]:
    data = tmp_path_factory.mktemp("screen") / "data"
    data.mkdir()
    seed_calibration(data)  # the true calibration of the simulator's seed 1: forces are physics
    st = Station(
        Settings(data_dir=data, hardware="sim", camera="sim", sim_seed=1, loopback_without_token=False),
        source=SimLoadCellSource(seed=1, rate_hz=80.0, paced=True, body_mass_kg=68.0),
        camera=SimCamera(SquatMotion(), width=320, height=240, fps=30, paced=True, occlusions_per_s=0.0, seed=1),
    )
    st.start()
    try:
        assert st.store is not None and st.director is not None
        st.director.weak_side = "left"
        coach, _ = st.store.create_token(name="tablet-coach", role="coach")
        h = {"Authorization": f"Bearer {coach}"}
        with TestClient(create_app(st.settings, station=st), raise_server_exceptions=False) as client:
            athlete = client.post("/api/v1/athletes", json={"name": ATHLETE, "body_mass_kg": 68.0}, headers=h).json()
            r = client.post("/api/v1/sessions", json={"athlete_id": athlete["id"], "kind": "hip_screen",
                                                      "notes": "weak left hip?"}, headers=h)
            assert r.status_code == 201, r.text
            session = r.json()
            trials: dict[tuple[str, str], dict[str, Any]] = {}
            for protocol, options in (("single_leg_stance", {"duration_s": 10.0}), ("single_leg_squat", {"reps": 3})):
                for leg in ("left", "right"):
                    body = {"athlete_id": athlete["id"], "protocol": protocol, "leg": leg, "options": options}
                    if protocol == "single_leg_stance":  # recorded into the session ...
                        trial = _record(st, client, h, {**body, "session_id": session["id"]})
                    else:  # ... or attached afterwards
                        trial = _record(st, client, h, body)
                        assert trial["session_id"] is None
                        r = client.post(f"/api/v1/sessions/{session['id']}/trials", json={"trial_id": trial["id"]},
                                        headers=h)
                        assert r.status_code == 200, r.text
                        trial = r.json()
                    assert trial["session_id"] == session["id"]
                    trials[(protocol, leg)] = trial
            yield Screen(st, client, h, athlete, session, trials)
    finally:
        st.stop()


def _rows(summary: dict[str, Any], protocol: str) -> dict[str, dict[str, Any]]:
    test = next(t for t in summary["tests"] if t["protocol"] == protocol)
    return {r["metric"]: r for r in test["rows"]}


def test_the_summary_marks_the_weak_left_side(screen: Screen) -> None:
    r = screen.client.get(f"/api/v1/sessions/{screen.session['id']}", headers=screen.h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [t["id"] for t in body["trials"]] == [t["id"] for t in screen.trials.values()]
    summary = body["summary"]
    stance, squat = _rows(summary, "single_leg_stance"), _rows(summary, "single_leg_squat")
    detail = {k: (v["left"], v["right"]) for k, v in {**stance, **squat}.items()}
    print("left, right:", {k: tuple(None if x is None else round(x, 1) for x in v) for k, v in detail.items()})
    # the simulated athlete sways 1.6 x more (RMS) on the left: about 2.6 x the ellipse area
    assert stance["sway_area_mm2"]["weaker"] == "left", detail
    assert stance["ml_range_mm"]["weaker"] == "left", detail
    assert squat["sway_area_mm2"]["weaker"] == "left", detail
    # and drops the pelvis 5 degrees more on the left, seen by the camera
    assert squat["peak_pelvic_drop_deg"]["weaker"] == "left", detail
    assert squat["peak_pelvic_drop_deg"]["difference"] > 2.8, detail  # beyond the 2-D measure's SDD
    assert {b["key"] for b in summary["bands"]} == {b.key for b in BANDS}
    for test in summary["tests"]:
        assert all(not t["badges"] and t["used"] for t in test["trials"]), test["trials"]


def test_list_per_athlete_and_refusals(screen: Screen) -> None:
    c, h = screen.client, screen.h
    page = c.get("/api/v1/sessions", params={"athlete_id": screen.athlete["id"]}, headers=h).json()
    assert page["total"] == 1 and page["items"][0]["n_trials"] == 4 and page["items"][0]["kind"] == "hip_screen"
    assert c.get(f"/api/v1/sessions/{screen.session['id']}").status_code == 401  # no token
    assert c.get(f"/api/v1/sessions/{screen.session['id']}/report.pdf").status_code == 401
    assert c.get("/api/v1/sessions/99999", headers=h).status_code == 404
    assert c.post("/api/v1/sessions", json={"athlete_id": 99999}, headers=h).status_code == 404
    assert c.post("/api/v1/sessions", json={"athlete_id": screen.athlete["id"], "kind": "Hip Screen"},
                  headers=h).status_code == 422
    other = c.post("/api/v1/sessions", json={"athlete_id": screen.athlete["id"]}, headers=h).json()
    first = next(iter(screen.trials.values()))
    r = c.post(f"/api/v1/sessions/{other['id']}/trials", json={"trial_id": first["id"]}, headers=h)
    assert r.status_code == 409 and "already part of session" in r.text
    # a recording into a session that does not exist, or is another athlete's, is refused before arming
    start = {"athlete_id": screen.athlete["id"], "protocol": "single_leg_stance", "leg": "left"}
    assert c.post("/api/v1/recording/start", json={**start, "session_id": 99999}, headers=h).status_code == 404
    stranger = c.post("/api/v1/athletes", json={"name": "Someone Else"}, headers=h).json()
    r = c.post("/api/v1/recording/start", json={**start, "athlete_id": stranger["id"],
                                                "session_id": screen.session["id"]}, headers=h)
    assert r.status_code == 409 and "athlete" in r.text
    assert c.get("/api/v1/recording/status", headers=h).json()["state"] in ("idle", "saved")
    assert c.get(f"/api/v1/sessions/{screen.session['id']}/report.pdf", params={"lang": "fr"},
                 headers=h).status_code == 422


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make debian-test-deps)")
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_report_reads_right(screen: Screen, lang: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    r = screen.client.get(f"/api/v1/sessions/{screen.session['id']}/report.pdf", params={"lang": lang},
                          headers=screen.h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    out = tmp_path_factory.mktemp(f"report-{lang}")
    pdf = out / "report.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert ATHLETE in text
    summary = screen.client.get(f"/api/v1/sessions/{screen.session['id']}", headers=screen.h).json()["summary"]
    squat = _rows(summary, "single_leg_squat")
    for leg in ("left", "right"):  # both legs' values, as printed (one decimal)
        assert f"{squat['peak_pelvic_drop_deg'][leg]:.1f}" in text
        assert f"{_rows(summary, 'single_leg_stance')['sway_area_mm2'][leg]:.1f}" in text
    flat = " ".join(text.split())
    # the weak left side's sway area is far below 90 % symmetry: the symmetry band is shown
    assert _rows(summary, "single_leg_stance")["sway_area_mm2"]["below_symmetry_target"] is True
    for source in ("Herrington 2014, The Knee 21:514", "Dingenen et al. 2018, Phys Ther Sport",
                   "Bramah et al. 2018, Am J Sports Med 46:3023", "Markström 2022, Sports Health"):
        assert source in flat, source
    labels = json.loads((STATIC_I18N / f"{lang}.json").read_text(encoding="utf-8"))
    for key in ("protocol.single_leg_squat", "protocol.single_leg_stance", "report.weaker", "report.methods",
                "summary.metric.peak_pelvic_drop_deg", "summary.metric.sway_area_mm2"):
        assert labels[key] in flat, (key, labels[key])
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "page")], check=True)
    pages = sorted(out.glob("page*.png"))
    # real pages: the first holds a table and a plot; none is blank
    assert pages and pages[0].stat().st_size > 5000 and all(p.stat().st_size > 1000 for p in pages)
    print(f"report pages ({lang}): {', '.join(str(p) for p in pages)}")
