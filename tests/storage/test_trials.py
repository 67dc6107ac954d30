"""Trials: validation, status transitions, filters, history, interrupted trials."""

from __future__ import annotations

import numpy as np
import pytest

import station
from station.core.errors import ConflictError, InputError, NotFoundError
from station.storage import Store


@pytest.fixture
def athlete(fresh_db: Store) -> dict:
    return fresh_db.create_athlete(name="Ann", body_mass_kg=60)


def _count(store: Store, table: str) -> int:
    return int(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_trial_records_calibration_and_software_version(fresh_db: Store, athlete: dict) -> None:
    cal = fresh_db.save_calibration(kind="calibration", data={"gains": [1] * 8}, created_by="admin", activate=True)
    t = fresh_db.create_trial(
        athlete_id=athlete["id"], protocol="single_leg_stance", leg="left",
        options={"duration_s": 20}, sample_rate_hz=80.0, calibration_id=cal,
    )
    assert t["status"] == "recording" and t["calibration_id"] == cal
    assert t["software_version"] == station.__version__
    assert t["options"] == {"duration_s": 20} and t["athlete_name"] == "Ann"


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"protocol": "moonwalk"}, InputError, "protocol"),
        ({"protocol": "single_leg_stance"}, InputError, "leg"),
        ({"protocol": "single_leg_stance", "leg": "middle"}, InputError, "leg"),
        ({"protocol": "bilateral_stance", "leg": "left"}, InputError, "leg"),
        ({"protocol": "bilateral_stance", "sample_rate_hz": -1}, InputError, "sample_rate_hz"),
        ({"protocol": "bilateral_stance", "options": {"x": "y" * 20000}}, InputError, "options"),
        ({"protocol": "bilateral_stance", "calibration_id": 77}, NotFoundError, "calibration"),
        ({"protocol": "bilateral_stance", "athlete_id": 555}, NotFoundError, "athlete"),
    ],
)
def test_invalid_trial_leaves_no_row(fresh_db: Store, athlete: dict, kwargs: dict, exc: type, word: str) -> None:
    args = {"athlete_id": athlete["id"], "sample_rate_hz": 80, **kwargs}
    with pytest.raises(exc, match=word):
        fresh_db.create_trial(**args)
    assert _count(fresh_db, "trials") == 0


def test_status_transitions(fresh_db: Store, athlete: dict) -> None:
    t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    assert fresh_db.finish_trial(t["id"], status="analysing")["ended_at"] is None
    saved = fresh_db.finish_trial(t["id"], status="saved", metrics={"a": 1}, events=[{"kind": "step", "t_s": 1.0}])
    assert saved["status"] == "saved" and saved["ended_at"] and saved["metrics"] == {"a": 1}
    with pytest.raises(ConflictError, match="saved"):
        fresh_db.finish_trial(t["id"], status="recording")
    with pytest.raises(InputError):
        fresh_db.finish_trial(t["id"], status="exploded")


def test_failed_finish_changes_nothing(fresh_db: Store, athlete: dict) -> None:
    """A bad event list rolls back the status change made in the same transaction."""
    t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    with pytest.raises(InputError):
        fresh_db.finish_trial(t["id"], status="saved", metrics={"a": 1}, events=[{"kind": "ok"}, "not an event"])  # type: ignore[list-item]
    after = fresh_db.get_trial(t["id"])
    assert after["status"] == "recording" and after["metrics"] is None and after["events"] == []


def test_samples_only_while_recording(fresh_db: Store, athlete: dict) -> None:
    t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    fresh_db.finish_trial(t["id"], status="aborted")
    with pytest.raises(ConflictError, match="aborted"):
        fresh_db.append_samples(t["id"], np.arange(3), np.zeros((3, 8), int), np.zeros(3, int))
    assert _count(fresh_db, "sample_chunks") == 0


def test_list_filters_and_pages(fresh_db: Store, athlete: dict) -> None:
    other = fresh_db.create_athlete(name="Bob")
    made = []
    for i in range(12):
        who = athlete if i % 3 else other
        proto, leg = ("single_leg_stance", "left" if i % 2 else "right") if i % 4 else ("stepping", None)
        t = fresh_db.create_trial(athlete_id=who["id"], protocol=proto, leg=leg, sample_rate_hz=80)
        made.append((t["id"], who["id"], proto, leg))
    fresh_db.conn.execute("UPDATE trials SET started_at = '2025-01-15T10:00:00.000+00:00' WHERE id <= 3")
    fresh_db.conn.commit()
    rows, total = fresh_db.list_trials(athlete_id=athlete["id"], protocol="single_leg_stance", leg="left")
    expect = [m[0] for m in made if m[1] == athlete["id"] and m[2] == "single_leg_stance" and m[3] == "left"]
    assert total == len(expect) and sorted(r["id"] for r in rows) == sorted(expect)
    assert all("metrics" not in r for r in rows)
    page1, total_all = fresh_db.list_trials(limit=5)
    page3, _ = fresh_db.list_trials(limit=5, offset=10)
    assert total_all == 12 and len(page1) == 5 and len(page3) == 2
    assert page1[0]["started_at"] >= page1[-1]["started_at"]  # newest first
    old, n_old = fresh_db.list_trials(until="2025-01-15")
    assert n_old == 3 and {r["id"] for r in old} == {1, 2, 3}
    assert fresh_db.list_trials(since="2025-01-16")[1] == 9
    with pytest.raises(InputError, match="since"):
        fresh_db.list_trials(since="last tuesday")
    with pytest.raises(InputError, match="status"):
        fresh_db.list_trials(status="bogus")


