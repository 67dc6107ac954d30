"""The recorder's state machine, driven with a real Acquisition on the simulator and a real
SQLite file. Forces are checked against the simulator's ground truth (physics)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import station
from station.core.calibration import Calibration
from station.core.errors import ConflictError, InputError, NotFoundError
from station.core.protocols import HOLD_AFTER_LANDING_S
from station.protocol_runner import TAIL_S

from .conftest import BODY_MASS_KG, Rig

G = 9.80665
PERIOD_S = 1 / 80


def _stored_seconds(rig: Rig, trial: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    t_ns, counts, invalid = rig.store.load_samples(trial["id"])
    return (t_ns - t_ns[0]) / 1e9, counts


def test_bilateral_stance_saved_with_every_frame(make_rig) -> None:
    rig = make_rig()
    trial = rig.record("bilateral_stance", duration_s=5)
    assert rig.states == ["armed", "recording", "analysing", "saved"]
    assert trial["status"] == "saved" and trial["message"].startswith("the 5 s")
    assert trial["calibration_id"] == rig.calibration_id
    assert trial["software_version"] == station.__version__
    assert trial["zero_offsets"] is not None and len(trial["zero_offsets"]) == 8
    t_s, counts = _stored_seconds(rig, trial)
    # every frame of 5 s at 80 Hz, none missing: consecutive, no gap over 1.5 periods
    assert abs(len(t_s) - 5 * 80) <= 1 and t_s[-1] <= 5.0
    assert np.diff(t_s).max() < 1.5 * PERIOD_S
    rec = trial["metrics"]["recording"]
    assert rec["frames"] == len(t_s) and rec["frames_lost"] == 0
    # physics: the athlete's weight, measured through the stored, calibrated counts
    assert trial["metrics"]["measured_body_weight_n"] == pytest.approx(BODY_MASS_KG * G, rel=0.02)
    assert trial["metrics"]["sway"]["ml_rms_mm"] > 0
    assert any(e["kind"] == "contact" for e in trial["events"])


def test_stored_counts_are_the_acquired_frames(make_rig) -> None:
    """Lossless end to end: the stored raw counts equal the acquisition's own frames."""
    rig = make_rig()
    trial = rig.record("bilateral_stance", duration_s=3)
    t_ns, counts, invalid = rig.store.load_samples(trial["id"])
    ring = rig.acquisition.buffer
    arrays, first, _ = ring.read_since(0)
    idx = np.searchsorted(arrays["t_ns"], t_ns)
    assert np.array_equal(arrays["t_ns"][idx], t_ns)
    assert np.array_equal(arrays["counts"][idx], counts)
    assert np.array_equal(arrays["invalid"][idx], invalid)


def test_single_leg_stance_ends_at_touchdown_or_30_s(make_rig) -> None:
    rig = make_rig(seed=3)
    trial = rig.record("single_leg_stance", leg="left")
    truth = rig.source.scenario_truth
    assert truth is not None
    t_s, _ = _stored_seconds(rig, trial)
    touchdowns = [td["on_s"] for td in truth.touchdowns if td["on_s"] is not None and td["on_s"] + TAIL_S < 30]
    assert trial["status"] == "saved"
    if touchdowns:  # the simulated athlete touched down: the trial ends just after
        assert "touched down" in trial["message"]
        assert t_s[-1] == pytest.approx(touchdowns[0] + TAIL_S, abs=2 * PERIOD_S)
        assert trial["metrics"]["single_leg"]["touchdowns"] == 1
    else:  # the athlete held on: the protocol's 30 s
        assert "30 s" in trial["message"] and t_s[-1] == pytest.approx(30.0, abs=2 * PERIOD_S)
    assert trial["metrics"]["single_leg"]["lift_off_s"] == pytest.approx(truth.lift_off_s, abs=0.05)


