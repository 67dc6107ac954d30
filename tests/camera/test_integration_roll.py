"""The camera in the trial, end to end on a running station (simulated plates and a simulated
camera mounted with a known roll, real recorder, real SQLite, the HTTP API):

- before the view calibration the roll shows as a pelvic-drop bias;
- ``POST /api/v1/camera/roll`` with the level bar in view measures and stores the roll;
- after it, each squat's peak pelvic drop matches the camera's truth within 2 degrees, and
  the stability score weighs the angles (the force-only score stays beside it);
- the trial's video is served with range requests, hidden by a soft delete and erased with
  its timestamps by the purge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hardware.sim import SimLoadCellSource
from hardware.sim.camera import SimCamera, SquatMotion
from station.core.config import Settings
from station.runtime import Station
from station.storage import Store

#: The camera is mounted rolled by this much (clockwise on screen).
ROLL_DEG = 5.0
LEG = "left"


@dataclass
class Rolled:
    station: Station
    camera: SimCamera
    client: TestClient
    admin_h: dict[str, str]
    coach_h: dict[str, str]
    settings: Settings
    roll_before: dict[str, Any]
    calibration: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    truth_before: dict[str, np.ndarray]
    truth_after: dict[str, np.ndarray]


def _record_squats(st: Station, client: TestClient, h: dict[str, str], athlete_id: int, camera: SimCamera) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    camera.truth_log.clear()  # the truth of this trial's frames only
    body = {"athlete_id": athlete_id, "protocol": "single_leg_squat", "leg": LEG, "options": {"reps": 2}}
    r = client.post("/api/v1/recording/start", json=body, headers=h)
    assert r.status_code in (200, 201, 202), r.text
    assert st.recorder is not None
    status = st.recorder.wait(120)
    assert status["state"] == "saved", status
    trial = client.get(f"/api/v1/trials/{status['trial_id']}", headers=h).json()
    return trial, camera.truth_arrays()


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rolled]:
    data = tmp_path_factory.mktemp("rolled") / "data"
    data.mkdir()
    settings = Settings(data_dir=data, hardware="sim", camera="sim", sim_seed=5, loopback_without_token=False)
    source = SimLoadCellSource(seed=5, rate_hz=80.0, paced=True, body_mass_kg=70.0)
    # The plates calibrated with the simulator's true gains, so forces are physics.
    store = Store(settings.db_path)
    store.save_calibration(kind="calibration", data=source.cells.true_calibration(source.geometry).to_dict(),
                           created_by="test", activate=True)
    store.close()
    camera = SimCamera(SquatMotion(), width=320, height=240, fps=30, paced=True, occlusions_per_s=0.0,
                       roll_deg=ROLL_DEG, seed=5)
    st = Station(settings, source=source, camera=camera)
    st.start()
    try:
        assert st.store is not None
        admin, _ = st.store.create_token(name="head-admin", role="admin")
        coach, _ = st.store.create_token(name="tablet-coach", role="coach")
        admin_h, coach_h = {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {coach}"}
        with TestClient(create_app(settings, station=st), raise_server_exceptions=False) as client:
            athlete = client.post("/api/v1/athletes", json={"name": "Tilted View", "body_mass_kg": 70.0},
                                  headers=coach_h).json()
            roll_before = client.get("/api/v1/camera/roll", headers=admin_h).json()
            before, truth_before = _record_squats(st, client, coach_h, athlete["id"], camera)
            # The operator holds the levelled bar with the two pelvis-colour markers in view.
            camera.scene = "level_bar"
            r = client.post("/api/v1/camera/roll", json={"reference": "level", "frames": 15}, headers=admin_h)
            assert r.status_code == 200, r.text
            calibration = r.json()
            after, truth_after = _record_squats(st, client, coach_h, athlete["id"], camera)
            yield Rolled(st, camera, client, admin_h, coach_h, settings, roll_before, calibration,
                         before, after, truth_before, truth_after)
    finally:
        st.stop()


def _peak_errors(trial: dict[str, Any], truth: dict[str, np.ndarray], key: str, truth_key: str, t0_ns: int) -> list[float]:
    """Measured minus true peak per repetition (truth: the camera's per-frame true angle)."""
    t_video = (truth["t_ns"] - t0_ns) / 1e9
    errors = []
    for rep in trial["metrics"]["squat"]["reps"]:
        inside = (t_video >= rep["start_s"]) & (t_video <= rep["end_s"])
        video = trial["video"] or {}
        assert inside.any() and rep[key] is not None, (
            f"rep {rep['start_s']:.2f}-{rep['end_s']:.2f} s: {key}={rep[key]}, coverage {rep.get('video_coverage')}, "
            f"{int(inside.sum())} camera frames in it, video {video.get('n_frames')} frames, "
            f"camera frames {t_video.min():.2f}-{t_video.max():.2f} s, warnings {trial['metrics']['warnings']}"
        )
        errors.append(float(rep[key] - truth[truth_key][inside].max()))
    return errors


def _t0_ns(st: Station, trial: dict[str, Any]) -> int:
    assert st.store is not None
    return int(st.store.load_samples(trial["id"])[0][0])


def test_before_the_view_calibration_the_roll_biases_pelvic_drop(rolled: Rolled) -> None:
    assert rolled.roll_before["calibrated"] is False and rolled.roll_before["roll_deg"] == 0.0
    assert rolled.roll_before["camera"]["available"] is True
    trial = rolled.before
    assert len(trial["metrics"]["squat"]["reps"]) == 2 and trial["video"] is not None
    assert trial["metrics"]["squat"]["video"]["roll_deg"] == 0.0
    assert any("not calibrated (roll)" in w for w in trial["metrics"]["warnings"])
    errors = _peak_errors(trial, rolled.truth_before, "peak_pelvic_drop_deg", "pelvic_obliquity_deg",
                          _t0_ns(rolled.station, trial))
    # The tilt adds to or subtracts from the drop depending on the side: about ROLL_DEG either way.
    assert all(abs(abs(e) - ROLL_DEG) < 2.0 for e in errors), errors
    # The knee angle is an angle between two image lines: a roll does not change it.
    fppa = _peak_errors(trial, rolled.truth_before, "peak_fppa_deg", "knee_fppa_deg", _t0_ns(rolled.station, trial))
    assert all(abs(e) < 2.0 for e in fppa), fppa


def test_the_view_calibration_measures_and_stores_the_roll(rolled: Rolled) -> None:
    cal = rolled.calibration
    assert cal["calibrated"] is True and cal["reference"] == "level" and cal["n_frames"] >= 8
    assert cal["roll_deg"] == pytest.approx(ROLL_DEG, abs=0.3)
    assert cal["created_by"] == "head-admin"
    st = rolled.station
    assert st.store is not None
    active = st.store.active_calibration("camera_roll")
    assert active is not None and active["id"] == cal["id"] and active["data"]["roll_deg"] == cal["roll_deg"]
    assert any(a["action"] == "camera.roll" for a in st.store.list_audit(target=f"calibration {cal['id']}"))
    r = rolled.client.get("/api/v1/camera/roll", headers=rolled.admin_h)
    assert r.json()["id"] == cal["id"] and r.json()["roll_deg"] == cal["roll_deg"]
    # Admin only, reads too.
    assert rolled.client.get("/api/v1/camera/roll", headers=rolled.coach_h).status_code == 403
    assert rolled.client.post("/api/v1/camera/roll", json={}, headers=rolled.coach_h).status_code == 403
    bad = rolled.client.post("/api/v1/camera/roll", json={"reference": "diagonal"}, headers=rolled.admin_h)
    assert bad.status_code == 422


def test_after_the_view_calibration_peak_pelvic_drop_matches_truth(rolled: Rolled) -> None:
    trial = rolled.after
    squat = trial["metrics"]["squat"]
    assert len(squat["reps"]) == 2
    assert squat["video"]["roll_deg"] == pytest.approx(ROLL_DEG, abs=0.3)
    assert not any("not calibrated (roll)" in w for w in trial["metrics"]["warnings"])
    t0 = _t0_ns(rolled.station, trial)
    drops = _peak_errors(trial, rolled.truth_after, "peak_pelvic_drop_deg", "pelvic_obliquity_deg", t0)
    assert all(abs(e) <= 2.0 for e in drops), drops
    fppa = _peak_errors(trial, rolled.truth_after, "peak_fppa_deg", "knee_fppa_deg", t0)
    assert all(abs(e) <= 2.0 for e in fppa), fppa


def test_the_angles_join_the_stability_score(rolled: Rolled) -> None:
    from station.analysis.squat import stability_score

    squat = rolled.after["metrics"]["squat"]
    reps = squat["reps"]
    good = [r for r in reps if r["ml_rms_mm"] is not None]
    expected = stability_score(
        ml_rms_mm=float(np.mean([r["ml_rms_mm"] for r in good])),
        mean_velocity_mm_s=float(np.mean([r["mean_velocity_mm_s"] for r in good])),
        touchdowns=squat["touchdowns"],
        peak_pelvic_drop_deg=float(np.mean([r["peak_pelvic_drop_deg"] for r in reps])),
        peak_fppa_deg=float(np.mean([r["peak_fppa_deg"] for r in reps])),
    )
    assert squat["stability_score"] == pytest.approx(expected)
    # The force-only score and the raw angles stay beside it.
    assert squat["stability_score_force_only"] is not None
    assert squat["stability_score"] <= squat["stability_score_force_only"]
    assert squat["video"]["max_pelvic_drop_deg"] == pytest.approx(max(r["peak_pelvic_drop_deg"] for r in reps))
    assert squat["video"]["mean_peak_fppa_deg"] == pytest.approx(np.mean([r["peak_fppa_deg"] for r in reps]))
    # The simulated athlete's true peaks lie beyond the healthy values, so the score must drop.
    truth = rolled.truth_after
    if truth["knee_fppa_deg"].max() > 14.0 or truth["pelvic_obliquity_deg"].max() > 5.0:
        assert squat["stability_score"] < squat["stability_score_force_only"]


def test_the_recorded_video_is_served_with_range_requests(rolled: Rolled) -> None:
    trial = rolled.after
    path = Path(trial["video"]["path"])
    blob = path.read_bytes()
    url = f"/api/v1/trials/{trial['id']}/video"
    whole = rolled.client.get(url, headers=rolled.coach_h)
    assert whole.status_code == 200 and whole.content == blob
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    assert blob[4:8] == b"ftyp"
    part = rolled.client.get(url, headers={**rolled.coach_h, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == blob[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(blob)}"
    tail = rolled.client.get(url, headers={**rolled.coach_h, "Range": "bytes=-64"})
    assert tail.status_code == 206 and tail.content == blob[-64:]
    beyond = rolled.client.get(url, headers={**rolled.coach_h, "Range": f"bytes={len(blob)}-"})
    assert beyond.status_code == 416
    assert beyond.headers.get("content-range") == f"bytes */{len(blob)}"
    # The trial id is a number: a path in its place never reaches the file system.
    for bad in ("..%2F..%2Fstation.sqlite3", "0", "-1"):
        r = rolled.client.get(f"/api/v1/trials/{bad}/video", headers=rolled.coach_h)
        assert r.status_code in (404, 422), (bad, r.status_code)
        assert b"SQLite" not in r.content


def test_recompute_keeps_the_angles_and_applies_the_roll_now_active(rolled: Rolled) -> None:
    """Re-analysing a trial recorded before the view calibration measures its video again,
    now with the roll: the bias is gone and the angles stay in the metrics."""
    trial = rolled.before
    r = rolled.client.post(f"/api/v1/trials/{trial['id']}/recompute", json={}, headers=rolled.coach_h)
    assert r.status_code == 200, r.text
    again = rolled.client.get(f"/api/v1/trials/{trial['id']}", headers=rolled.coach_h).json()
    squat = again["metrics"]["squat"]
    assert squat["video"]["roll_deg"] == pytest.approx(rolled.calibration["roll_deg"])
    drops = _peak_errors(again, rolled.truth_before, "peak_pelvic_drop_deg", "pelvic_obliquity_deg",
                         _t0_ns(rolled.station, trial))
    assert all(abs(e) <= 2.0 for e in drops), drops
    # the score weighs the re-measured angles, the force-only score stays beside it
    from station.analysis.squat import stability_score_from_reps

    assert squat["stability_score"] == pytest.approx(
        stability_score_from_reps(squat["reps"], touchdowns=squat["touchdowns"])
    )
    assert squat["stability_score"] <= squat["stability_score_force_only"]


def test_video_goes_with_its_trial(rolled: Rolled) -> None:
    """Soft delete hides the video; the purge erases the MP4 and its timestamps."""
    st = rolled.station
    assert st.store is not None
    trial = rolled.before
    video = Path(trial["video"]["path"])
    stamps = Path(trial["video"]["timestamps_path"])
    assert video.is_file() and stamps.is_file()
    url = f"/api/v1/trials/{trial['id']}/video"
    assert rolled.client.get(url, headers={**rolled.coach_h, "Range": "bytes=0-9"}).status_code == 206
    assert rolled.client.delete(f"/api/v1/trials/{trial['id']}", headers=rolled.admin_h).status_code in (200, 204)
    hidden = rolled.client.get(url, headers=rolled.coach_h)
    assert hidden.status_code == 404
    assert video.is_file() and stamps.is_file()  # an admin may still undo the delete
    result = st.store.purge_deleted(older_than_days=0, actor="test")
    assert result["trials"] == 1 and result["video_files"] == 2
    assert not video.exists() and not stamps.exists()
    assert st.store.get_video(trial["id"]) is None
    # The other trial keeps its video.
    assert Path(rolled.after["video"]["path"]).is_file()
    assert rolled.client.get(f"/api/v1/trials/{rolled.after['id']}/video", headers=rolled.coach_h).status_code == 200
