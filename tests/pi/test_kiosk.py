"""Kiosk start-up: wait-healthy.sh against a real HTTP server, kiosk.sh with real Chromium.

On the Pi, kiosk.sh finds the desktop's Wayland socket and runs Chromium on it. Here there
is no desktop, so the test gives it a real listening socket named like the compositor's
and adds ``--headless --dump-dom`` through KIOSK_FLAGS (the documented hook for extra
flags): the script's waiting, browser choice and flags all run, and Chromium must load
and render the page it was given.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WAIT = REPO / "scripts/wait-healthy.sh"
KIOSK = REPO / "scripts/kiosk.sh"
PAGE = b'<html><body><h1 id="kiosk">Stance Station kiosk test</h1></body></html>'
#: What makes Chromium work without a desktop here (through KIOSK_FLAGS, the documented hook).
HEADLESS = "--headless=new --dump-dom --disable-gpu" + (" --no-sandbox" if os.geteuid() == 0 else "")


class FakeStation:
    """A real HTTP server answering /healthz with a settable status, and / with a page."""

    def __init__(self, port: int = 0) -> None:
        self.health_status = 503
        self.slow_s = 3.0
        station = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path == "/healthz":
                    body, code = b'{"ok": false}', station.health_status
                elif self.path == "/slow":  # keeps Chromium busy long enough to look at it
                    time.sleep(station.slow_s)
                    body, code = PAGE, 200
                else:
                    body, code = PAGE, 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except BrokenPipeError:  # a Chromium stopped by the test
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_station() -> Iterator[FakeStation]:
    s = FakeStation()
    yield s
    s.close()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "WAYLAND_", "DISPLAY"))}
    env.update(extra)
    return env


def test_wait_healthy_waits_for_an_answer_and_takes_503():
    """Nothing listens yet: it waits. The service comes up answering 503 (no amplifier
    powered): that is an answer, and the kiosk page then says what is wrong."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["bash", str(WAIT), f"http://127.0.0.1:{port}/", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    station = None
    try:
        time.sleep(1.5)
        assert proc.poll() is None, "returned while nothing answered"
        station = FakeStation(port)  # answers 503
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
        if station is not None:
            station.close()
    assert proc.returncode == 0, err
    assert "no answer yet" in out  # progress while waiting says why
    assert "answers (" in out and ": 503 after" in out and "its page says what is wrong" in out


def test_wait_healthy_says_healthy_on_200(fake_station):
    fake_station.health_status = 200
    done = subprocess.run(["bash", str(WAIT), fake_station.url, "10"], capture_output=True, text=True,
                          timeout=30, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert "station service is healthy" in done.stdout


def test_wait_healthy_gives_up_with_advice():
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run(
        ["bash", str(WAIT), f"http://127.0.0.1:{port}/", "2"], capture_output=True, text=True, timeout=30, env=clean_env()
    )
    assert done.returncode == 1
    assert "did not answer within 2 s" in done.stderr and "journalctl -u station" in done.stderr
    bad = subprocess.run(["bash", str(WAIT), "http://127.0.0.1:1/", "soon"], capture_output=True, text=True, env=clean_env())
    assert bad.returncode == 2 and "TIMEOUT_S must be a whole number" in bad.stderr


@pytest.mark.skipif(
    Path("/tmp/.X11-unix/X0").exists(), reason="an X server runs here, so kiosk.sh would not wait for Wayland"
)
def test_kiosk_waits_for_the_desktop_then_shows_the_page_in_chromium(fake_station, tmp_path):
    assert shutil.which("chromium") or shutil.which("chromium-browser"), "make test installs chromium"
    runtime = tmp_path / "run"
    runtime.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    fake_station.health_status = 200
    env = clean_env(HOME=str(home), XDG_RUNTIME_DIR=str(runtime), KIOSK_URL=fake_station.url, KIOSK_FLAGS=HEADLESS,
                    KIOSK_RESTART_S="0", KIOSK_ENV=str(tmp_path / "no-kiosk.env"))
    env.pop("XDG_CONFIG_HOME", None)
    proc = subprocess.Popen(["bash", str(KIOSK)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    compositor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        time.sleep(1.5)
        assert proc.poll() is None, "started without a desktop session"
        compositor.bind(str(runtime / "wayland-0"))  # the desktop session comes up
        compositor.listen()
        out, err = proc.communicate(timeout=90)
    finally:
        compositor.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    assert "waiting for the desktop session" in out
    assert "kiosk mode on Wayland wayland-0" in out
    assert 'id="kiosk">Stance Station kiosk test</h1>' in out  # Chromium rendered the page
    assert (home / ".config/stance-station-kiosk").is_dir()  # its own profile, not the user's


def chromium_cmdline(parent: int, timeout_s: float) -> list[str]:
    """The command line of the Chromium that process ``parent`` started (from /proc)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().rstrip("\0").split("\0")
            except FileNotFoundError:
                continue
            if any(a == "--kiosk" for a in argv):
                return argv
        time.sleep(0.05)
    raise AssertionError("no Chromium with --kiosk among the children of kiosk.sh")


def test_kiosk_reads_its_settings_suppresses_bubbles_and_restarts_chromium(fake_station, tmp_path):
    """Started by the session's autostart, kiosk.sh takes KIOSK_URL and KIOSK_RESTART_S
    from kiosk.env, runs Chromium with the flags that keep crash and update bubbles and
    error dialogs off the kiosk, and starts it again whenever it exits."""
    runtime = tmp_path / "run"
    runtime.mkdir()
    compositor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    compositor.bind(str(runtime / "wayland-0"))
    compositor.listen()
    settings = tmp_path / "kiosk.env"
    settings.write_text(f"# as installed\nKIOSK_URL={fake_station.url}slow\nKIOSK_WAIT_S=5\nKIOSK_RESTART_S=1\n")
    fake_station.health_status = 200
    env = clean_env(HOME=str(tmp_path), XDG_RUNTIME_DIR=str(runtime), KIOSK_FLAGS=HEADLESS, KIOSK_ENV=str(settings))
    env.pop("XDG_CONFIG_HOME", None)
    proc = subprocess.Popen(["bash", str(KIOSK)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        argv = chromium_cmdline(proc.pid, 30)
        for flag in ("--kiosk", "--noerrdialogs", "--disable-session-crashed-bubble", "--hide-crash-restore-bubble",
                     "--disable-infobars", "--no-first-run", "--disable-crash-reporter"):
            assert flag in argv, flag
        assert any(a.startswith("--simulate-outdated-no-au=") for a in argv)
        assert fake_station.url + "slow" in argv  # from kiosk.env
        first = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
        # Chromium renders the page and exits (--dump-dom): kiosk.sh starts another one.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            if children and int(children[0]) != first and "--kiosk" in chromium_cmdline(proc.pid, 30):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("Chromium was not started again")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        compositor.close()
    assert "exited with status 0; starting it again in 1 s" in out
    assert out.count("starting ") >= 2 and 'id="kiosk">Stance Station kiosk test</h1>' in out