def test_single_leg_stance_touchdown_seen_in_several_athletes(make_rig) -> None:
    """Over a few simulated athletes, at least one touches down and ends the trial early."""
    early = 0
    for seed in (3, 11, 12):
        rig = make_rig(seed=seed)
        trial = rig.record("single_leg_stance", leg="right")
        truth = rig.source.scenario_truth
        t_s, _ = _stored_seconds(rig, trial)
        tds = [td["on_s"] for td in truth.touchdowns if td["on_s"] is not None and td["on_s"] + TAIL_S < 30]
        if tds:
            early += 1
            assert t_s[-1] == pytest.approx(tds[0] + TAIL_S, abs=2 * PERIOD_S)
    assert early >= 1


def test_single_leg_squat_ends_after_n_reps(make_rig) -> None:
    rig = make_rig(seed=5)
    trial = rig.record("single_leg_squat", leg="right", reps=2)
    truth = rig.source.scenario_truth
    assert truth is not None and len(truth.reps) == 2  # the director asked the athlete for 2
    t_s, _ = _stored_seconds(rig, trial)
    assert "2 repetitions" in trial["message"]
    # the trial holds the 2nd true repetition whole and ends after it (REPS_TAIL_S plus
    # the steps until the cut record reads as 2 whole reps), long before the 40 s cap
    assert truth.reps[1]["end_s"] <= t_s[-1] < truth.reps[1]["end_s"] + 6.0
    reps = trial["metrics"]["squat"]["reps"]
    assert len(reps) == 2
    assert sum(e["kind"] == "rep" for e in trial["events"]) == 2
    assert rig.recorder.status()["reps"] == 2


def test_hop_and_stick_holds_after_landing(make_rig) -> None:
    rig = make_rig(seed=2)
    trial = rig.record("hop_and_stick", leg="left")
    truth = rig.source.scenario_truth
    assert truth is not None and truth.landing_s is not None
    t_s, _ = _stored_seconds(rig, trial)
    assert t_s[-1] == pytest.approx(truth.landing_s + HOLD_AFTER_LANDING_S, abs=2 * PERIOD_S)


def test_second_start_conflicts_and_abort_while_armed(make_rig) -> None:
    rig = make_rig(drive_sim=False)  # nobody steps on: the recorder stays armed
    rig.set_scenario("empty")
    first = rig.recorder.start(athlete_id=rig.athlete_id, protocol="bilateral_stance", options={"arm_timeout_s": 30})
    assert first["state"] == "armed" and first["trial_id"] is None
    with pytest.raises(ConflictError, match="already armed"):
        rig.recorder.start(athlete_id=rig.athlete_id, protocol="stepping")
    status = rig.recorder.abort()
    assert status["state"] == "aborted" and status["trial_id"] is None
    assert rig.store.list_trials()[1] == 0
    with pytest.raises(ConflictError, match="nothing"):
        rig.recorder.stop()


def test_arming_times_out_with_a_clear_message(make_rig) -> None:
    rig = make_rig(drive_sim=False)
    rig.set_scenario("empty")
    rig.recorder.start(athlete_id=rig.athlete_id, protocol="bilateral_stance", options={"arm_timeout_s": 1})
    status = rig.recorder.wait(10)
    assert status["state"] == "failed" and "stood still" in status["message"]
    assert rig.store.list_trials()[1] == 0


def test_zeroing_uses_the_empty_plates(make_rig) -> None:
    """The tare averages the empty plates: a zero that drifted by 1.5 N per cell comes back
    onto the cells' true offsets."""
    rig = make_rig(seed=4)
    true_offsets = np.asarray(rig.source.cells.offsets_counts, dtype=float)
    drifted = rig.acquisition.calibration.with_offsets(tuple(true_offsets + 3000))
    rig.acquisition.set_calibration(drifted)
    trial = rig.record("bilateral_stance", duration_s=2)
    zero = np.array(trial["zero_offsets"])
    # within 1000 counts (0.5 N: noise plus the cells' slow drift) instead of 3000
    assert np.abs(zero - true_offsets).max() < 1000
    assert trial["metrics"]["measured_body_weight_n"] == pytest.approx(BODY_MASS_KG * G, rel=0.02)


