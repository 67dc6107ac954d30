"""Athletes: validation, search, pagination, soft delete, purge and the privacy export."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from station.core.errors import InputError, NotFoundError
from station.storage import Store


def _count(store: Store, table: str) -> int:
    return int(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_create_get_update(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="  Ann Smith ", birth_year=1999, body_mass_kg=61.5, dominant_leg="right")
    assert a["name"] == "Ann Smith" and a["body_mass_kg"] == 61.5 and a["deleted_at"] is None
    assert a["created_at"].endswith("+00:00")
    assert fresh_db.get_athlete(a["id"]) == a
    b = fresh_db.update_athlete(a["id"], notes="left knee surgery 2024", body_mass_kg=63)
    assert b["notes"] == "left knee surgery 2024" and b["body_mass_kg"] == 63.0 and b["name"] == "Ann Smith"


@pytest.mark.parametrize(
    "fields, word",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "A", "birth_year": 1800}, "birth_year"),
        ({"name": "A", "birth_year": True}, "birth_year"),
        ({"name": "A", "body_mass_kg": 5}, "body_mass_kg"),
        ({"name": "A", "body_mass_kg": "heavy"}, "body_mass_kg"),
        ({"name": "A", "dominant_leg": "both"}, "dominant_leg"),
    ],
)
def test_invalid_athlete_rejected_without_a_row(fresh_db: Store, fields: dict, word: str) -> None:
    with pytest.raises(InputError, match=word):
        fresh_db.create_athlete(**fields)
    assert _count(fresh_db, "athletes") == 0


def test_update_rejects_unknown_and_bad_fields(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    with pytest.raises(InputError, match="unknown"):
        fresh_db.update_athlete(a["id"], shoe_size=42)
    with pytest.raises(InputError, match="body_mass_kg"):
        fresh_db.update_athlete(a["id"], body_mass_kg=-3)
    assert fresh_db.get_athlete(a["id"])["body_mass_kg"] is None
    with pytest.raises(NotFoundError):
        fresh_db.update_athlete(12345, notes="x")


def test_search_and_pagination(fresh_db: Store) -> None:
    names = [f"Runner {i:02d}" for i in range(25)] + ["Zoë 100%", "Anna_B"]
    for n in names:
        fresh_db.create_athlete(name=n)
    rows, total = fresh_db.list_athletes(q="runner", limit=10, offset=20)
    assert total == 25 and [r["name"] for r in rows] == [f"Runner {i:02d}" for i in range(20, 25)]
    # LIKE wildcards in the query are literal characters
    assert [r["name"] for r in fresh_db.list_athletes(q="100%")[0]] == ["Zoë 100%"]
    assert [r["name"] for r in fresh_db.list_athletes(q="a_b")[0]] == ["Anna_B"]
    with pytest.raises(InputError, match="limit"):
        fresh_db.list_athletes(limit=0)
    with pytest.raises(InputError, match="limit"):
        fresh_db.list_athletes(limit=100_000)
    with pytest.raises(InputError, match="offset"):
        fresh_db.list_athletes(offset=-1)


def _trial_with_samples(store: Store, athlete_id: int) -> int:
    t = store.create_trial(athlete_id=athlete_id, protocol="bilateral_stance", sample_rate_hz=80)
    n = 100
    store.append_samples(t["id"], np.arange(n) * 12_500_000, np.ones((n, 8), np.int64), np.zeros(n, np.int32))
    store.finish_trial(t["id"], status="saved", metrics={"sway": {"ml_rms_mm": 2.0}},
                       events=[{"kind": "contact", "t_s": 0.1}])
    return int(t["id"])


def test_soft_delete_hides_then_purge_erases(fresh_db: Store, tmp_path) -> None:
    keep = fresh_db.create_athlete(name="Keep")
    gone = fresh_db.create_athlete(name="Gone")
    kept_trial = _trial_with_samples(fresh_db, keep["id"])
    trial = _trial_with_samples(fresh_db, gone["id"])
    video = tmp_path / "trial.mp4"
    video.write_bytes(b"fake mp4")
    fresh_db.add_video(trial, path=str(video), fps=30, n_frames=10, size_bytes=8)

    fresh_db.delete_athlete(gone["id"], actor="coach-tablet")
    with pytest.raises(NotFoundError):
        fresh_db.get_athlete(gone["id"])
    with pytest.raises(NotFoundError):
        fresh_db.get_trial(trial)
    assert [a["name"] for a in fresh_db.list_athletes()[0]] == ["Keep"]
    assert [t["id"] for t in fresh_db.list_trials()[0]] == [kept_trial]
    # still in the file until purged
    assert fresh_db.get_athlete(gone["id"], include_deleted=True)["deleted_by"] == "coach-tablet"
    assert fresh_db.list_audit(target=f"athlete {gone['id']}")[0]["actor"] == "coach-tablet"

    # a purge with the default 30-day grace period keeps recent deletions
    assert fresh_db.purge_deleted()["athletes"] == 0
    result = fresh_db.purge_deleted(older_than_days=0)
    assert result["athletes"] == 1 and result["trials"] == 1 and result["video_files"] == 1
    assert not video.exists()
    for table, expected in (("athletes", 1), ("trials", 1), ("sample_chunks", 1), ("events", 1), ("videos", 0)):
        assert _count(fresh_db, table) == expected, table
    # The erased name is gone from the file itself, not only from queries.
    fresh_db.vacuum()
    assert b"Gone" not in fresh_db.path.read_bytes()


def test_soft_deleted_trial_purged(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann")
    t1 = _trial_with_samples(fresh_db, a["id"])
    t2 = _trial_with_samples(fresh_db, a["id"])
    fresh_db.delete_trial(t1, actor="admin")
    assert [t["id"] for t in fresh_db.list_trials(athlete_id=a["id"])[0]] == [t2]
    assert fresh_db.purge_deleted(older_than_days=0)["trials"] == 1
    with pytest.raises(NotFoundError):
        fresh_db.get_trial(t1, include_deleted=True)
    assert fresh_db.get_trial(t2)["status"] == "saved"


def test_privacy_export_contains_everything_about_one_athlete(fresh_db: Store) -> None:
    a = fresh_db.create_athlete(name="Ann", notes="private note", actor="coach")
    other = fresh_db.create_athlete(name="Other")
    t = _trial_with_samples(fresh_db, a["id"])
    _trial_with_samples(fresh_db, other["id"])
    exp = fresh_db.export_athlete(a["id"])
    assert exp["athlete"]["notes"] == "private note"
    assert [tr["id"] for tr in exp["trials"]] == [t]
    assert exp["trials"][0]["metrics"] == {"sway": {"ml_rms_mm": 2.0}}
    assert exp["trials"][0]["events"] == [{"kind": "contact", "t_s": 0.1}]
    assert any(e["target"] == f"athlete {a['id']}" for e in exp["audit_log"])
    # a soft-deleted athlete can still be exported until purged
    fresh_db.delete_athlete(a["id"], actor="admin")
    assert fresh_db.export_athlete(a["id"])["athlete"]["deleted_by"] == "admin"
    with pytest.raises(NotFoundError):
        fresh_db.export_athlete(9999)


def test_audit_log_names_the_actor(fresh_db: Store) -> None:
    fresh_db.log_change(actor="tablet-1", action="update", target="athlete 3")
    row = fresh_db.list_audit(limit=1)[0]
    assert (row["actor"], row["action"], row["target"]) == ("tablet-1", "update", "athlete 3")


def test_name_check_constraint_backs_validation(fresh_db: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        fresh_db.conn.execute(
            "INSERT INTO athletes (name, created_at, updated_at) VALUES ('  ', 'x', 'x')"
        )


def test_purge_of_a_data_folder_erases_and_compacts(tmp_path) -> None:
    from station.storage.purge import purge

    store = Store(tmp_path / "station.sqlite3")
    a = store.create_athlete(name="Forget Me")
    _trial_with_samples(store, a["id"])
    store.delete_athlete(a["id"], actor="admin")
    store.close()
    # within the grace period nothing goes, and nothing is compacted
    kept = purge(tmp_path)
    assert (kept.athletes, kept.trials, kept.vacuumed) == (0, 0, False)
    compacting: list[bool] = []
    result = purge(tmp_path, older_than_days=0, on_vacuum=lambda: compacting.append(True))
    assert (result.athletes, result.trials, result.vacuumed, compacting) == (1, 1, True, [True])
    assert b"Forget Me" not in (tmp_path / "station.sqlite3").read_bytes()
    with pytest.raises(InputError, match="no station database"):
        purge(tmp_path / "nowhere")
