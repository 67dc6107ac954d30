"""Order by id where a wrong wall clock would misorder trials (issue 16 item 7): a trial
recorded while a Pi's clock said 1970 stays the latest one, in a session, an athlete's
sessions, the metric history and the privacy export; with a right clock the order is
the one by time, as before."""

from __future__ import annotations

from typing import Any

from station.storage import Store


def _trial(store: Store, athlete_id: int, leg: str, value: float, session_id: int | None = None) -> int:
    t = store.create_trial(athlete_id=athlete_id, protocol="single_leg_stance", leg=leg, sample_rate_hz=80,
                           session_id=session_id)
    store.finish_trial(t["id"], status="saved", metrics={"sway": {"ml_rms_mm": value}})
    return int(t["id"])


def _set_started(store: Store, table: str, row_id: int, when: str) -> None:
    # What a Pi booting in 1970 writes: the wall clock's time at insert.
    with store._tx() as conn:
        conn.execute(f"UPDATE {table} SET started_at = ? WHERE id = ?", (when, row_id))


def _orders(store: Store, athlete_id: int, session_id: int) -> dict[str, Any]:
    return {
        "session": [t["id"] for t in store.get_session(session_id)["trials"]],
        "history": [p["trial_id"] for p in store.metric_history(athlete_id, "sway.ml_rms_mm")],
        "export": [t["id"] for t in store.export_athlete(athlete_id)["trials"]],
        "sessions": [s["id"] for s in store.list_sessions(athlete_id=athlete_id)[0]],
    }


def test_a_trial_recorded_in_1970_stays_the_latest(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Iris")["id"]
    s1 = fresh_db.create_session(athlete_id=a, kind="hip_screen")["id"]
    first = _trial(fresh_db, a, "left", 1.0, s1)
    second = _trial(fresh_db, a, "left", 2.0, s1)
    s2 = fresh_db.create_session(athlete_id=a, kind="hip_screen")["id"]
    right_clock = _orders(fresh_db, a, s1)
    assert right_clock == {"session": [first, second], "history": [first, second],
                           "export": [first, second], "sessions": [s2, s1]}

    _set_started(fresh_db, "trials", second, "1970-01-02T00:00:05.000+00:00")
    _set_started(fresh_db, "sessions", s2, "1970-01-02T00:00:06.000+00:00")
    assert _orders(fresh_db, a, s1) == right_clock
    points = fresh_db.metric_history(a, "sway.ml_rms_mm")
    assert points[-1]["value"] == 2.0  # "the last trial of the leg" is still the one recorded last
