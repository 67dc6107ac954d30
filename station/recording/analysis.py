"""Analysis after saving: a trial's metrics and events from its forces (and video), at
the end of a recording and again later under another calibration (:meth:`recompute`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hardware.video_file import read_timestamps
from station.analysis import analyze_corner_loads
from station.analysis.squat import stability_score_from_reps
from station.core.calibration import Calibration
from station.core.errors import ConflictError, StationError
from station.recording.run import BUSY_STATES
from station.storage import Store
from station.video_kinematics import squat_video_kinematics

log = logging.getLogger(__name__)

AnalyzeFn = Callable[..., dict[str, Any]]


class TrialAnalysis:
    """Runs the analysis function on a trial's arrays and adds what the video shows.

    Parameters
    ----------
    store
        The database (camera roll calibration; stored trials for :meth:`recompute`).
    analyze
        The analysis function (default :func:`station.analysis.analyze_corner_loads`).
    """

    def __init__(self, store: Store, analyze: AnalyzeFn | None = None) -> None:
        self.store = store
        self.analyze = analyze or analyze_corner_loads

    def arrays(
        self,
        t_ns: np.ndarray,
        loads_n: np.ndarray,
        invalid: np.ndarray,
        cal: Calibration,
        protocol: str,
        leg: str | None,
        body_mass_kg: float | None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Metrics and events of one trial's forces (``t_ns`` CLOCK_MONOTONIC, ``loads_n`` (N, 8))."""
        t_s = (np.asarray(t_ns, dtype=np.int64) - int(t_ns[0])) / 1e9 if len(t_ns) else np.zeros(0)
        metrics = self.analyze(
            t_s, np.asarray(loads_n, dtype=float), geometry=cal.geometry, protocol=protocol, leg=leg,
            body_mass_kg=body_mass_kg, invalid=np.asarray(invalid),
        )
        return metrics, events_from_metrics(metrics)

    def add_video_kinematics(
        self, metrics: dict[str, Any], video_path: str | Path, frame_t_ns: np.ndarray, *, leg: str, t0_ns: int
    ) -> None:
        """Single-leg squat with video: peak pelvic drop and knee FPPA per repetition,
        corrected by the active camera roll calibration; the score then weighs them."""
        squat = metrics.get("squat")
        if not isinstance(squat, dict) or not squat.get("reps"):
            return
        roll_deg = 0.0
        roll = self.store.active_calibration("camera_roll")
        if roll is not None and isinstance(roll.get("data"), dict):
            roll_deg = float(roll["data"].get("roll_deg", 0.0))
        else:
            metrics["warnings"].append("the camera view is not calibrated (roll); pelvic drop assumes a level camera.")
        try:
            per_rep = squat_video_kinematics(
                video_path, frame_t_ns, trial_t0_ns=t0_ns, stance_leg=leg, reps=squat["reps"], roll_deg=roll_deg,
            )
        except Exception as exc:  # the force results stand on their own
            log.exception("video kinematics failed")
            metrics["warnings"].append(f"pelvic drop and knee angle could not be measured from the video: {exc}")
            return
        for rep, kin in zip(squat["reps"], per_rep, strict=False):
            rep.update({k: v for k, v in kin.items() if k not in ("start_s", "end_s")})
        drops = [k["peak_pelvic_drop_deg"] for k in per_rep if k["peak_pelvic_drop_deg"] is not None]
        fppas = [k["peak_fppa_deg"] for k in per_rep if k["peak_fppa_deg"] is not None]
        squat["video"] = {
            "roll_deg": roll_deg,
            "max_pelvic_drop_deg": max(drops) if drops else None,
            "max_fppa_deg": max(fppas) if fppas else None,
            "mean_peak_pelvic_drop_deg": float(np.mean(drops)) if drops else None,
            "mean_peak_fppa_deg": float(np.mean(fppas)) if fppas else None,
            "method": "marker tracking; peaks per force-plate repetition (station.analysis.kinematics)",
        }
        if drops or fppas:
            # The score now weighs the camera angles too; the force-only score stays beside it.
            squat["stability_score_force_only"] = squat.get("stability_score")
            squat["stability_score"] = stability_score_from_reps(squat["reps"], touchdowns=int(squat.get("touchdowns") or 0))

    def recompute(self, trial_id: int, calibration: Calibration, *, use_trial_zero: bool = True) -> dict[str, Any]:
        """Re-analyse a stored trial's raw counts under ``calibration``; store and return the trial.

        The gains (and geometry) come from ``calibration``; the zero is the one the trial
        was recorded with (``use_trial_zero``), since the zero drifts from day to day
        while a new calibration corrects the gains. Works for interrupted trials too.
        """
        trial = self.store.get_trial(trial_id)
        if trial["status"] in BUSY_STATES:
            raise ConflictError(f"trial {trial_id} is {trial['status']}; wait until it is finished")
        t_ns, counts, invalid = self.store.load_samples(trial_id)
        cal = calibration
        if use_trial_zero and trial.get("zero_offsets"):
            cal = calibration.with_offsets(tuple(trial["zero_offsets"]))
        loads = cal.counts_to_newtons(counts)
        athlete = self.store.get_athlete(trial["athlete_id"], include_deleted=True)
        metrics, events = self.arrays(
            t_ns, loads, invalid, cal, trial["protocol"], trial["leg"], athlete.get("body_mass_kg")
        )
        old = trial.get("metrics") or {}
        metrics["recording"] = {**old.get("recording", {}), "recomputed_with_calibration_id": calibration.id}
        video = trial.get("video")
        if video and video.get("timestamps_path") and trial["leg"] and len(t_ns):
            # The new repetition windows get their angles again from the stored video.
            metrics.setdefault("warnings", [])
            try:
                frame_t_ns = read_timestamps(video["timestamps_path"])
            except (OSError, StationError) as exc:
                metrics["warnings"] = [*metrics["warnings"], f"the video's timestamps could not be read: {exc}"]
            else:
                self.add_video_kinematics(metrics, video["path"], frame_t_ns, leg=trial["leg"], t0_ns=int(t_ns[0]))
        return self.store.set_trial_metrics(trial_id, metrics, events, calibration_id=calibration.id)


def events_from_metrics(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Events stored with a trial: contacts (touch-downs and landings are contacts of a
    foot), squat repetitions, the lift-off of single-leg protocols."""
    events: list[dict[str, Any]] = []
    for c in metrics.get("contacts") or []:
        if isinstance(c, dict):
            events.append({"kind": "contact", **c, "t_s": c.get("on_s")})
    squat = metrics.get("squat") or {}
    for k, r in enumerate(squat.get("reps") or [], 1):
        if isinstance(r, dict):
            events.append({"kind": "rep", "rep": k, **r, "t_s": r.get("start_s")})
    single = metrics.get("single_leg") or {}
    if single.get("lift_off_s") is not None:
        events.append({"kind": "lift_off", "t_s": single["lift_off_s"], "leg": single.get("leg")})
    events.sort(key=lambda e: (e["t_s"] is None, e["t_s"] or 0.0))
    return events
