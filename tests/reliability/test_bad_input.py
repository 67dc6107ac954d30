"""Bad input: fuzzed raw CSV files (the reader and ``station analyze``), bad requests to
every route (every 4xx a JSON body with a reason, never a 5xx or a traceback), oversized
bodies and path traversal against the real server.

(tests/api/test_fuzz.py runs schemathesis over the OpenAPI schema; this file adds what
a schema cannot generate: files, raw HTTP paths and a real uvicorn process.)"""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from api.app import create_app, route_table
from station.core.errors import InputError
from station.rawcsv import HEADER, RawRecording, read_raw_csv, write_raw_csv
from station.runtime import Station
from station.testing.bad_input import TRAVERSALS, analysable_texts, any_text, check_read, csv_texts
from station.testing.servers import make_settings
from station.testing.service import ROOT, StationService

#: Bounded: the suite's share stays a few seconds; bench_reliability tries many more.
CSV_EXAMPLES = 150
CLI_EXAMPLES = 40

# -- generated files (the generators: station/testing/bad_input.py) ------------------------


@given(text=any_text)
@hyp_settings(max_examples=CSV_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_raw_csv_reader_gives_a_recording_or_an_input_error_with_line(text: str) -> None:
    check_read(text)


def test_raw_csv_reader_on_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + b"\n0.0,\xe9,1,1,1,1,1,1,1\n")
    with pytest.raises(InputError) as exc:
        read_raw_csv(path)
    assert "UTF-8" in str(exc.value)


def test_a_valid_generated_file_round_trips(tmp_path: Path) -> None:
    """The generator does make valid files too (otherwise the property proves little)."""
    t = np.arange(10) * 0.0125
    buf = io.StringIO()
    write_raw_csv(buf, RawRecording(t, np.full((10, 8), 100.0), {"protocol": "bilateral_stance"}))
    rec = check_read(buf.getvalue())
    assert isinstance(rec, RawRecording) and len(rec.t_s) == 10


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    from station.cli import main

    def run(*args: str) -> tuple[int, str]:
        try:
            code = main(["analyze", *args])
        except SystemExit as exc:  # argparse usage errors exit 2 with a usage line
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    return run


@given(text=st.one_of(analysable_texts(), csv_texts()),
       protocol=st.sampled_from(["bilateral_stance", "single_leg_stance", "single_leg_squat", "hop_and_stick",
                                 "stepping", "weight_shift"]),
       extra=st.sampled_from([[], ["--leg", "left"], ["--leg", "middle"], ["--body-mass", "-3"], ["--json"]]))
