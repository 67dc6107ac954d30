"""The guided calibration workflow: a small state machine shared by the API, kiosk and CLI.

::

    tare --tare()--> capture (one step per mass position, captured automatically
                              when the mass is where it should be and still)
         --fit()--> fitted --start_verification()--> verifying (zero again on the empty
                  plates, then capture at other points with the fitted gains)
         --(last point)--> verified --activate()--> activated

``cancel()`` is allowed in every state before ``activated`` and changes nothing: the
workflow never touches the acquisition or the database itself; only the caller
(:class:`station.calibration_service.CalibrationService`) stores and applies the calibration
that :meth:`CalibrationWorkflow.activate` hands back. A refused step (tare, fit) moves
to ``failed`` with the reason; start again from the beginning.

Frames are fed in with :meth:`CalibrationWorkflow.feed` (any batch size). Auto-capture
needs, over the last ``capture_s`` seconds since the step began: the loaded plate's
force within 15 % of the mass's weight, the other plate under 20 N, the CoP within
40 mm of the asked position (these use a provisional calibration: tare offsets and
the current gains, so they tolerate uncalibrated cells), and the stability limits of
:mod:`calibration.capture`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from calibration.capture import (
    Capture,
    StabilityLimits,
    make_capture,
    plate_index,
    unstable_reason,
    window_stats,
)
from calibration.fit import FitLimits, FitResult, fit_calibration
from calibration.tare import TareLimits, TareResult, tare
from calibration.verify import VerifyLimits, verify
from station.core.calibration import NOMINAL_COUNTS_PER_N, Calibration
from station.core.errors import CalibrationError, ConflictError
from station.core.geometry import CHANNELS, PLATES, Geometry
from station.core.physics import CONTACT_THRESHOLD_N, G_M_S2

_CELL_WORDS = {"fl": "front-left", "fr": "front-right", "bl": "back-left", "br": "back-right"}

#: Auto-capture tolerances against the provisional calibration (see module docstring).
FORCE_TOLERANCE = 0.15
POSITION_TOLERANCE_MM = 40.0

STATES = ("tare", "capture", "fitted", "verifying", "verified", "activated", "cancelled", "failed")


@dataclass(frozen=True)
class Step:
    """Put ``mass_kg`` on ``plate`` at lab position ``position_mm``."""

    phase: str  # "fit" or "verify"
    plate: str
    mass_kg: float
    position_mm: tuple[float, float]
    label: str

    def instruction(self) -> str:
        other = "right" if self.plate == "left" else "left"
        return (
            f"Place {self.mass_kg:g} kg on the {self.label} "
            f"(x = {self.position_mm[0]:.0f} mm, y = {self.position_mm[1]:.0f} mm) and let go. "
            f"Keep the {other} plate empty."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "plate": self.plate,
            "mass_kg": self.mass_kg,
            "position_mm": list(self.position_mm),
            "label": self.label,
            "instruction": self.instruction(),
        }


def fit_steps(geometry: Geometry, *, mass_kg: float, linearity_mass_kg: float | None = None) -> list[Step]:
    """Per plate: the mass over each cell, then at the centre (and a second mass there)."""
    steps: list[Step] = []
    for plate in PLATES:
        pg = geometry.plates[plate]
        for name, pos in zip(pg.cells_mm, pg.cell_positions_mm(), strict=True):
            steps.append(Step("fit", plate, mass_kg, (float(pos[0]), float(pos[1])),
                              f"{plate} plate, over the {_CELL_WORDS[name]} cell"))
        c = (float(pg.center_mm[0]), float(pg.center_mm[1]))
        steps.append(Step("fit", plate, mass_kg, c, f"{plate} plate, centre"))
        if linearity_mass_kg:
            steps.append(Step("fit", plate, linearity_mass_kg, c, f"{plate} plate, centre"))
    return steps


def verify_steps(geometry: Geometry, *, mass_kg: float) -> list[Step]:
    """Per plate three points that are not fit positions: half-way to two opposite cells
    (front-left and back-right) and half-way to the back edge."""
    steps: list[Step] = []
    for plate in PLATES:
        pg = geometry.plates[plate]
        c = np.asarray(pg.center_mm, dtype=float)
        rel = pg.cell_positions_mm() - c  # fl, fr, bl, br
        points = [
            (c + rel[0] / 2, "half-way from the centre to the front-left cell"),
            (c + rel[3] / 2, "half-way from the centre to the back-right cell"),
            (c + (rel[2] + rel[3]) / 4, "half-way from the centre to the back edge"),
        ]
        for p, where in points:
            steps.append(Step("verify", plate, mass_kg, (float(p[0]), float(p[1])), f"{plate} plate, {where}"))
    return steps


class _Frames:
    """A fixed-capacity ring of the most recent frames."""

    def __init__(self, capacity: int) -> None:
        self.t_ns = np.zeros(capacity, dtype=np.int64)
        self.counts = np.zeros((capacity, len(CHANNELS)), dtype=np.float64)
        self.invalid = np.zeros(capacity, dtype=np.int64)
        self.n = 0  # frames ever appended

    def append(self, t_ns: np.ndarray, counts: np.ndarray, invalid: np.ndarray) -> None:
        cap = len(self.t_ns)
        k = len(t_ns)
        if k >= cap:
            t_ns, counts, invalid = t_ns[-cap:], counts[-cap:], invalid[-cap:]
            self.n += k - cap
            k = cap
        idx = (self.n + np.arange(k)) % cap
        self.t_ns[idx] = t_ns
        self.counts[idx] = counts
        self.invalid[idx] = invalid
        self.n += k

    def last(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = min(k, self.n, len(self.t_ns))
        idx = (self.n - k + np.arange(k)) % len(self.t_ns)
        return self.t_ns[idx], self.counts[idx], self.invalid[idx]


class CalibrationWorkflow:
    """One guided calibration. Thread-safe (a lock guards every public method)."""

    def __init__(
        self,
        *,
        geometry: Geometry,
        base: Calibration,
        mass_kg: float = 20.0,
        linearity_mass_kg: float | None = None,
        verify_mass_kg: float | None = None,
        rate_hz: float = 80.0,
        started_by: str | None = None,
        tare_s: float = 2.0,
        capture_s: float = 2.0,
        tare_limits: TareLimits = TareLimits(),
        stability: StabilityLimits = StabilityLimits(),
        fit_limits: FitLimits = FitLimits(),
        verify_limits: VerifyLimits = VerifyLimits(),
        verify_only: bool = False,
    ) -> None:
        if verify_only and (base.id is None or base.is_default):
            raise CalibrationError(
                "there is no stored calibration to verify", hint="Run a full calibration first."
            )
        for name, m in (("mass_kg", mass_kg), ("linearity_mass_kg", linearity_mass_kg), ("verify_mass_kg", verify_mass_kg)):
            if m is not None and not (1.0 <= m <= 200.0):
                raise CalibrationError(f"{name} must be between 1 and 200 kg, got {m}")
        self.geometry = geometry
        self.base = base
        self.rate_hz = float(rate_hz)
        self.started_by = started_by
        self.started_at = time.time()
        self.verify_only = verify_only
        self.steps = [] if verify_only else fit_steps(geometry, mass_kg=mass_kg, linearity_mass_kg=linearity_mass_kg)
        self.verification_steps = verify_steps(geometry, mass_kg=verify_mass_kg or mass_kg)
        self.tare_frames = max(int(round(tare_s * rate_hz)), 8)
        self.capture_frames = max(int(round(capture_s * rate_hz)), 8)
        self.tare_limits = tare_limits
        self.stability = stability
        self.fit_limits = fit_limits
        self.verify_limits = verify_limits
        self.state = "tare"
        self.step_index = 0
        self.captures: list[Capture] = []
        self.verify_captures: list[Capture] = []
        self.tare_result: TareResult | None = None
        self.fit_result: FitResult | None = None
        self.verification: dict[str, Any] | None = None
        self.error: str | None = None
        self.hint: str | None = None
        self.activated_id: int | None = None
        self._frames = _Frames(max(self.tare_frames, self.capture_frames) * 2)
        self._step_start_n = 0
        self._live: dict[str, Any] = {}
        self._lock = threading.RLock()

    # -- inputs -----------------------------------------------------------------------
    def feed(self, t_ns: np.ndarray, counts: np.ndarray, invalid: np.ndarray | None = None) -> Capture | None:
        """Add frames; in a capture state, capture when the mass is in place and still.

        Returns the new capture, if one was taken.
        """
        counts = np.atleast_2d(np.asarray(counts))
        if counts.shape[0] == 0:
            return None
        t = np.atleast_1d(np.asarray(t_ns, dtype=np.int64))
        inv = np.zeros(len(t), dtype=np.int64) if invalid is None else np.atleast_1d(np.asarray(invalid))
        with self._lock:
            self._frames.append(t, counts, inv)
            if self.state in ("capture", "verifying"):
                return self._try_capture(manual=False)
            self._update_live_idle()
        return None

    def _provisional(self) -> Calibration:
        if self.state == "verifying" and self.fit_result is not None:
            return self.fit_result.calibration
        offsets = self.tare_result.offsets_counts if self.tare_result else self.base.offsets_counts
        gains = tuple(
            g if g > 0 else 1.0 / NOMINAL_COUNTS_PER_N for g in self.base.gains_n_per_count
        )  # a backwards cell in the base calibration must not hide the mass
        return Calibration(offsets_counts=offsets, gains_n_per_count=gains, geometry=self.geometry, is_default=False)

    def current_step(self) -> Step | None:
        steps = self.steps if self.state == "capture" else self.verification_steps if self.state == "verifying" else []
        return steps[self.step_index] if self.step_index < len(steps) else None

    def _update_live_idle(self) -> None:
        _, c, _ = self._frames.last(self.tare_frames)
        if len(c) < 2:
            return
        cal = self._provisional()
        loads = cal.counts_to_newtons(c)
        known_zero = self.tare_result is not None or not self.base.is_default or self.base.id is not None
        recent = loads[-min(len(loads), 8):].mean(axis=0)
        self._live = {
            # Without any zero yet the absolute force means nothing; the spread still shows stillness.
            "force_n": {p: round(float(recent[plate_index(p)].sum()), 1) for p in PLATES} if known_zero else None,
            "cell_sd_n": round(float(loads.std(axis=0).max()), 3),
            "message": None,
        }

    def _try_capture(self, *, manual: bool, anyway: bool = False) -> Capture | None:
        step = self.current_step()
        if step is None:
            return None
        since = self._frames.n - self._step_start_n
        _, c, inv = self._frames.last(min(self.capture_frames, since))
        cal = self._provisional()
        weight = step.mass_kg * G_M_S2
        live: dict[str, Any] = {"expected_force_n": round(weight, 1), "progress": 0.0, "stable": False}
        self._live = live
        if len(c) < 2:
            live["message"] = step.instruction()
            if manual:
                raise CalibrationError("no readings since this step began", hint="Wait a moment and try again.")
            return None
        loads = cal.counts_to_newtons(c)
        sl = plate_index(step.plate)
        other = slice(4, 8) if sl.start == 0 else slice(0, 4)
        fz = loads[:, sl].sum(axis=1)
        f_other = loads[:, other].sum(axis=1)
        pos = self.geometry.cell_positions_mm()[sl]
        with np.errstate(invalid="ignore", divide="ignore"):
            cop = (loads[:, sl] @ pos) / fz[:, None]
        dist = np.linalg.norm(cop - np.asarray(step.position_mm), axis=1)
        ok = (np.abs(fz - weight) <= FORCE_TOLERANCE * weight) & (np.abs(f_other) < CONTACT_THRESHOLD_N) & (
            dist <= POSITION_TOLERANCE_MM
        )
        run = int(np.argmin(ok[::-1])) if not ok.all() else len(ok)
        live.update(
            {
                "force_n": {step.plate: round(float(fz[-1]), 1), ("right" if step.plate == "left" else "left"): round(float(f_other[-1]), 1)},
                "cop_mm": None if fz[-1] < CONTACT_THRESHOLD_N or not np.isfinite(cop[-1]).all()
                else [round(float(v), 1) for v in cop[-1]],
                "progress": round(run / self.capture_frames, 3),
            }
        )
        last = -1
        if anyway:
            # The operator says the mass is in place: only stillness is required.
            if len(c) < self.capture_frames:
                raise CalibrationError(
                    f"not enough readings yet ({len(c)} of {self.capture_frames})",
                    hint="Wait two seconds after placing the mass, then capture again.",
                )
            reason = unstable_reason(
                window_stats(c, plate=step.plate, calibration=cal), expected_n=weight, limits=self.stability
            )
            if reason is not None:
                raise CalibrationError(f"cannot capture: {reason}", hint="Let the mass come to rest first.")
            return self._capture(step, c, inv, cal)
        fault_hint = (
            " If the mass is on the marked spot, a cell may be dead, wired backwards or on the wrong "
            "board, or the mass is not what was entered: capture anyway and the fit will say which."
        )
        still = len(c) >= self.capture_frames and unstable_reason(
            window_stats(c, plate=step.plate, calibration=cal), expected_n=weight, limits=self.stability
        ) is None and float(np.abs(loads[-1, sl]).sum()) > 0.2 * weight
        if abs(fz[last] - weight) > FORCE_TOLERANCE * weight:
            live["message"] = (
                f"{step.instruction()} The {step.plate} plate reads {fz[last]:.0f} N, "
                f"expected about {weight:.0f} N."
            ) + (fault_hint if still else "")
        elif abs(f_other[last]) >= CONTACT_THRESHOLD_N:
            live["message"] = f"Clear the other plate: it reads {f_other[last]:.0f} N."
        elif dist[last] > POSITION_TOLERANCE_MM:
            live["message"] = (
                f"The mass seems to be at ({cop[last, 0]:.0f}, {cop[last, 1]:.0f}) mm; move it to "
                f"({step.position_mm[0]:.0f}, {step.position_mm[1]:.0f}) mm ({step.label})."
            ) + (fault_hint if still else "")
        elif run < self.capture_frames:
            live["message"] = "Hold still: capturing when the reading has been steady for a moment."
        else:
            reason = unstable_reason(
                window_stats(c, plate=step.plate, calibration=cal), expected_n=weight, limits=self.stability
            )
            if reason is None:
                live["stable"] = True
                return self._capture(step, c, inv, cal)
            live["message"] = f"Waiting for the mass to settle: {reason}."
        if manual:
            raise CalibrationError(
                f"cannot capture now: {live['message']}",
                hint="Use 'capture anyway' only if the mass is on the marked spot.",
            )
        return None

    def _capture(self, step: Step, c: np.ndarray, inv: np.ndarray, cal: Calibration) -> Capture:
        cap = make_capture(
            c, plate=step.plate, mass_kg=step.mass_kg, position_mm=step.position_mm,
            calibration=cal, invalid=inv, label=step.label, limits=self.stability,
        )
        target = self.captures if self.state == "capture" else self.verify_captures
        target.append(cap)
        self.step_index += 1
        self._step_start_n = self._frames.n
        self._live = {"message": "Captured.", "progress": 1.0, "stable": True}
        if self.state == "verifying" and self.step_index >= len(self.verification_steps):
            assert self.fit_result is not None
            self.verification = verify(self.fit_result.calibration, self.verify_captures, limits=self.verify_limits)
            self.state = "verified"
        return cap

    # -- operator actions -------------------------------------------------------------
    def _require(self, *states: str) -> None:
        if self.state not in states:
            raise ConflictError(
                f"the calibration workflow is in state '{self.state}'; this needs {' or '.join(states)}",
                hint="GET the workflow status to see the next step, or cancel and start again.",
            )

    def do_tare(self) -> TareResult:
        """Tare from the last ``tare_s`` of frames (both plates must be empty and still)."""
        with self._lock:
            self._require("tare", "capture")
            t, c, inv = self._frames.last(self.tare_frames)
            self._need_window(len(c))
            try:
                self.tare_result = tare(
                    c, t_ns=t, invalid=inv, calibration=self.base, rate_hz=self.rate_hz, limits=self.tare_limits
                )
            except CalibrationError as exc:
                # A refused tare can be retried: stay in "tare".
                self.error, self.hint = exc.message, exc.hint
                raise
            self.error = self.hint = None
            self.step_index = 0
            self.captures = []
            self._step_start_n = self._frames.n
            if self.verify_only:
                # Check the calibration in use, with this fresh zero.
                cal = self.base.with_offsets(self.tare_result.offsets_counts)
                self.fit_result = FitResult(cal, {"verify_only": True, "calibration_id": self.base.id})
                self.state = "verifying"
            else:
                self.state = "capture"
            return self.tare_result

    def capture_now(self, *, anyway: bool = False) -> Capture:
        """Capture the current step now.

        With the automatic checks, or with ``anyway=True`` only the stillness check: for
        when the operator knows the mass is in place but the provisional reading is off
        (a dead or reversed cell), so the fit can name the fault.
        """
        with self._lock:
            self._require("capture", "verifying")
            cap = self._try_capture(manual=True, anyway=anyway)
            assert cap is not None
            return cap

    def fit(self) -> FitResult:
        with self._lock:
            self._require("capture")
            if self.step_index < len(self.steps):
                raise ConflictError(
                    f"{len(self.steps) - self.step_index} of {len(self.steps)} positions still to capture",
                    hint=self.steps[self.step_index].instruction(),
                )
            assert self.tare_result is not None
            try:
                self.fit_result = fit_calibration(
                    self.captures, offsets_counts=self.tare_result.offsets_counts,
                    geometry=self.geometry, limits=self.fit_limits,
                )
            except CalibrationError as exc:
                self._fail(exc)
                raise
            self.state = "fitted"
            return self.fit_result

    def start_verification(self) -> TareResult:
        """Zero again on the empty plates (zeros drift during a long calibration), then
        verify at the verification points with the fitted gains."""
        with self._lock:
            self._require("fitted", "verified")
            assert self.fit_result is not None
            t, c, inv = self._frames.last(self.tare_frames)
            self._need_window(len(c))
            fitted = self.fit_result.calibration
            try:
                rezero = tare(
                    c, t_ns=t, invalid=inv, calibration=fitted, rate_hz=self.rate_hz,
                    limits=replace(self.tare_limits, max_plate_load_n=CONTACT_THRESHOLD_N),
                )
            except CalibrationError as exc:
                self.error, self.hint = exc.message, exc.hint
                raise
            self.error = self.hint = None
            report = dict(self.fit_result.report)
            report["verification_zero"] = rezero.to_dict()
            self.fit_result = FitResult(fitted.with_offsets(rezero.offsets_counts), report)
            self.state = "verifying"
            self.step_index = 0
            self.verify_captures = []
            self.verification = None
            self._step_start_n = self._frames.n
            return rezero

    def activate(self) -> tuple[Calibration, dict[str, Any]]:
        """The verified calibration and its report, for the caller to store and apply."""
        with self._lock:
            self._require("verified")
            assert self.fit_result is not None and self.verification is not None
            if not self.verification["passed"]:
                bad = [p for p in self.verification["points"] if not p["passed"]]
                raise CalibrationError(
                    f"verification failed at {len(bad)} point(s), e.g. {bad[0]['label']}: force "
                    f"{bad[0]['force_error_pct']:+.2f} %, CoP {bad[0]['cop_error_mm']:.1f} mm off",
                    hint="Check the mass and its placement and verify again, or cancel and recalibrate.",
                )
            report = dict(self.fit_result.report)
            report["tare"] = self.tare_result.to_dict() if self.tare_result else None
            return self.fit_result.calibration, report

    def mark_activated(self, calibration_id: int) -> None:
        with self._lock:
            self.activated_id = calibration_id
            self.state = "activated"

    def verification_report(self) -> dict[str, Any]:
        """Verify-only mode: the finished verification of the calibration in use."""
        with self._lock:
            self._require("verified")
            assert self.verification is not None
            return dict(self.verification)

    def cancel(self) -> None:
        with self._lock:
            if self.state in ("activated", "cancelled"):
                raise ConflictError(f"the calibration workflow is already {self.state}")
            self.state = "cancelled"

    def _need_window(self, n: int) -> None:
        if n < int(0.9 * self.tare_frames):
            raise CalibrationError(
                f"the zero needs {self.tare_frames / self.rate_hz:.0f} s of readings, "
                f"only {n / self.rate_hz:.1f} s so far",
                hint="Wait a moment with the plates clear, then try again.",
            )

    def _fail(self, exc: CalibrationError) -> None:
        self.state = "failed"
        self.error, self.hint = exc.message, exc.hint

    @property
    def active(self) -> bool:
        """True while the workflow may still change something (not finished)."""
        return self.state not in ("activated", "cancelled", "failed")

    # -- status -----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._lock:
            step = self.current_step()
            n_steps = len(self.steps) if self.state in ("tare", "capture") else len(self.verification_steps)
            next_action = {
                "tare": "Clear both plates, keep hands off, then tare.",
                "capture": step.instruction() if step else "All positions captured: fit.",
                "fitted": "Fit done: take the mass off, keep the plates clear, then start the verification.",
                "verifying": step.instruction() if step else "",
                "verified": (
                    "Verification done: save it." if self.verify_only
                    else "Verification passed: activate." if self.verification and self.verification["passed"]
                    else "Verification failed: verify again or cancel."
                ),
                "activated": "Done: the verification is stored with the calibration." if self.verify_only
                else "Done: the new calibration is active.",
                "cancelled": "Cancelled: the active calibration is unchanged.",
                "failed": "Start again.",
            }[self.state]
            return {
                "state": self.state,
                "verify_only": self.verify_only,
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_at)),
                "started_by": self.started_by,
                "next": next_action,
                "step_index": self.step_index,
                "n_steps": n_steps,
                "step": step.to_dict() if step else None,
                "steps": [s.to_dict() for s in self.steps],
                "verification_steps": [s.to_dict() for s in self.verification_steps],
                "captured": len(self.captures),
                "verified_points": len(self.verify_captures),
                "live": dict(self._live),
                "tare": self.tare_result.to_dict() if self.tare_result else None,
                "fit": self.fit_result.report.get("plates") if self.fit_result else None,
                "verification": self.verification,
                "calibration_id": self.activated_id,
                "error": self.error,
                "hint": self.hint,
                "geometry": self.geometry.to_dict(),
            }