def test_uncalibrated_station_zeroes_still_empty_plates(make_rig) -> None:
    """Never calibrated (zero 0, nominal gains): empty plates are recognised by their
    steadiness, so the first recording still gets a sensible zero."""
    rig = make_rig(seed=6, calibrated=False)
    trial = rig.record("bilateral_stance", duration_s=2)
    # the cells' offsets as they have drifted by now (the simulator's truth), not at power-up:
    # an unpaced source may have run for minutes of sample time before the recording
    true_offsets = np.asarray(rig.source.truth_now()["offsets_counts"], dtype=float)
    assert trial["calibration_id"] is None
    assert np.abs(np.array(trial["zero_offsets"]) - true_offsets).max() < 1000
    # nominal gains are off by a few percent per cell: the weight is close, not exact
    assert trial["metrics"]["measured_body_weight_n"] == pytest.approx(BODY_MASS_KG * G, rel=0.06)
    assert any("not calibrated" in w for w in trial["metrics"]["warnings"])


def test_loaded_plates_are_not_zeroed(make_rig) -> None:
    rig = make_rig(drive_sim=False)
    rig.set_scenario("quiet_stance")  # someone stands there when the coach presses start
    before = rig.acquisition.calibration.offsets_counts
    trial = rig.record("bilateral_stance", duration_s=2)
    assert tuple(trial["zero_offsets"]) == tuple(before)
    assert any("not zeroed" in w for w in trial["metrics"]["warnings"])
    assert trial["metrics"]["measured_body_weight_n"] == pytest.approx(BODY_MASS_KG * G, rel=0.02)


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"protocol": "moonwalk"}, InputError, "protocol"),
        ({"protocol": "single_leg_stance"}, InputError, "leg"),
        ({"protocol": "bilateral_stance", "leg": "left"}, InputError, "leg"),
        ({"protocol": "bilateral_stance", "options": {"duration_s": 0}}, InputError, "duration_s"),
        ({"protocol": "bilateral_stance", "options": {"reps": 3}}, InputError, "reps"),
        ({"protocol": "bilateral_stance", "options": {"colour": "red"}}, InputError, "colour"),
        ({"protocol": "bilateral_stance", "athlete_id": 999}, NotFoundError, "athlete"),
    ],
)
def test_bad_start_requests(make_rig, kwargs: dict, exc: type, word: str) -> None:
    rig = make_rig()
    args = {"athlete_id": rig.athlete_id, **kwargs}
    with pytest.raises(exc, match=word):
        rig.recorder.start(**args)
    assert rig.recorder.status()["state"] == "idle" and rig.store.list_trials()[1] == 0


def test_analysis_runs_on_a_worker_thread(make_rig) -> None:
    from station.analysis import analyze_corner_loads

    threads: list[int] = []

    def spying_analysis(*args: Any, **kwargs: Any) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return analyze_corner_loads(*args, **kwargs)

    rig = make_rig(analyze=spying_analysis)
    status = rig.recorder.start(athlete_id=rig.athlete_id, protocol="bilateral_stance", options={"duration_s": 3})
    assert status["state"] == "armed"  # start() returns at once
    rig.recorder.wait(30)
    assert threads and threads[0] != threading.get_ident()
    assert rig.store.get_trial(status["trial_id"] or rig.recorder.status()["trial_id"])["status"] == "saved"


def test_stop_keeps_a_shorter_trial(make_rig) -> None:
    rig = make_rig(paced=True)
    rig.recorder.start(athlete_id=rig.athlete_id, protocol="bilateral_stance", options={"duration_s": 60})
    _wait_for(lambda: rig.recorder.status()["elapsed_s"] >= 2.5, 20)
    status = rig.recorder.stop()
    assert status["state"] in ("analysing", "saved")
    final = rig.recorder.wait(30)
    trial = rig.store.get_trial(final["trial_id"])
    assert trial["status"] == "saved" and trial["message"] == "stopped by the operator"
    assert 2.4 <= trial["metrics"]["recording"]["duration_s"] <= 4.5
    # written progressively: chunks of about one flush interval (0.5 s = 40 frames);
    # bounds loose enough for a busy machine
    sizes = [n for (n,) in rig.store.conn.execute("SELECT n FROM sample_chunks WHERE trial_id = ?", (trial["id"],))]
    assert len(sizes) >= 4 and np.median(sizes) <= 48 and max(sizes) <= 160


