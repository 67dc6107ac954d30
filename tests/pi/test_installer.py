"""The Raspberry Pi installer and the systemd units.

The installer runs for real: a dry run on this machine (nothing may change), then a
simulated install into a directory tree laid out like a fresh Raspberry Pi OS image
(users, groups, the dpkg database, systemd's own units), where it creates the user with
the real ``useradd --prefix``, a real venv with a real ``pip install`` of the station,
and enables units with the real ``systemctl --root``. The installed units are then
checked with ``systemd-analyze verify`` and ``systemd-analyze security`` against that tree,
where every ExecStart binary exists.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from station.core.config import load_settings

REPO = Path(__file__).resolve().parents[2]
UNITS = ["station.service", "station-backup.service", "station-backup.timer"]
#: The kiosk's XDG autostart entry (run by the desktop session), not a unit.
KIOSK_ENTRY = "stance-station-kiosk.desktop"
#: Package -> version as Raspberry Pi OS Bookworm's dpkg database has them (numpy and
#: PyAV as Debian's: the installer pins the venv to them).
PI_PACKAGES = {
    "python3-venv": "3.11.2-1+b1", "python3-pip": "23.0.1+dfsg-1+rpt1", "python3-numpy": "1:1.24.2-1+deb12u1",
    "python3-av": "10.0.0-1+b1", "python3-picamera2": "0.3.27-1", "python3-libcamera": "0.5.0+rpt20250429-1",
    "python3-lgpio": "0.2.2-1~rpt1", "curl": "7.88.1-10+deb12u12", "sqlite3": "3.40.1-2+deb12u1",
    "chromium-browser": "1:136.0.7103.92-1~deb12u1",
}  # fmt: skip
# Offline and quick: the station's own package only, built with the venv's setuptools.
PIP_ARGS = ["--pip-arg=--no-deps", "--pip-arg=--no-build-isolation", "--pip-arg=--no-index"]
SCRIPTS = ["install-pi.sh", "kiosk.sh", "wait-healthy.sh", "pi-check.sh"]

def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in ("SUDO_USER",)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, **kw)


def snapshot(tree: Path) -> dict[str, tuple[int, int, int]]:
    """path -> (mode, size, mtime_ns) of everything in ``tree``."""
    out = {}
    for p in sorted(tree.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(tree))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A frozen copy of the checkout, so edits elsewhere in the tree during the test
    session do not look like an update to the installer."""
    dest = tmp_path_factory.mktemp("checkout")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for item in ["scripts", "systemd", "station", "hardware", "calibration", "api", "docs"]:
        if (REPO / item).exists():
            shutil.copytree(REPO / item, dest / item, ignore=ignore)
    (dest / "docs").mkdir(exist_ok=True)
    for item in ["pyproject.toml", "README.md"]:
        shutil.copy2(REPO / item, dest / item)
    return dest


