"""Exports over HTTP: CSV and C3D read back by independent readers carry the forces that
were stored; the video is served with range requests and never from outside the data
directory."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import c3d
import numpy as np
import pytest
from fastapi.testclient import TestClient

from station.core.calibration import NOMINAL_COUNTS_PER_N
from station.rawcsv import parse_raw_csv
from tests.api.conftest import Tokens

N = 160  # 2 s at 80 Hz
#: Newtons per cell in CHANNELS order: 400 N on the left plate (more at the front), 200 N on the right.
LOADS_N = np.array([120.0, 120.0, 80.0, 80.0, 50.0, 50.0, 50.0, 50.0])


@pytest.fixture
def stored_trial(store: Any, athlete: dict[str, Any]) -> int:
    """A trial with known raw counts (no calibration: nominal gains, zero offset)."""
    t = store.create_trial(athlete_id=athlete["id"], protocol="bilateral_stance", sample_rate_hz=80.0)
    t_ns = (10**9 + np.arange(N) * 12_500_000).astype(np.int64)
    counts = np.tile(np.round(LOADS_N * NOMINAL_COUNTS_PER_N).astype(np.int64), (N, 1))
    store.append_samples(t["id"], t_ns, counts, np.zeros(N, np.int32))
    store.finish_trial(t["id"], status="saved", metrics={"sway": {"ml_rms_mm": 3.5}}, events=[{"kind": "x"}])
    return int(t["id"])


def test_csv_export_reads_back_with_the_stored_forces(client: TestClient, tokens: Tokens, stored_trial: int) -> None:
    r = client.get(f"/api/v1/trials/{stored_trial}/export.csv", headers=tokens.coach_h)
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    rec = parse_raw_csv(r.text)
    assert rec.loads_n.shape == (N, 8)
    np.testing.assert_allclose(rec.loads_n, np.tile(LOADS_N, (N, 1)), atol=0.01)
    assert rec.t_s[-1] == pytest.approx((N - 1) / 80.0)


def test_json_export_has_metrics_and_events(client: TestClient, tokens: Tokens, stored_trial: int) -> None:
    r = client.get(f"/api/v1/trials/{stored_trial}/export.json", headers=tokens.coach_h)
    assert r.status_code == 200
    doc = json.loads(r.content)
    assert doc["metrics"]["sway"]["ml_rms_mm"] == 3.5 and doc["events"] == [{"kind": "x"}]


def test_c3d_export_read_by_an_independent_reader(client: TestClient, tokens: Tokens, stored_trial: int) -> None:
    r = client.get(f"/api/v1/trials/{stored_trial}/export.c3d", headers=tokens.coach_h)
    assert r.status_code == 200
    reader = c3d.Reader(io.BytesIO(r.content))
    labels = [s.strip() for s in reader.analog_labels]
    frames = [analog for _, _, analog in reader.read_frames()]
    analog = np.concatenate(frames, axis=1)  # (channels, samples)
    fz = [i for i, lab in enumerate(labels) if lab.startswith("Fz")]
    assert len(fz) == 2
    # the vertical force of each plate is the sum of its cells: 400 N left, 200 N right
    np.testing.assert_allclose(np.abs(analog[fz[0]]), 400.0, rtol=1e-3)
    np.testing.assert_allclose(np.abs(analog[fz[1]]), 200.0, rtol=1e-3)


def test_exports_of_missing_trials_are_404(client: TestClient, tokens: Tokens) -> None:
    for fmt in ("csv", "json", "c3d"):
        r = client.get(f"/api/v1/trials/4040/export.{fmt}", headers=tokens.coach_h)
        assert r.status_code == 404 and "4040" in r.json()["detail"]


def test_video_range_requests(client: TestClient, tokens: Tokens, stored_trial: int, store: Any, settings: Any) -> None:
    assert client.get(f"/api/v1/trials/{stored_trial}/video", headers=tokens.coach_h).status_code == 404
    video = settings.data_dir / "videos" / f"trial-{stored_trial}.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    blob = os.urandom(100_000)
    video.write_bytes(blob)
    store.add_video(stored_trial, path=str(video), fps=30.0, n_frames=10, size_bytes=len(blob))
    whole = client.get(f"/api/v1/trials/{stored_trial}/video", headers=tokens.coach_h)
    assert whole.status_code == 200 and whole.content == blob
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/api/v1/trials/{stored_trial}/video", headers={**tokens.coach_h, "Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == blob[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(blob)}"
    bad = client.get(f"/api/v1/trials/{stored_trial}/video", headers={**tokens.coach_h, "Range": "bytes=200000-"})
    assert bad.status_code == 416


@pytest.mark.parametrize("where", ["relative", "absolute", "symlink"])
def test_video_paths_outside_the_data_dir_are_refused(
    client: TestClient, tokens: Tokens, stored_trial: int, store: Any, settings: Any, tmp_path: Path, where: str
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not a video")
    if where == "relative":
        path = os.path.relpath(outside, settings.data_dir)  # ../secret.txt
    elif where == "absolute":
        path = str(outside)
    else:
        link = settings.data_dir / "videos" / "link.mp4"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(outside)
        path = str(link)
    store.add_video(stored_trial, path=path, fps=30.0, n_frames=1, size_bytes=11)
    r = client.get(f"/api/v1/trials/{stored_trial}/video", headers=tokens.coach_h)
    assert r.status_code == 404
    assert "not a video" not in r.text