def test_metric_history(fresh_db: Store, athlete: dict) -> None:
    values = [4.0, 3.5, None, 3.1]
    for i, v in enumerate(values):
        t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="single_leg_stance", leg="left", sample_rate_hz=80)
        metrics = {"sway": {"ml_rms_mm": v}} if v is not None else {"sway": {}}
        fresh_db.finish_trial(t["id"], status="saved", metrics=metrics)
        fresh_db.conn.execute("UPDATE trials SET started_at = ? WHERE id = ?", (f"2026-0{i + 1}-01T00:00:00.000+00:00", t["id"]))
        fresh_db.conn.commit()
    hist = fresh_db.metric_history(athlete["id"], "sway.ml_rms_mm", protocol="single_leg_stance")
    assert [h["value"] for h in hist] == [4.0, 3.5, 3.1]
    assert hist[0]["started_at"] < hist[-1]["started_at"] and hist[0]["leg"] == "left"
    assert fresh_db.metric_history(athlete["id"], "sway.ml_rms_mm", protocol="stepping") == []
    with pytest.raises(InputError, match="metric"):
        fresh_db.metric_history(athlete["id"], "sway'); DROP TABLE trials; --")


def test_mark_interrupted_keeps_samples(fresh_db: Store, athlete: dict) -> None:
    t1 = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    t2 = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    t3 = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    fresh_db.append_samples(t1["id"], np.arange(5), np.full((5, 8), 7), np.zeros(5, int))
    fresh_db.finish_trial(t2["id"], status="analysing")
    fresh_db.finish_trial(t3["id"], status="saved")
    assert fresh_db.mark_interrupted() == [t1["id"], t2["id"]]
    r1 = fresh_db.get_trial(t1["id"])
    assert r1["status"] == "interrupted" and r1["ended_at"] and "stopped" in r1["message"]
    assert fresh_db.load_samples(t1["id"])[1].sum() == 5 * 8 * 7
    assert fresh_db.get_trial(t3["id"])["status"] == "saved"
    assert fresh_db.mark_interrupted() == []
    # an interrupted trial can get metrics later (re-analysis)
    assert fresh_db.set_trial_metrics(t1["id"], {"x": 1}, [])["metrics"] == {"x": 1}


def test_delete_refused_while_recording(fresh_db: Store, athlete: dict) -> None:
    t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    with pytest.raises(ConflictError, match="recording"):
        fresh_db.delete_trial(t["id"], actor="admin")


def test_video_reference(fresh_db: Store, athlete: dict) -> None:
    t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    assert fresh_db.get_video(t["id"]) is None
    fresh_db.add_video(t["id"], path="/data/v/1.mp4", fps=30.0, n_frames=300, size_bytes=1234, timestamps_path="/data/v/1.csv")
    v = fresh_db.add_video(t["id"], path="/data/v/1b.mp4", fps=30.0, n_frames=301, size_bytes=1300)
    assert v["path"] == "/data/v/1b.mp4" and v["n_frames"] == 301
    assert fresh_db.get_trial(t["id"])["video"]["path"] == "/data/v/1b.mp4"
    with pytest.raises(NotFoundError):
        fresh_db.add_video(999, path="x", fps=1, n_frames=1, size_bytes=1)


def test_metrics_with_nan_and_numpy_are_stored_as_json(fresh_db: Store, athlete: dict) -> None:
    t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    m = {"a": np.float64(1.5), "b": float("nan"), "c": np.arange(3), "d": {"e": np.int32(4)}}
    out = fresh_db.finish_trial(t["id"], status="saved", metrics=m)["metrics"]
    assert out == {"a": 1.5, "b": None, "c": [0, 1, 2], "d": {"e": 4}}


def test_truncate_samples_drops_the_frames_after_the_end(fresh_db: Store, athlete: dict) -> None:
    t = fresh_db.create_trial(athlete_id=athlete["id"], protocol="stepping", sample_rate_hz=80)
    t_ns = np.arange(30, dtype=np.int64) * 12_500_000 + 10**12
    counts = np.arange(30 * 8, dtype=np.int64).reshape(30, 8)
    invalid = np.zeros(30, dtype=np.int32)
    for lo, hi in ((0, 10), (10, 20), (20, 30)):  # three chunks
        fresh_db.append_samples(t["id"], t_ns[lo:hi], counts[lo:hi], invalid[lo:hi])
    # the end falls inside the second chunk: its tail and the whole third chunk go
    assert fresh_db.truncate_samples(t["id"], end_t_ns=int(t_ns[14])) == 15
    got_t, got_c, _ = fresh_db.load_samples(t["id"])  # checksums verified on the way
    assert got_t.tolist() == t_ns[:15].tolist() and got_c.tolist() == counts[:15].tolist()
    assert fresh_db.get_trial(t["id"])["n_samples"] == 15
    assert fresh_db.truncate_samples(t["id"], end_t_ns=int(t_ns[14])) == 0  # nothing after it any more
    fresh_db.finish_trial(t["id"], status="saved")
    with pytest.raises(ConflictError, match="final"):
        fresh_db.truncate_samples(t["id"], end_t_ns=int(t_ns[5]))
