"""A station configured with a relative data directory (the default ``data``) still serves
and purges its videos: the stored path must not depend on the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hardware.sim.camera import SimCamera, SquatMotion
from station.core.config import Settings
from station.runtime import Station


def test_relative_data_dir_video_is_served_and_purged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=Path("data"), hardware="sim", camera="sim", sim_seed=4, loopback_without_token=True)
    camera = SimCamera(SquatMotion(), width=160, height=120, fps=30, paced=True)
    st = Station(settings, camera=camera)
    st.start()
    try:
        with TestClient(create_app(settings, station=st), client=("127.0.0.1", 5000)) as c:
            athlete = c.post("/api/v1/athletes", json={"name": "Relative"}).json()
            start = {"athlete_id": athlete["id"], "protocol": "bilateral_stance",
                     "options": {"tare": False, "wait_still": False, "duration_s": 2}}
            assert c.post("/api/v1/recording/start", json=start).status_code in (200, 201, 202)
            assert st.recorder is not None
            status = st.recorder.wait(60)
            assert status["state"] == "saved", status
            trial_id = status["trial_id"]
            video = c.get(f"/api/v1/trials/{trial_id}").json()["video"]
            assert video is not None, "no video recorded"
            path = Path(video["path"])
            assert path.is_absolute() and path.is_file()
            assert path.is_relative_to((tmp_path / "data").resolve()) or path.is_relative_to(tmp_path / "data")
            r = c.get(f"/api/v1/trials/{trial_id}/video", headers={"Range": "bytes=0-15"})
            assert r.status_code == 206 and r.content == path.read_bytes()[:16]
            assert c.delete(f"/api/v1/trials/{trial_id}").status_code in (200, 204)
            assert c.get(f"/api/v1/trials/{trial_id}/video").status_code == 404
            monkeypatch.chdir("/")  # the purge may run from anywhere (cron, CLI)
            assert st.store is not None
            assert st.store.purge_deleted(older_than_days=0)["video_files"] == 2
            assert not path.exists()
    finally:
        st.stop()