def test_abort_keeps_samples_as_aborted(make_rig) -> None:
    rig = make_rig(paced=True)
    rig.recorder.start(athlete_id=rig.athlete_id, protocol="bilateral_stance", options={"duration_s": 60})
    _wait_for(lambda: rig.recorder.status()["frames"] >= 80, 20)
    status = rig.recorder.abort()
    assert status["state"] == "aborted"
    trial = rig.store.get_trial(status["trial_id"])
    assert trial["status"] == "aborted" and trial["n_samples"] >= 80 and trial["metrics"] is None
    # the next recording may start at once
    assert rig.recorder.start(athlete_id=rig.athlete_id, protocol="stepping")["state"] == "armed"


def test_disk_full_fails_the_recording_and_keeps_written_samples(make_rig) -> None:
    rig = make_rig(paced=True)
    rig.recorder.start(athlete_id=rig.athlete_id, protocol="bilateral_stance", options={"duration_s": 60})
    _wait_for(lambda: rig.recorder.status()["frames"] >= 80, 20)
    with rig.store._lock:  # SQLite itself reports "database or disk is full" from now on
        pages = rig.store.conn.execute("PRAGMA page_count").fetchone()[0]
        rig.store.conn.execute(f"PRAGMA max_page_count = {pages}")
        written = rig.recorder.status()["frames"]
    status = rig.recorder.wait(20)
    assert status["state"] == "failed" and "full" in status["message"] and "kept" in status["message"]
    trial_id = status["trial_id"]
    t_ns, _, _ = rig.store.load_samples(trial_id)
    assert len(t_ns) >= written and len(t_ns) == status["frames"]
    rig.store.conn.execute("PRAGMA max_page_count = 1073741823")
    assert rig.store.get_trial(trial_id)["status"] in ("failed", "recording")
    # at the next start-up, a trial the full disk left in 'recording' becomes 'interrupted'
    rig.store.mark_interrupted()
    assert rig.store.get_trial(trial_id)["status"] in ("failed", "interrupted")


def test_overrun_is_counted_and_reported(make_rig) -> None:
    """A ring buffer far too small for an unpaced source: lost frames are counted, not hidden."""
    rig = make_rig(buffer_s=0.2, flush_interval_s=0.05)
    trial = rig.record("bilateral_stance", duration_s=20, tare=False)
    lost = trial["metrics"]["recording"]["frames_lost"]
    t_s, _ = _stored_seconds(rig, trial)
    gaps = np.diff(t_s) > 1.5 * PERIOD_S
    assert lost > 0 and gaps.any()
    # the frames stored plus the frames lost cover the recording
    assert len(t_s) + lost == pytest.approx(t_s[-1] * 80 + 1, abs=2)
    assert any("frames were lost" in w for w in trial["metrics"]["warnings"])


def test_recompute_under_another_calibration(make_rig) -> None:
    rig = make_rig()
    trial = rig.record("bilateral_stance", duration_s=4)
    weight = trial["metrics"]["measured_body_weight_n"]
    true_cal = Calibration.from_dict(rig.store.get_calibration(rig.calibration_id)["data"])
    heavier = Calibration(
        offsets_counts=true_cal.offsets_counts,
        gains_n_per_count=tuple(g * 1.1 for g in true_cal.gains_n_per_count),
        geometry=true_cal.geometry,
        is_default=False,
    )
    new_id = rig.store.save_calibration(kind="calibration", data=heavier.to_dict(), created_by="test")
    from dataclasses import replace

    out = rig.recorder.recompute(trial["id"], replace(heavier, id=new_id))
    assert out["calibration_id"] == new_id
    assert out["metrics"]["measured_body_weight_n"] == pytest.approx(weight * 1.1, rel=0.002)
    assert out["metrics"]["recording"]["recomputed_with_calibration_id"] == new_id


