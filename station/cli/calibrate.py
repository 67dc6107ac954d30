"""``station calibrate``: the guided calibration in a terminal.

The same workflow as the kiosk and the API (:mod:`calibration.workflow`): tare, a known
mass at each position (captured automatically when it is still), fit, verification,
activation. ``--simulate`` runs it on the simulated plates, where a simulated operator
places the masses itself. The service must not be running (it owns the load cells):
use the kiosk's calibration page then, or stop the service first.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import select
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from station.core.config import load_settings
from station.core.errors import CalibrationError, ConflictError, InputError
from station.core.geometry import Geometry
from station.runtime import Station
from station.service_lock import ServiceLock

POLL_S = 0.1
#: How long a step may wait for the mass before the CLI gives up (s, wall clock).
STEP_TIMEOUT_S = 600.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "calibrate",
        help="calibrate the force plates (guided: tare, known masses, fit, verify, activate)",
        description="Guided calibration of both plates with a known mass. Stop the service first "
        "(or use the kiosk's calibration page). See docs/calibration.md.",
    )
    p.add_argument("--data-dir", type=Path, help="folder with the database (default ./data)")
    p.add_argument("--hardware", choices=["sim", "pi"], help="load-cell backend (default from the configuration)")
    p.add_argument("--simulate", action="store_true",
                   help="simulated plates; the masses are placed automatically (implies --hardware sim)")
    p.add_argument("--realtime", action="store_true", help="with --simulate: run at real speed (default: fast)")
    p.add_argument("--seed", type=int, help="simulator seed (default from the configuration)")
    p.add_argument("--mass", type=float, default=20.0, help="the known mass in kg (default 20)")
    p.add_argument("--linearity-mass", type=float, help="a second mass in kg for the linearity check")
    p.add_argument("--verify-mass", type=float, help="mass for the verification points in kg (default --mass)")
    p.add_argument("--geometry", type=Path, help="JSON file with plate centres and cell positions (mm)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before taring and activating")
    p.add_argument("--verify-only", action="store_true",
                   help="only verify the calibration in use (known mass at the verification points)")
    p.add_argument("--show", action="store_true", help="only show the calibration in use and the history")
    p.set_defaults(func=run)


def _check_masses(args: argparse.Namespace) -> None:
    for flag, value in (("--mass", args.mass), ("--linearity-mass", args.linearity_mass),
                        ("--verify-mass", args.verify_mass)):
        if value is not None and not 1.0 <= value <= 200.0:
            raise InputError(f"{flag} must be between 1 and 200 kg, got {value:g}")


def run(args: argparse.Namespace) -> int:
    _check_masses(args)
    hardware = "sim" if args.simulate else args.hardware
    settings = load_settings(data_dir=args.data_dir, hardware=hardware, camera="none", sim_seed=args.seed)
    geometry = None
    if args.geometry is not None:
        try:
            geometry = Geometry.from_json_file(args.geometry)
        except ValueError as exc:
            raise InputError(str(exc), hint="Fix the geometry file (see docs/calibration.md).") from None
    simulate = settings.hardware == "sim"
    out = sys.stdout
    if simulate and not args.simulate:
        print("Simulated hardware: the masses are placed automatically.", file=out)
    # A fast simulation is pumped from this loop (no reader thread racing ahead).
    fast = simulate and not args.realtime
    with ServiceLock(settings.data_dir, purpose="station calibrate"):
        station = Station(settings, camera=False, geometry=geometry, background=not fast)
        station.start()
        try:
            assert station.calibration is not None
            rig = _Rig(station, pump=fast)
            if args.show:
                _show(station.calibration, out)
                return 0
            return _guided(rig, args, geometry, interactive=not (args.yes or simulate), out=out)
        finally:
            station.stop()


class _Rig:
    """The station's calibration service plus, for a fast simulation, the pump that
    advances simulated time."""

    def __init__(self, station: Station, *, pump: bool) -> None:
        assert station.calibration is not None
        self.station = station
        self.svc = station.calibration
        self.pump = pump

    def tick(self, sim_s: float = 0.25) -> None:
        if self.pump:
            self.station.pump(sim_s)
        else:
            time.sleep(POLL_S)
            self.svc.poll()


def _show(svc: Any, out: TextIO) -> None:
    cur = svc.current()
    cal = cur["calibration"]
    print("Calibration in use:", "none (nominal gains)" if cal is None else
          f"#{cal['id']} of {cal['created_at']} by {cal['created_by'] or '?'}", file=out)
    if cur["last_rezero"]:
        rz = cur["last_rezero"]
        print(f"Last re-zero: #{rz['id']} of {rz['created_at']} ({rz['created_by']})", file=out)
    if cur["warning"]:
        print(f"Warning: {cur['warning']}", file=out)
    print("History:", file=out)
    for row in svc.history(limit=20):
        ver = {True: "verified", False: "verification FAILED", None: ""}[row["verification_passed"]]
        active = "active" if row["active"] else ""
        print(f"  #{row['id']:<5} {row['created_at']}  {row['kind']:<11} {row['created_by'] or '':<14} "
              f"{active:<7}{ver}", file=out)


def _ask(prompt: str, interactive: bool, out: TextIO) -> str:
    if not interactive:
        print(prompt, file=out)
        return ""
    out.write(prompt + " ")
    out.flush()
    return sys.stdin.readline().strip().lower()


def _stdin_line() -> str | None:
    """A line typed while waiting (terminal only), without blocking."""
    if not sys.stdin.isatty():
        return None
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    return sys.stdin.readline().strip().lower() if ready else None


class _Live:
    """One redrawn status line on a terminal; a line every few seconds otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self._last = 0.0
        self._drawn = False
        self._announced: int | None = None

    def show(self, text: str) -> None:
        if self.tty:
            self.out.write("\r\033[K" + text)
            self._drawn = True
        elif time.monotonic() - self._last > 3.0:
            self.out.write(text + "\n")
            self._last = time.monotonic()
        self.out.flush()

    def done(self, text: str) -> None:
        if self._drawn:
            self.out.write("\r\033[K")
        self.out.write(text + "\n")
        self.out.flush()
        self._drawn = False