def make_pi_image(root: Path) -> Path:
    """The parts of a fresh Raspberry Pi OS (bookworm, desktop) image the installer reads."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text(
        'PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"\nID=raspbian\nVERSION_CODENAME=bookworm\n'
    )
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n")
    (root / "home/pi").mkdir(parents=True)
    if os.geteuid() == 0:
        os.chown(root / "home/pi", 1000, 1000)
    (root / "etc/group").write_text("root:x:0:\nvideo:x:44:pi\npi:x:1000:\n")  # no gpio group yet
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\npi:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("root:*::\nvideo:*::pi\npi:!::\n")
    for name in ("shadow", "gshadow"):
        (root / "etc" / name).chmod(0o640)
    dpkg = root / "var/lib/dpkg"
    dpkg.mkdir(parents=True)
    (dpkg / "status").write_text(
        "".join(
            f"Package: {p}\nStatus: install ok installed\nMaintainer: Raspberry Pi <pi@example.org>\n"
            f"Version: {version}\nArchitecture: all\nDescription: {p}\n\n"
            for p, version in PI_PACKAGES.items()
        )
    )
    # systemd's own units (targets), which `systemctl --root` and `systemd-analyze --root` resolve.
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    return root


def installer(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(["bash", str(checkout / "scripts/install-pi.sh"), *args])


@pytest.fixture(scope="module")
def installed(checkout, tmp_path_factory) -> Path:
    if os.geteuid() != 0:
        pytest.skip("the simulated install creates users and chowns files: run as root (CI does)")
    root = make_pi_image(tmp_path_factory.mktemp("pi-root"))
    before = snapshot(root)
    dry = installer(checkout, "--root", str(root), "--kiosk-user", "pi", "--dry-run", *PIP_ARGS)
    assert dry.returncode == 0, dry.stderr
    assert snapshot(root) == before, "a dry run changed the tree"
    assert "would run: groupadd --prefix" in dry.stdout
    assert "would run: useradd --prefix" in dry.stdout
    assert "dry run:" in dry.stdout and "action(s) would be taken" in dry.stdout

    done = installer(checkout, "--root", str(root), "--kiosk-user", "pi", *PIP_ARGS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done:" in done.stdout
    return root


def test_scripts_pass_shellcheck():
    done = run(["shellcheck", "--severity=style", *(str(REPO / "scripts" / s) for s in SCRIPTS)])
    assert done.returncode == 0, done.stdout


def test_dry_run_on_this_machine_lists_the_actions_and_changes_nothing(checkout):
    watched = [Path("/etc/systemd/system/station.service"), Path("/opt/stance-station"), Path("/etc/stance-station")]
    before = {p: p.exists() for p in watched}
    passwd_before = Path("/etc/passwd").read_text()
    done = installer(checkout, "--dry-run", "--kiosk-user", "root")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for n in range(1, 12):
        assert f"[{n}/11]" in out
    assert "(dry run: nothing is changed)" in out
    # This machine has no station installed: each part must appear as an action.
    assert not Path("/opt/stance-station").exists()
    assert "would run: useradd" in out and " station" in out
    assert "-m venv --system-site-packages /opt/stance-station/venv" in out
    assert ("pip install --upgrade --progress-bar on --constraint /opt/stance-station/pi-constraints.txt "
            "/opt/stance-station/src\\[pi\\]") in out
    for unit in UNITS:
        assert f"/etc/systemd/system/{unit}" in out
    assert f"/root/.config/autostart/{KIOSK_ENTRY}" in out  # the kiosk user's session starts it
    assert "would run: systemctl enable station.service" in out
    assert "would run: systemctl enable station-backup.timer" in out
    assert "dry run:" in out and "run without --dry-run" in out
    assert {p: p.exists() for p in watched} == before
    assert Path("/etc/passwd").read_text() == passwd_before


def test_bad_options_exit_2_with_a_reason(checkout, tmp_path):
    done = installer(checkout, "--frobnicate")
    assert done.returncode == 2 and "unknown option '--frobnicate'" in done.stderr
    done = installer(checkout, "--root", str(tmp_path / "nope"), "--dry-run")
    assert done.returncode == 2 and "is not a directory" in done.stderr
    root = make_pi_image(tmp_path / "img")
    done = installer(checkout, "--root", str(root), "--kiosk-user", "ghost", "--dry-run")
    assert done.returncode == 2 and "--kiosk-user ghost: no such user" in done.stderr
    (root / "var/lib/dpkg/status").write_text("")  # an image without the OS packages
    done = installer(checkout, "--root", str(root), "--kiosk-user", "pi")
    assert done.returncode == 2
    if os.geteuid() == 0:
        assert "cannot install OS packages into --root" in done.stderr and "python3-numpy" in done.stderr
    else:
        assert "run me as root" in done.stderr
    assert not (root / "etc/systemd/system/station.service").exists()  # stopped before changing anything


def test_simulated_install_puts_everything_in_place(installed: Path, checkout: Path):
    root = installed
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    assert passwd["station"][5] == "/var/lib/stance-station"
    assert passwd["station"][6] == "/usr/sbin/nologin"
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in (root / "etc/group").read_text().splitlines()}
    assert "station" in groups["gpio"] and "station" in groups["video"]

    data = (root / "var/lib/stance-station").stat()
    assert (data.st_uid, data.st_gid) == (int(passwd["station"][2]), int(passwd["station"][3]))
    assert stat.S_IMODE(data.st_mode) == 0o750

    for unit in UNITS:
        assert (root / "etc/systemd/system" / unit).read_text() == (checkout / "systemd" / unit).read_text()
    wants = root / "etc/systemd/system"
    assert (wants / "multi-user.target.wants/station.service").is_symlink()
    assert (wants / "timers.target.wants/station-backup.timer").is_symlink()
    assert not (wants / "timers.target.wants/station-backup.service").exists()  # started by its timer
    # The kiosk starts with the desktop session of user pi, not as a system unit.
    assert not list(wants.rglob("station-kiosk*"))
    entry = root / "home/pi/.config/autostart" / KIOSK_ENTRY
    assert entry.read_text() == (checkout / "systemd" / KIOSK_ENTRY).read_text()
    for p in (entry, entry.parent, entry.parent.parent):
        assert (p.stat().st_uid, p.stat().st_gid) == (1000, 1000), p  # the user's, not root's
    assert stat.S_IMODE(entry.stat().st_mode) == 0o644
    # The venv may not replace the OS's numpy and PyAV (picamera2 is built against them).
    constraints = (root / "opt/stance-station/pi-constraints.txt").read_text().splitlines()
    assert [ln for ln in constraints if not ln.startswith("#")] == ["numpy==1.24.2", "av==10.0.0"]

    venv = root / "opt/stance-station/venv"
    assert "include-system-site-packages = true" in (venv / "pyvenv.cfg").read_text()
    assert os.access(venv / "bin/station", os.X_OK)
    probe = run([
        str(venv / "bin/python"), "-c",
        "import importlib.metadata as m, station; print(m.version('stance-station')); print(station.__file__)",
    ], cwd=root)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    version, where = probe.stdout.split()
    assert version == "0.1.0" and where.startswith(str(venv))
    for script in ("kiosk.sh", "wait-healthy.sh"):
        assert os.access(root / "opt/stance-station/bin" / script, os.X_OK)
    assert (root / "etc/stance-station/station.toml").read_text() == (checkout / "systemd/station.toml").read_text()


@pytest.mark.parametrize("unit", UNITS)
def test_installed_units_pass_systemd_analyze_verify(installed: Path, unit: str):
    done = run(["systemd-analyze", "verify", f"--root={installed}", unit])
    assert done.returncode == 0, done.stderr
    # verify only warns (exit 0) about unknown or misspelled directives: demand silence.
    assert done.stdout.strip() == "" and done.stderr.strip() == "", done.stdout + done.stderr


def test_verify_catches_a_broken_unit(installed: Path, tmp_path: Path):
    """The check above can fail: a misspelled directive and a missing binary are reported."""
    unit = installed / "etc/systemd/system/station.service"
    original = unit.read_text()
    try:
        unit.write_text(original.replace("ProtectSystem=strict", "ProtectSytem=strict"))
        done = run(["systemd-analyze", "verify", f"--root={installed}", "station.service"])
        assert "Unknown key" in done.stderr and "ProtectSytem" in done.stderr
        unit.write_text(original.replace("/venv/bin/station serve", "/venv/bin/stationd serve"))
        done = run(["systemd-analyze", "verify", f"--root={installed}", "station.service"])
        assert done.returncode != 0 and "not executable" in done.stderr
    finally:
        unit.write_text(original)


@pytest.mark.parametrize(("unit", "max_exposure"), [("station.service", 3.0), ("station-backup.service", 2.0)])
def test_service_hardening_exposure(installed: Path, unit: str, max_exposure: float):
    done = run(["systemd-analyze", "security", "--offline=true", f"--root={installed}", "--no-pager", unit])
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if "Overall exposure level" in ln)
    exposure = float(line.split(":")[1].split()[0])
    assert exposure <= max_exposure, line


def test_station_unit_reaches_gpio_and_camera_but_is_locked_down():
    text = (REPO / "systemd/station.service").read_text()
    lines = {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}
    for directive in [
        "Type=notify", "WatchdogSec=30", "Restart=on-failure", "User=station",
        "SupplementaryGroups=gpio video", "ProtectSystem=strict", "ReadWritePaths=/var/lib/stance-station",
        "PrivateTmp=yes", "NoNewPrivileges=yes", "ProtectHome=yes", "DevicePolicy=closed",
        "DeviceAllow=char-gpiochip rw", "DeviceAllow=char-video4linux rw", "DeviceAllow=char-media rw",
        "DeviceAllow=char-dma_heap rw", "ExecStart=/opt/stance-station/venv/bin/station serve",
    ]:  # fmt: skip
        assert directive in lines, directive
    assert "PrivateDevices=yes" not in lines  # it would hide /dev/gpiochip* and the camera


def test_shipped_configuration_is_valid(monkeypatch):
    monkeypatch.setenv("STATION_CONFIG", str(REPO / "systemd/station.toml"))
    for key in list(os.environ):
        if key.startswith("STATION_") and key != "STATION_CONFIG":
            monkeypatch.delenv(key)
    s = load_settings()
    assert s.hardware == "pi" and s.camera == "picamera2"
    assert s.data_dir == Path("/var/lib/stance-station")
    assert s.pins.dout == [5, 6, 13, 19, 26, 16, 20, 21] and s.pins.sck == 17


def test_kiosk_autostart_entry_is_a_valid_desktop_entry_for_the_installed_script(installed: Path):
    entry = installed / "home/pi/.config/autostart" / KIOSK_ENTRY
    done = run(["desktop-file-validate", str(entry)])
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr
    fields = dict(ln.split("=", 1) for ln in entry.read_text().splitlines() if "=" in ln and not ln.startswith("#"))
    assert fields["Type"] == "Application" and fields["Terminal"] == "false"
    argv = fields["Exec"].split()
    assert argv[0] == "/usr/bin/systemd-cat" and argv[1] == "--identifier=station-kiosk"
    assert os.access(installed / argv[2].lstrip("/"), os.X_OK), argv[2]  # kiosk.sh, installed


def test_validator_catches_a_broken_entry(tmp_path: Path):
    """The check above can fail: a desktop entry without Type is refused."""
    bad = tmp_path / "x.desktop"
    bad.write_text((REPO / "systemd" / KIOSK_ENTRY).read_text().replace("Type=Application\n", ""))
    assert run(["desktop-file-validate", str(bad)]).returncode != 0


def test_update_from_the_old_kiosk_unit_removes_it(installed: Path, checkout: Path):
    """Earlier versions installed station-kiosk.service (a system unit outside the
    session): an update disables and removes it, so that only one kiosk starts."""
    units = installed / "etc/systemd/system"
    (units / "station-kiosk.service").write_text("[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=graphical.target\n")
    (units / "station-kiosk.service.d").mkdir()
    (units / "station-kiosk.service.d/10-desktop-user.conf").write_text("[Service]\nUser=pi\n")
    enabled = run(["systemctl", f"--root={installed}", "enable", "station-kiosk.service"])
    assert enabled.returncode == 0 and (units / "graphical.target.wants/station-kiosk.service").is_symlink()
    done = installer(checkout, "--root", str(installed), "--kiosk-user", "pi", *PIP_ARGS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "systemctl --root=" in done.stdout and "disable station-kiosk.service" in done.stdout
    assert not list(units.rglob("station-kiosk*"))
    assert (installed / "home/pi/.config/autostart" / KIOSK_ENTRY).is_file()


def test_second_run_changes_nothing_and_says_so(installed: Path, checkout: Path):
    before = snapshot(installed)
    for extra in (["--dry-run"], []):
        done = installer(checkout, "--root", str(installed), "--kiosk-user", "pi", *extra, *PIP_ARGS)
        assert done.returncode == 0, done.stderr
        assert "nothing to do: Stance Station is installed and up to date." in done.stdout
        assert "would run" not in done.stdout and "running:" not in done.stdout
    assert snapshot(installed) == before


def test_update_reinstalls_only_what_changed_and_keeps_site_settings(installed: Path, checkout: Path):
    conf = installed / "etc/stance-station/station.toml"
    conf.write_text(conf.read_text().replace('host = "127.0.0.1"', 'host = "0.0.0.0"'))
    init = checkout / "station/__init__.py"
    original = init.read_text()
    init.write_text(original + "\n# a new release\n")
    try:
        dry = installer(checkout, "--root", str(installed), "--kiosk-user", "pi", "--dry-run", *PIP_ARGS)
        assert dry.returncode == 0, dry.stderr
        would = [ln for ln in dry.stdout.splitlines() if "would run:" in ln]
        assert any("pip install" in ln for ln in would)
        assert any(ln.strip().startswith("would run: cp -R") for ln in would)
        assert not any("useradd" in ln or "systemctl" in ln or "station.service" in ln for ln in would)
        assert "your edits are kept" in dry.stdout

        # pip fails (here: a bad option; on a Pi: no network): the run stops and says how to go on
        failed = installer(checkout, "--root", str(installed), "--kiosk-user", "pi", *PIP_ARGS, "--pip-arg=--no-such-option")
        assert failed.returncode != 0
        assert "stopped at step 7/11" in failed.stderr and "run me again" in failed.stderr

        done = installer(checkout, "--root", str(installed), "--kiosk-user", "pi", *PIP_ARGS)
        assert done.returncode == 0, done.stderr
        assert "ok: /opt/stance-station/src matches this checkout" in done.stdout  # done by the failed run
        assert "pip install" in done.stdout
        staged = installed / "opt/stance-station/src/station/__init__.py"
        assert staged.read_text().endswith("# a new release\n")
        assert 'host = "0.0.0.0"' in conf.read_text()
    finally:
        init.write_text(original)  # the tree now holds the "new release"; this test runs last