def test_shutdown_mid_recording_keeps_trial_as_interrupted(make_rig) -> None:
    rig = make_rig(paced=True)
    rig.recorder.start(athlete_id=rig.athlete_id, protocol="bilateral_stance", options={"duration_s": 60})
    _wait_for(lambda: rig.recorder.status()["frames"] >= 40, 20)
    trial_id = rig.recorder.status()["trial_id"]
    rig.recorder.shutdown()
    trial = rig.store.get_trial(trial_id)
    assert trial["status"] == "interrupted" and trial["n_samples"] >= 40
    with pytest.raises(ConflictError, match="shutting down"):
        rig.recorder.start(athlete_id=rig.athlete_id, protocol="stepping")


def _wait_for(cond, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_video_recorded_with_the_trial(make_rig, tmp_path) -> None:
    from hardware.sim.camera import SimCamera, SquatMotion

    camera = SimCamera(SquatMotion(), width=160, height=120, fps=30, paced=True)
    rig = make_rig(paced=True, camera=camera)
    trial = rig.record("bilateral_stance", duration_s=2)
    video = trial["video"]
    assert video is not None and trial["metrics"]["recording"]["video"] is True
    assert Path(video["path"]).is_file() and Path(video["timestamps_path"]).is_file()
    # about 2 s at 30 fps (the camera starts with the trial and stops at its end)
    assert 10 <= video["n_frames"] <= 65 and video["size_bytes"] == Path(video["path"]).stat().st_size
    from hardware.video_file import read_timestamps

    frame_t = read_timestamps(video["timestamps_path"])
    t_ns, _, _ = rig.store.load_samples(trial["id"])
    # video frames lie within the force recording (same monotonic clock), give or take a
    # frame; the encoder needs a moment to open, so the video may start a little late
    assert t_ns[0] - 0.1e9 <= frame_t[0] <= t_ns[0] + 1.0e9
    assert frame_t[-1] <= t_ns[-1] + 0.1e9


def test_unplugged_camera_does_not_stop_force_recording(make_rig) -> None:
    from hardware.sim.camera import SimCamera, SquatMotion

    camera = SimCamera(SquatMotion(), width=160, height=120, paced=True, unplugged=True)
    rig = make_rig(camera=camera)
    trial = rig.record("bilateral_stance", duration_s=2)
    assert trial["status"] == "saved" and trial["video"] is None
    assert any("no video" in w and "unplugged" in w for w in trial["metrics"]["warnings"])


def test_squat_with_video_gets_pelvic_drop_and_knee_angle_per_rep(make_rig) -> None:
    from hardware.sim.camera import SimCamera, SquatMotion

    camera = SimCamera(SquatMotion(), width=320, height=240, fps=30, paced=True, occlusions_per_s=0.0)
    rig = make_rig(paced=True, seed=5, camera=camera)
    trial = rig.record("single_leg_squat", leg="left", reps=2, timeout=90)
    reps = trial["metrics"]["squat"]["reps"]
    assert len(reps) == 2 and trial["video"] is not None
    truth = camera.truth_arrays()
    t_video = (truth["t_ns"] - rig.store.load_samples(trial["id"])[0][0]) / 1e9
    for rep in reps:
        inside = (t_video >= rep["start_s"]) & (t_video <= rep["end_s"])
        assert inside.any()
        true_drop = truth["pelvic_obliquity_deg"][inside].max()
        true_fppa = truth["knee_fppa_deg"][inside].max()
        assert rep["peak_pelvic_drop_deg"] == pytest.approx(true_drop, abs=2.0)
        assert rep["peak_fppa_deg"] == pytest.approx(true_fppa, abs=2.0)
    assert trial["metrics"]["squat"]["video"]["max_fppa_deg"] is not None
