"""Reliability under faults, load and bad input, at larger sizes than the test suite
(tests/reliability runs the same code small). Everything on loopback, bounded in time.

Rows (section "reliability"):

- sensor faults injected mid-trial into the simulator (dead channel, saturation, spike
  bursts, the array gone for 2 s) and survived: trial saved, channel named, affected
  metrics flagged or withheld, the service up;
- process faults on the real service (SIGKILL mid-calibration and under write load, the
  database locked by another process, a full disk) survived: integrity_check ok, nothing
  acknowledged lost, a clear message, recovery on restart;
- load: 20 tablets polling + 10 live viewers + 2 clients that never read, during a
  recording: requests made and failed, latency p50/p99, acquisition frames dropped,
  samples the viewers missed;
- bad inputs tried (fuzzed CSV files, fuzzed `station analyze` runs, bad requests to
  every route, path traversal attempts) and how many were mishandled.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import Report

SECTION = "reliability"
LOAD_S = 30.0
RATE_HZ = 80.0
CSV_EXAMPLES = 3000
CLI_EXAMPLES = 300


def _survive(name: str, fn: Callable[[Path], Any], failures: list[str]) -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-rel-") as tmp:
        t0 = time.perf_counter()
        try:
            fn(Path(tmp))
        except BaseException as exc:  # a failed check is a fault not survived: count it, go on
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
            traceback.print_exc()
            return False
        print(f"    {name}: survived ({time.perf_counter() - t0:.1f} s)", flush=True)
        return True


def _pytest_case(nodeid: str) -> Callable[[Path], None]:
    """A test of the suite run as it is, in its own pytest process: a fault scenario that
    is a test (its checks are the test's asserts) is counted here without the benchmarks
    importing the test suite."""

    def run(tmp: Path) -> None:
        from station.testing.service import ROOT

        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp / "pytest"), nodeid],
            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"pytest exit {done.returncode}: {done.stdout[-600:]}")

    return run


def _sensor_faults(report: Report) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from station.runtime import Station
    from station.testing.faults import FAULT_S, record_with_fault
    from station.testing.servers import make_settings

    cases = [("dead", "left_fr"), ("dead", "right_bl"), ("saturated", "right_bl"), ("saturated", "left_fl"),
             ("spikes", "left_bl"), ("spikes", "right_fr"), ("gone", None), ("gone", None)]
    failures: list[str] = []

    def one(kind: str, channel: str | None) -> Callable[[Path], None]:
        def run(tmp: Path) -> None:
            st = Station(make_settings(tmp / "data"), camera=False)
            st.start()
            try:
                src: Any = st.source
                st.acquisition.set_calibration(src.cells.true_calibration(st.geometry))  # type: ignore[union-attr]
                with TestClient(create_app(st.settings, station=st), client=("127.0.0.1", 50010)) as c:
                    def inject() -> None:
                        if kind == "gone":
                            src.array_gone(FAULT_S)
                        else:
                            src.inject_fault(channel, kind, None if kind == "dead" else FAULT_S)

                    trial = record_with_fault(c, inject)
                    q = trial["metrics"]["quality"]
                    text = " ".join(trial["metrics"]["warnings"])
                    if kind == "gone":
                        assert q["gaps_s"], q
                    else:
                        assert channel in text and list(q["invalid_fraction"]) == [channel], (q, text)
                    if kind == "dead":
                        assert trial["metrics"]["sway"] is None
                    assert c.get("/api/v1/recording/status").status_code == 200
            finally:
                st.stop()

        return run

    survived = sum(_survive(f"sensor fault {k} {ch or 'array'}", one(k, ch), failures) for k, ch in cases)
    report.add(SECTION, "sensor faults injected mid-trial", len(cases), "faults")
    report.add(SECTION, "sensor faults survived (trial saved, channel named, metrics flagged)", survived, "faults",
               target=f"= {len(cases)}", ok=survived == len(cases), note="; ".join(failures)[:500])


def _process_faults(report: Report) -> None:
    pf = "tests/reliability/test_process_faults.py::"
    cases: list[tuple[str, Callable[[Path], None]]] = [
        ("SIGKILL mid-calibration", _pytest_case(pf + "test_sigkill_mid_calibration_leaves_the_active_calibration")),
        ("SIGKILL under write load mid-recording (1)",
         _pytest_case(pf + "test_sigkill_under_write_load_loses_nothing_acknowledged")),
        ("SIGKILL under write load mid-recording (2)",
         _pytest_case(pf + "test_sigkill_under_write_load_loses_nothing_acknowledged")),
        ("database locked by another process", _pytest_case(pf + "test_database_locked_by_another_process")),
        ("disk full (RLIMIT_FSIZE)", _pytest_case(pf + "test_disk_full_gives_a_clear_error_keeps_data_and_recovers")),
    ]
    failures: list[str] = []
    survived = sum(_survive(name, fn, failures) for name, fn in cases)
    report.add(SECTION, "process faults injected (kill, lock, disk full)", len(cases), "faults")
    report.add(SECTION, "process faults survived (integrity ok, nothing acknowledged lost, restart works)", survived,
               "faults", target=f"= {len(cases)}", ok=survived == len(cases), note="; ".join(failures)[:500])


def _load(report: Report) -> None:
    from station.testing.load import rss_bytes, run_load, trial_frames_check
    from station.testing.service import (
        BUSY,
        quick_options,
        running_service,
        seed_calibration,
        wait_until,
    )

    with tempfile.TemporaryDirectory(prefix="bench-rel-load-") as tmp:
        data_dir = Path(tmp) / "data"
        seed_calibration(data_dir)
        with running_service(data_dir, log_level="warning") as svc:
            for i in range(200):
                svc.http.post("/api/v1/athletes", json={"name": f"Bench Athlete {i}"})
            athlete = svc.http.post("/api/v1/athletes", json={"name": "Load", "body_mass_kg": 70}).json()
            errors0 = svc.http.get("/healthz").json()["hardware"]["errors"]
            svc.http.post("/api/v1/recording/start", json={
                "athlete_id": athlete["id"], "protocol": "bilateral_stance", "options": quick_options(LOAD_S + 2)})
            wait_until(lambda: svc.http.get("/api/v1/recording/status").json()["state"] == "recording", 20, "recording")
            assert svc.proc is not None
            rss0 = rss_bytes(svc.proc.pid)
            load1 = os.getloadavg()[0]
            result = run_load(svc.base_url, duration_s=LOAD_S, pollers=20, viewers=10, slow=2)
            rss1 = rss_bytes(svc.proc.pid)
            status = wait_until(
                lambda: (s := svc.http.get("/api/v1/recording/status").json())["state"] not in BUSY and s, 60, "end")
            trial = svc.http.get(f"/api/v1/trials/{status['trial_id']}").json()
            health = svc.http.get("/healthz").json()["hardware"]
    print("   ", result.summary(), flush=True)
    stored, expected = trial_frames_check(trial, RATE_HZ) if trial.get("metrics") else (0, 0)
    lost = int(trial.get("metrics", {}).get("recording", {}).get("frames_lost", -1)) if trial.get("metrics") else -1
    dropped = abs(expected - stored) + max(lost, 0)
    report.add(SECTION, f"load: requests made ({LOAD_S:g} s, 20 tablets, 10 viewers, 2 stalled)", result.requests,
               "requests", note=f"load average at start {load1:.2f}")
    report.add(SECTION, "load: requests failed", result.failed, "requests", target="= 0", ok=result.failed == 0,
               note="; ".join(result.failures[:3]))
    report.add(SECTION, "load: poll latency p50", result.percentile_ms(50), "ms")
    report.add(SECTION, "load: poll latency p99", result.percentile_ms(99), "ms", target="< 50 ms",
               ok=result.percentile_ms(99) < 50)
    report.add(SECTION, "load: poll latency p99 after the first 2 s", result.percentile_ms(99, after_s=2), "ms",
               target="< 50 ms", ok=result.percentile_ms(99, after_s=2) < 50,
               note="the first 2 s include 10 viewers and 20 tablets connecting (the tablets within the first 0.25 s)")
    report.add(SECTION, "load: acquisition frames dropped in the trial", dropped, "frames", target="= 0",
               ok=dropped == 0 and status["state"] == "saved",
               note=f"stored {stored} of {expected}; reader errors {health['errors'] - errors0}; state {status['state']}")
    report.add(SECTION, "load: live samples missed by the 10 viewers", sum(result.ws_seq_gaps) + sum(result.ws_dropped),
               "samples", target="= 0", ok=sum(result.ws_seq_gaps) + sum(result.ws_dropped) == 0 and not result.ws_errors,
               note=f"{sum(result.ws_samples)} samples received; errors: {'; '.join(result.ws_errors[:2])}")
    report.add(SECTION, "load: service memory growth with 2 stalled clients", (rss1 - rss0) / 1e6, "MB",
               target="< 40 MB", ok=rss1 - rss0 < 40e6)


def _bad_inputs(report: Report) -> None:
    import io

    from hypothesis import HealthCheck, given
    from hypothesis import settings as hyp_settings

    from station.cli import main as cli_main
    from station.testing import bad_input as bi

    counts = {"csv": 0, "cli": 0}
    bad: list[str] = []

    @given(text=bi.any_text)
    @hyp_settings(max_examples=CSV_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def csv_prop(text: str) -> None:
        counts["csv"] += 1
        bi.check_read(text)

    with tempfile.TemporaryDirectory(prefix="bench-rel-cli-") as tmp:
        path = Path(tmp) / "trial.csv"

        @given(text=bi.analysable_texts() | bi.csv_texts())
        @hyp_settings(max_examples=CLI_EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
        def cli_prop(text: str) -> None:
            import contextlib

            counts["cli"] += 1
            path.write_text(text, encoding="utf-8", newline="")
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = cli_main(["analyze", str(path), "--protocol", "bilateral_stance"])
                except SystemExit as exc:
                    code = int(exc.code or 0)
            assert code in (0, 2) and "Traceback" not in err.getvalue(), (code, err.getvalue()[:300])

        for name, prop in (("csv", csv_prop), ("cli", cli_prop)):
            try:
                prop()
            except Exception as exc:
                bad.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
    for b in bad:
        print(f"    MISHANDLED {b}", flush=True)
    failures: list[str] = []
    sweep_ok = _survive(
        "bad requests to every route",
        _pytest_case("tests/reliability/test_bad_input.py::test_every_route_answers_bad_requests_with_a_json_reason"),
        failures,
    )
    report.add(SECTION, "bad inputs: fuzzed CSV files read", counts["csv"], "files")
    report.add(SECTION, "bad inputs: fuzzed files through `station analyze`", counts["cli"], "runs")
    report.add(SECTION, "bad inputs mishandled (exception other than InputError, exit code not 0/2, traceback)",
               len(bad), "", target="= 0", ok=not bad, note="; ".join(bad)[:500])
    report.add(SECTION, "bad requests to every route: all 4xx with a JSON reason, no 5xx", "yes" if sweep_ok else "no",
               ok=sweep_ok, note="; ".join(failures)[:300])
    report.add(SECTION, "path traversal attempts (tested in tests/reliability)", len(bi.TRAVERSALS), "paths")


def run(report: Report) -> None:
    for part in (_sensor_faults, _process_faults, _load, _bad_inputs):
        print(f"  [{part.__name__.strip('_')}]", flush=True)
        part(report)