def _live_text(st: dict[str, Any]) -> str:
    live = st.get("live") or {}
    bar_n = int(20 * float(live.get("progress") or 0.0))
    forces = live.get("force_n") or {}
    f = "  ".join(f"{p} {v:7.1f} N" for p, v in sorted(forces.items()))
    cop = live.get("cop_mm")
    where = f"  CoP ({cop[0]:6.1f}, {cop[1]:6.1f}) mm" if cop else ""
    msg = live.get("message") or ""
    return f"[{'#' * bar_n}{'.' * (20 - bar_n)}] {f}{where}  {msg}"


def _steps(rig: _Rig, phase: str, interactive: bool, out: TextIO) -> None:
    """Wait through the capture steps of ``phase`` ("capture" or "verifying")."""
    svc = rig.svc
    live = _Live(out)
    shown = 0  # steps announced so far
    started = time.monotonic()
    while True:
        rig.tick()
        st = svc.workflow_status()
        steps = st["steps"] if phase == "capture" else st["verification_steps"]
        index = st["step_index"] if st["state"] == phase else len(steps)
        # Report every step captured since the last look (a fast simulation may do several).
        while shown < index:
            live.done(f"  captured [{shown + 1}/{len(steps)}] {steps[shown]['label']}")
            shown += 1
        if st["state"] != phase or index >= len(steps):
            return
        if live._announced != index:
            live._announced = index
            started = time.monotonic()
            live.done(f"[{index + 1}/{len(steps)}] {steps[index]['instruction']}")
            if interactive:
                live.done("   (captures by itself when still; type c + Enter to capture anyway, q + Enter to cancel)")
        live.show(_live_text(st))
        typed = _stdin_line() if interactive else None
        if typed == "q":
            raise KeyboardInterrupt
        if typed == "c":
            try:
                svc.capture(anyway=True)
            except CalibrationError as exc:
                live.done(f"  not captured: {exc}")
        if time.monotonic() - started > STEP_TIMEOUT_S:
            raise CalibrationError(
                f"step {index + 1} waited {STEP_TIMEOUT_S:.0f} s for the mass",
                hint=(st.get("live") or {}).get("message") or "Check the plates and start again.",
            )