@hyp_settings(max_examples=CLI_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
# found by the fuzzer: sampled every 3 s, the sway spectrum has no bin in 0.15-5 Hz (was an IndexError)
@example(text=HEADER + "\n" + "".join(f"{3.0 * k:.6f}" + ",5.0" * 8 + "\n" for k in range(5)),
         protocol="bilateral_stance", extra=[])
def test_station_analyze_on_fuzzed_files_exits_0_or_2(cli: Any, tmp_path_factory: Any, text: str, protocol: str,
                                                     extra: list[str]) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "trial.csv"
    path.write_text(text, encoding="utf-8", newline="")
    code, err = cli(str(path), "--protocol", protocol, *extra)
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.strip(), "exit 2 without a message"


@pytest.mark.parametrize("content", [b"\x00\xff\xfe garbage \x89PNG", (HEADER + "\n0.0,1,1,1,1,1,1,1,1\n").encode()])
def test_station_analyze_in_a_real_process_never_prints_a_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "station", "analyze", str(path), "--protocol", "bilateral_stance"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert any(line.startswith("error: ") for line in proc.stderr.splitlines()), proc.stderr


def _limited_memory(limit_bytes: int) -> Any:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


@pytest.mark.parametrize("offset_s", [1e5, 1e7, 1e9])
def test_station_analyze_on_one_wild_timestamp_does_bounded_work(tmp_path: Path, offset_s: float) -> None:
    """Issue 19 (9): the last of 914 timestamps off by 1e5-1e9 s made the analysis
    resample the whole span to 80 Hz (1.6 GB at 1e5 s, OOM-killed at 1e7 s, a MemoryError
    traceback at 1e9 s). Now: exit 2 naming the line, in the memory of a normal run."""
    rng = np.random.default_rng(7)
    t = np.arange(914) / 80.0 + rng.normal(0.0, 0.0005, 914)  # jitter: the resampling path
    t[-1] += offset_s
    path = tmp_path / "wild.csv"
    path.write_text(HEADER + "\n" + "".join(f"{v:.6f}" + ",150.0" * 8 + "\n" for v in t), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "station", "analyze", str(path), "--protocol", "bilateral_stance"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          preexec_fn=_limited_memory(1_000_000_000))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "error: line 915, column 1:" in proc.stderr and "timestamp" in proc.stderr, proc.stderr


def test_station_token_create_without_a_database_creates_nothing(tmp_path: Path) -> None:
    """Issue 19 (11): `station token create` in a folder with no database created an
    empty database (a token no station reads) and exited 0."""
    data_dir = tmp_path / "not-the-station"
    proc = subprocess.run([sys.executable, "-m", "station", "token", "--data-dir", str(data_dir), "create", "tab",
                           "--role", "coach"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "no station database" in proc.stderr and "--data-dir" in proc.stderr
    assert not proc.stdout.strip(), "a secret was printed"
    assert not data_dir.exists() or not any(data_dir.iterdir())


# -- every route, bad requests -------------------------------------------------------------

BAD_IDS = ["abc", "0", "-1", "99999999999999999999999", "1.5", "%00", "..%2f..%2fetc%2fpasswd"]
BAD_BODIES: list[tuple[str, Any]] = [
    ("content", b"{"), ("content", b"\xff\xfe"), ("json", []), ("json", {"unexpected": 1}),
    ("json", {"name": None, "athlete_id": "x", "protocol": 5}), ("json", {"limit": -1, "mass_kg": float("1e308")}),
]


def test_every_route_answers_bad_requests_with_a_json_reason(tmp_path: Path) -> None:
    station = Station(make_settings(tmp_path / "data"), camera=False)
    station.start()
    try:
        app = create_app(station.settings, station=station)
        tried = 0
        with TestClient(app, client=("127.0.0.1", 50002), raise_server_exceptions=False) as c:
            for method, path in route_table(app):
                if method == "WS" or path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json", "/"):
                    continue
                has_param = "{" in path
                variants = [re.sub(r"\{[^}]+\}", bad, path) for bad in BAD_IDS] if has_param else [path]
                for url in variants:
                    requests: list[dict[str, Any]] = [{}]
                    if method in ("POST", "PATCH", "PUT"):
                        requests = [{kind: body} for kind, body in BAD_BODIES]
                    requests += [{"params": {"limit": "-5", "offset": "abc", "since": "yesterday", "q": "x" * 500}}]
                    for kw in requests:
                        headers = {"Content-Type": "application/json"} if "content" in kw else {}
                        r = c.request(method, url, headers=headers, **kw)
                        tried += 1
                        # 503 is a stated condition (e.g. "the station has no camera"), never a crash
                        assert r.status_code < 500 or r.status_code == 503, (
                            f"{method} {url} {kw} -> {r.status_code}: {r.text[:300]}")
                        assert "Traceback" not in r.text
                        if r.status_code >= 400:
                            body = r.json()
                            assert isinstance(body.get("detail"), str) and body["detail"], (method, url, body)
        assert tried >= 200
        # nothing was written by all those bad requests
        assert station.store.list_athletes()[1] == 0  # type: ignore[union-attr]
        assert station.store.list_trials()[1] == 0  # type: ignore[union-attr]
    finally:
        station.stop()


# -- the real server: oversized bodies, path traversal -----------------------------------------

MAX_BODY = 65536


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StationService]:
    svc = StationService(tmp_path_factory.mktemp("srv") / "data",
                         env={"STATION_MAX_UPLOAD_BYTES": str(MAX_BODY)}).start()
    try:
        yield svc
    finally:
        svc.stop()


def raw_request(port: int, request: bytes, timeout_s: float = 10.0) -> tuple[int, bytes]:
    """Send bytes as they are (no client-side path normalisation); return (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


@pytest.mark.slow
def test_oversized_bodies_are_refused_by_the_real_server(server: StationService) -> None:
    big = json.dumps({"name": "Big", "notes": "x" * (4 * MAX_BODY)})
    r = server.http.post("/api/v1/athletes", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and str(MAX_BODY) in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
        yield b'{"name": "Streamed", "notes": "'
        for _ in range(64):
            yield b"y" * 4096
        yield b'"}'

    r = server.http.post("/api/v1/athletes", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["hint"]
    # a lying Content-Length is no way around it
    status, body = raw_request(server.port, b"POST /api/v1/athletes HTTP/1.1\r\nHost: x\r\nContent-Type: "
                               b"application/json\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n{}")
    assert status == 413 and b"detail" in body
    assert server.http.get("/api/v1/athletes").json()["total"] == 0
    assert server.alive()


@pytest.mark.slow
@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_refused_by_the_real_server(server: StationService, path: str) -> None:
    status, body = raw_request(server.port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert 400 <= status < 500, (status, body[:200])
    assert b"root:" not in body and b"from __future__" not in body and b"import " not in body
    # the kiosk's own files are still served
    assert server.http.get("/css/kiosk.css").status_code == 200
