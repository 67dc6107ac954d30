"""The left/right summary of a session: per test, left | right | difference, the weaker
side per metric, incomplete trials badged and left out.

Pure: trials in (the store's dicts: ``id``, ``protocol``, ``leg``, ``status``,
``options``, ``metrics``), a plain dict out. Which rows exist and which way is worse
live in :data:`station.core.reference.SUMMARY_METRICS`; the bands shown beside a value
in :data:`station.core.reference.BANDS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from station.core.protocols import PROTOCOLS
from station.core.reference import (
    LIMB_SYMMETRY_TARGET_PCT,
    SUMMARY_METRICS,
    SummaryMetric,
    measurement_error,
)

LEGS = ("left", "right")
#: A recording counts as stopped early when it is this much shorter than asked (s) and
#: no touch-down ended it (stance protocols end at the cap or at a touch-down).
EARLY_STOP_TOLERANCE_S = 0.5


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _at(metrics: Mapping[str, Any], path: str) -> Any:
    node: Any = metrics
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def hold_time_s(metrics: Mapping[str, Any]) -> float | None:
    """Time on one leg, s: from lift-off to the first touch-down, or to the end of the
    recording when the other foot never touched down; None without a lift-off.

    Parameters
    ----------
    metrics : a single-leg trial's analysis result (``single_leg``, ``duration_s``).

    Returns
    -------
    float or None
        ``single_leg.time_to_touchdown_s``, else ``duration_s - single_leg.lift_off_s``.
    """
    sl = metrics.get("single_leg")
    if not isinstance(sl, Mapping):
        return None
    ttd = _number(sl.get("time_to_touchdown_s"))
    if ttd is not None:
        return ttd
    lift_off = _number(sl.get("lift_off_s"))
    duration = _number(metrics.get("duration_s"))
    if lift_off is None or duration is None:
        return None
    return max(duration - lift_off, 0.0)


def metric_value(metric: SummaryMetric, metrics: Mapping[str, Any]) -> float | None:
    """The value of one summary row in one trial's metrics (None: not measured).

    The two squat scores: ``stability_score_force_only`` is the force-only score
    (``squat.stability_score_force_only`` when the video added its angles, else
    ``squat.stability_score``); ``stability_score_with_video`` is ``squat.stability_score``
    only when the video measured the angles.
    """
    if metric.path is not None:
        return _number(_at(metrics, metric.path))
    if metric.key == "hold_time_s":
        return hold_time_s(metrics)
    squat = metrics.get("squat")
    if not isinstance(squat, Mapping):
        return None
    with_video = "stability_score_force_only" in squat
    if metric.key == "stability_score_force_only":
        return _number(squat.get("stability_score_force_only" if with_video else "stability_score"))
    if metric.key == "stability_score_with_video":
        return _number(squat.get("stability_score")) if with_video else None
    raise ValueError(f"no rule for summary metric {metric.key}")


def badges(trial: Mapping[str, Any]) -> list[str]:
    """Why a trial is left out of the comparison (empty: it counts).

    ``status_<status>``: not saved (aborted, failed, interrupted, still running);
    ``no_metrics``; ``fewer_reps``: fewer squat repetitions found than asked (also when the
    time cap ended the set); ``stopped_early``: a stance ended before the time asked
    without a touch-down (the operator stopped it).
    """
    out: list[str] = []
    status = trial.get("status")
    if status != "saved":
        out.append(f"status_{status}")
    metrics = trial.get("metrics")
    if not isinstance(metrics, Mapping):
        return [*out, "no_metrics"]
    proto = PROTOCOLS.get(str(trial.get("protocol")))
    options = trial.get("options") if isinstance(trial.get("options"), Mapping) else {}
    assert isinstance(options, Mapping)
    if proto is not None and proto.end_condition == "reps":
        asked = _number(options.get("reps"))
        squat = metrics.get("squat")
        found = len(squat.get("reps") or []) if isinstance(squat, Mapping) else 0
        if asked is not None and found < asked:
            out.append("fewer_reps")
    if proto is not None and proto.end_condition == "touchdown":
        asked_s = _number(options.get("duration_s"))
        duration = _number(metrics.get("duration_s"))
        sl = metrics.get("single_leg")
        touched = isinstance(sl, Mapping) and (_number(sl.get("touchdowns")) or 0) > 0
        if asked_s is not None and duration is not None and not touched and duration < asked_s - EARLY_STOP_TOLERANCE_S:
            out.append("stopped_early")
    return out


def compare(left: float | None, right: float | None, *, worse: str) -> dict[str, Any]:
    """One row's comparison of the two legs.

    Parameters
    ----------
    left, right : the legs' values (None: not measured).
    worse : "higher" or "lower": which way is worse for this metric.

    Returns
    -------
    dict
        ``difference`` (left - right, the row's unit), ``higher`` ("left" / "right" /
        None when equal or missing), ``weaker`` (the side with the worse value, None when
        equal or missing) and ``limb_symmetry_pct`` = 100 * min / max of the two values
        (100 = equal; None unless both are positive).
    """
    if left is None or right is None:
        return {"difference": None, "higher": None, "weaker": None, "limb_symmetry_pct": None}
    diff = left - right
    higher = None if diff == 0 else ("left" if diff > 0 else "right")
    lower = None if higher is None else ("right" if higher == "left" else "left")
    weaker = higher if worse == "higher" else lower
    lsi = 100.0 * min(left, right) / max(left, right) if min(left, right) > 0 else None
    return {"difference": diff, "higher": higher, "weaker": weaker, "limb_symmetry_pct": lsi}


def session_summary(trials: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Left/right summary of a session's trials.

    Parameters
    ----------
    trials : the session's trials, oldest first (the store's dicts, metrics included).

    Returns
    -------
    dict
        ``tests``: one entry per single-leg protocol present, in protocol order, with
        ``protocol``, ``trials`` (every trial: ``id``, ``leg``, ``badges``, ``used``),
        ``left_trial_id`` / ``right_trial_id`` (the latest trial of each leg without a
        badge; None if there is none) and ``rows``: per metric of
        :data:`~station.core.reference.SUMMARY_METRICS` that applies, ``metric``,
        ``unit``, ``worse``, ``left``, ``right`` and :func:`compare`'s fields, plus
        ``below_symmetry_target`` (limb symmetry under the usual target),
        ``measurement_error`` (the published smallest detectable difference, the row's
        unit; None when none is known) and ``within_measurement_error`` (the difference
        is not larger than it: the weaker side is then not a real difference). Legs are
        compared only when both have a trial without a badge.
    """
    tests: list[dict[str, Any]] = []
    for name, proto in PROTOCOLS.items():
        mine = [t for t in trials if t.get("protocol") == name and t.get("leg") in LEGS]
        if not proto.single_leg or not mine:
            continue
        listed: list[dict[str, Any]] = []
        chosen: dict[str, Mapping[str, Any] | None] = dict.fromkeys(LEGS)
        for t in mine:
            b = badges(t)
            listed.append({"id": t.get("id"), "leg": t.get("leg"), "badges": b, "used": False})
            if not b:
                chosen[str(t["leg"])] = t  # oldest first: the latest complete trial wins
        for entry in listed:
            entry["used"] = any(c is not None and c.get("id") == entry["id"] for c in chosen.values())
        rows = []
        for metric in SUMMARY_METRICS:
            if name not in metric.protocols:
                continue
            values: dict[str, float | None] = {}
            for leg in LEGS:
                trial = chosen[leg]
                values[leg] = None if trial is None else metric_value(metric, trial.get("metrics") or {})
            row: dict[str, Any] = {"metric": metric.key, "unit": metric.unit, "worse": metric.worse, **values}
            row.update(compare(values["left"], values["right"], worse=metric.worse))
            error = measurement_error(metric.key)
            row["measurement_error"] = error
            row["within_measurement_error"] = (
                None if error is None or row["difference"] is None else abs(row["difference"]) <= error)
            lsi = row["limb_symmetry_pct"]
            row["below_symmetry_target"] = None if lsi is None else lsi < LIMB_SYMMETRY_TARGET_PCT
            rows.append(row)
        tests.append({
            "protocol": name,
            "trials": listed,
            "left_trial_id": None if chosen["left"] is None else chosen["left"].get("id"),
            "right_trial_id": None if chosen["right"] is None else chosen["right"].get("id"),
            "rows": rows,
        })
    return {"tests": tests, "limb_symmetry_target_pct": LIMB_SYMMETRY_TARGET_PCT,
            "limb_symmetry_formula": "100 * min(L, R) / max(L, R)"}