def _retry(rig: _Rig, action: Any, what: str, out: TextIO, *, tries: int = 60) -> dict[str, Any]:
    """Run ``action`` until it is accepted (the plates may still be settling)."""
    last: CalibrationError | None = None
    for _ in range(tries):
        try:
            result: dict[str, Any] = action()
            return result
        except CalibrationError as exc:
            if last is None or re.sub(r"[\d.]+", "#", str(exc)) != re.sub(r"[\d.]+", "#", str(last)):
                print(f"  {what}: waiting ({exc.message})", file=out)
            last = exc
            for _ in range(2):
                rig.tick()
    assert last is not None
    raise last


def _print_fit(fit: dict[str, Any], out: TextIO) -> None:
    print("Fit:", file=out)
    print(f"  {'cell':<10} {'counts/N':>10} {'vs nominal':>11} {'residual':>9}", file=out)
    for plate in fit.values():
        for c in plate["cells"]:
            print(f"  {c['channel']:<10} {c['sensitivity_counts_per_n']:10.1f} "
                  f"{c['deviation_from_nominal_pct']:+10.2f}% {c['residual_n']:8.3f}N", file=out)
        lin = plate["linearity"]
        print(f"  {plate['plate']} plate: R^2 {lin['r_squared']:.6f}, max deviation "
              f"{lin['max_deviation_pct_fs']:.3f} % of {lin['full_scale_used_n']:.0f} N, "
              f"CoP residual {plate['rms_cop_error_mm']:.2f} mm rms", file=out)


def _print_verification(ver: dict[str, Any], out: TextIO) -> None:
    lim = ver["limits"]
    print(f"Verification (limits: force {lim['max_force_error_pct']} %, CoP {lim['max_cop_error_mm']} mm):", file=out)
    for p in ver["points"]:
        print(f"  {'ok  ' if p['passed'] else 'FAIL'} {p['label']:<55} force {p['force_error_pct']:+6.2f} %  "
              f"CoP {p['cop_error_mm']:5.1f} mm", file=out)


def _guided(rig: _Rig, args: argparse.Namespace, geometry: Any, *, interactive: bool, out: TextIO) -> int:
    svc = rig.svc
    svc.start_workflow(mass_kg=args.mass, linearity_mass_kg=args.linearity_mass, verify_mass_kg=args.verify_mass,
                       geometry=geometry, actor="cli", verify_only=args.verify_only)
    try:
        st = svc.workflow_status()
        print(f"Calibration: {len(st['steps'])} positions, then {len(st['verification_steps'])} "
              "verification points. Ctrl-C cancels (the active calibration stays).", file=out)
        _ask("Clear both plates and keep hands off. Press Enter to tare.", interactive, out)
        _retry(rig, svc.tare, "tare", out)
        print("Tared.", file=out)
        if args.verify_only:
            _steps(rig, "verifying", interactive, out)
            st = svc.workflow_status()
            _print_verification(st["verification"], out)
            st = svc.activate(actor="cli")
            passed = st["verification"]["passed"]
            print(f"Verification stored with calibration #{st['calibration_id']}: "
                  f"{'passed' if passed else 'FAILED: recalibrate the plates'}.", file=out)
            return 0 if passed else 1
        _steps(rig, "capture", interactive, out)
        st = svc.fit()
        _print_fit(st["fit"], out)
        _ask("Take the mass off the plates. Press Enter to verify.", interactive, out)
        _retry(rig, svc.verify, "verification zero", out)
        _steps(rig, "verifying", interactive, out)
        st = svc.workflow_status()
        _print_verification(st["verification"], out)
        if not st["verification"]["passed"]:
            svc.cancel(actor="cli")
            print("Verification failed: nothing changed. Check the masses and their placement and calibrate again.",
                  file=out)
            return 1
        answer = _ask("Activate this calibration? [Y/n]", interactive, out)
        if answer not in ("", "y", "yes"):
            svc.cancel(actor="cli")
            print("Not activated: the calibration in use is unchanged.", file=out)
            return 1
        st = svc.activate(actor="cli")
        print(f"Calibration #{st['calibration_id']} is active.", file=out)
        return 0
    except (KeyboardInterrupt, CalibrationError, ConflictError):
        wf = svc.workflow
        if wf is not None and wf.active:
            with contextlib.suppress(ConflictError):
                svc.cancel(actor="cli")
        print("\nCalibration stopped: the calibration in use is unchanged.", file=out)
        raise
