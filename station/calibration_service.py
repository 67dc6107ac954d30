"""The calibration service: workflow, automatic re-zero and history on a running station.

``CalibrationService(acquisition, store, is_recording=recorder.is_busy)`` is created by
:class:`station.runtime.Station` (with simulated plates also given the
:class:`~calibration.sim_operator.SimOperator` that places the masses). It

* runs at most one :class:`~calibration.workflow.CalibrationWorkflow` at a time, feeding it
  the acquisition's frames (read by sequence number from ``acquisition.buffer``) from a
  small background thread, and on activation stores the calibration (kind
  ``"calibration"``, with its fit report and verification) and applies it;
* watches every frame with a :class:`~calibration.drift.DriftMonitor` and applies and
  stores re-zeros (kind ``"rezero"``) between trials, never while ``is_recording()``
  or a workflow runs;
* on start-up re-applies the latest re-zero of the active calibration, so a restart
  keeps the current zero.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from calibration.drift import DriftMonitor, DriftRule, Rezero, drift_warning, offset_drift_n
from calibration.sim_operator import SimOperator
from calibration.tare import TareLimits, tare
from calibration.workflow import CalibrationWorkflow
from station.core.calibration import Calibration
from station.core.errors import CalibrationError, ConflictError, InputError, NotFoundError
from station.core.geometry import CHANNELS, Geometry

if TYPE_CHECKING:
    from station.acquisition import Acquisition
    from station.storage import Store

log = logging.getLogger(__name__)

#: Name recorded as ``created_by`` for automatic re-zeros.
AUTO_ACTOR = "auto-rezero"


def active_calibration(store: Store, *, default_geometry: Geometry | None = None) -> Calibration:
    """The active full calibration from the store (the factory default when there is none).

    The service re-applies the latest re-zero of it when it starts.
    """
    row = store.active_calibration("calibration")
    if row is None:
        return Calibration(geometry=default_geometry or Geometry())
    try:
        return Calibration.from_row(row)
    except (KeyError, TypeError, ValueError) as exc:
        log.error("active calibration %s is unreadable (%s); using the defaults", row.get("id"), exc)
        return Calibration(geometry=default_geometry or Geometry())


class CalibrationService:
    def __init__(
        self,
        acquisition: Acquisition,
        store: Store,
        *,
        is_recording: Callable[[], bool] = lambda: False,
        rule: DriftRule = DriftRule(),
        drift_enabled: bool = True,
        background: bool = True,
        poll_s: float = 0.2,
        operator: SimOperator | None = None,
    ) -> None:
        self.acquisition = acquisition
        self.store = store
        self._is_recording = is_recording
        self.workflow: CalibrationWorkflow | None = None
        self._seq = 0
        self._lock = threading.RLock()
        self._rezeros: queue.Queue[Rezero] = queue.Queue()
        self.last_rezero: dict[str, Any] | None = None
        self.warning: str | None = None
        self._restore_rezero()
        # With simulated plates a simulated operator places the masses (demo, CLI, tests).
        self.operator = operator
        if self.operator is not None:
            acquisition.add_frame_hook(self.operator.run_pending)
        self.monitor = DriftMonitor(
            get_calibration=lambda: self.acquisition.calibration,
            on_rezero=self._rezeros.put,
            is_blocked=self.is_blocked,
            rule=rule,
            enabled=drift_enabled,
        )
        acquisition.add_frame_hook(self.monitor.feed_sample)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_s = poll_s
        if background:
            self._thread = threading.Thread(target=self._run, name="calibration", daemon=True)
            self._thread.start()

    # -- life cycle ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.poll()
            except Exception:  # the service must outlive a bad frame or a locked database
                log.exception("calibration service poll failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def is_busy(self) -> bool:
        """True while a calibration workflow runs: the recorder should not start a trial then."""
        wf = self.workflow
        return wf is not None and wf.active

    def is_blocked(self) -> bool:
        """True while a trial or a calibration workflow runs (no automatic re-zero then)."""
        wf = self.workflow
        return bool(self._is_recording()) or (wf is not None and wf.active)

    def poll(self) -> None:
        """Feed new frames to the workflow and apply pending re-zeros (background thread)."""
        with self._lock:
            wf = self.workflow
            if wf is not None and wf.active:
                arrays, _first, nxt = self.acquisition.buffer.read_since(self._seq)
                self._seq = nxt
                if len(arrays["t_ns"]):
                    wf.feed(arrays["t_ns"], arrays["counts"], arrays["invalid"])
            if wf is not None and self.operator is not None:
                self.operator.act(wf.status())
        while True:
            try:
                rz = self._rezeros.get_nowait()
            except queue.Empty:
                break
            if self.monitor.enabled:
                self._apply_rezero(rz)
            else:
                self._note_zero(rz)

    # -- re-zero -------------------------------------------------------------------------
    def _reference(self) -> Calibration | None:
        """The active full calibration (what drift is measured against), if readable."""
        row = self.store.active_calibration("calibration")
        if row is None:
            return None
        try:
            return Calibration.from_row(row)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("active calibration %s is unreadable: %s", row.get("id"), exc)
            return None

    def _restore_rezero(self) -> None:
        """Re-apply the latest re-zero of the calibration in use (after a restart)."""
        cal = self.acquisition.calibration
        row = self.store.active_calibration("rezero")
        if row is None or cal.id is None:
            return
        if row["data"].get("based_on") != cal.id:
            return
        try:
            self.acquisition.set_calibration(Calibration.from_row(row))
            log.info("re-applied re-zero %s of calibration %s", row["id"], cal.id)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("stored re-zero %s is unreadable (%s); keeping calibration %s", row["id"], exc, cal.id)

    def _apply_rezero(self, rz: Rezero, *, actor: str = AUTO_ACTOR, manual: bool = False) -> dict[str, Any] | None:
        if not manual and self.is_blocked():
            log.info("re-zero skipped: a trial or calibration started meanwhile")
            return None
        cal = self.acquisition.calibration
        new = cal.with_offsets(rz.offsets_counts)
        change = rz.change_n(cal.gains_n_per_count)
        ref = self._reference()
        data = new.to_dict()
        data.update(
            {
                "id": None,
                "based_on": ref.id if ref is not None else None,
                "rezero": {
                    "manual": manual,
                    "n_frames": rz.n_frames,
                    "change_n": [round(float(v), 4) for v in change],
                    "cell_sd_n": [round(float(v), 4) for v in rz.cell_sd_n],
                },
            }
        )
        rid = self.store.save_calibration(kind="rezero", data=data, created_by=actor, activate=True)
        self.acquisition.set_calibration(replace(new, id=rid, is_default=cal.is_default))
        self.last_rezero = {"id": rid, "change_n": data["rezero"]["change_n"], "manual": manual}
        log.info(
            "re-zero %s (%s): zero change per cell %s N", rid, actor, ", ".join(f"{v:+.2f}" for v in change)
        )
        self.warning = drift_warning(self.acquisition.calibration, ref, self.monitor.rule) if ref else None
        if self.warning:
            log.warning("calibration drift: %s", self.warning)
        return self.last_rezero

    def _note_zero(self, rz: Rezero) -> None:
        """Automatic re-zero off: only warn when the measured zero has drifted too far."""
        ref = self._reference()
        if ref is None:
            return
        measured = self.acquisition.calibration.with_offsets(rz.offsets_counts)
        warning = drift_warning(measured, ref, self.monitor.rule)
        if warning and warning != self.warning:
            log.warning("calibration drift (automatic re-zero is off): %s", warning)
        self.warning = warning

    def rezero_now(self, *, actor: str) -> dict[str, Any]:
        """Operator-requested re-zero from the last 2 s (plates must be empty and still)."""
        if self._is_recording():
            raise ConflictError("a trial is being recorded; re-zero after it ends")
        if self.workflow is not None and self.workflow.active:
            raise ConflictError("a calibration is in progress; finish or cancel it first")
        self.acquisition.require_frames()
        rate = max(self.acquisition.source.rate_hz, 1.0)
        arrays, _, nxt = self.acquisition.buffer.read_since(self.acquisition.buffer.next_seq - int(2 * rate))
        cal = self.acquisition.calibration
        res = tare(arrays["counts"], t_ns=arrays["t_ns"], invalid=arrays["invalid"], calibration=cal,
                   rate_hz=rate, limits=TareLimits(max_plate_load_n=self.monitor.rule.max_plate_force_n * 3))
        rz = Rezero(
            t_ns=int(arrays["t_ns"][-1]),
            offsets_counts=res.offsets_counts,
            previous_offsets_counts=cal.offsets_counts,
            n_frames=res.n_frames,
            cell_sd_n=tuple(float(s) * abs(g) for s, g in zip(res.cell_sd_counts, cal.gains_n_per_count, strict=True)),
        )
        out = self._apply_rezero(rz, actor=actor, manual=True)
        assert out is not None
        return out

    # -- workflow ------------------------------------------------------------------------
    def start_workflow(
        self,
        *,
        mass_kg: float = 20.0,
        linearity_mass_kg: float | None = None,
        verify_mass_kg: float | None = None,
        geometry: Geometry | dict[str, Any] | None = None,
        actor: str | None = None,
        verify_only: bool = False,
    ) -> dict[str, Any]:
        """Start a guided calibration, or with ``verify_only`` a verification of the
        calibration in use (tare, then the verification points; stored with it)."""
        with self._lock:
            if self.workflow is not None and self.workflow.active:
                raise ConflictError(
                    f"a calibration is already in progress (state '{self.workflow.state}', "
                    f"started by {self.workflow.started_by or 'someone'})",
                    hint="Finish it, or cancel it first.",
                )
            if self._is_recording():
                raise ConflictError("a trial is being recorded; calibrate when it has ended")
            self.acquisition.require_frames()
            if isinstance(geometry, dict):
                try:
                    geometry = Geometry.from_dict(geometry)
                except ValueError as exc:
                    raise InputError(str(exc), hint="Send plate centres and cell positions in millimetres.") from None
            cal = self.acquisition.calibration
            rate = float(self.acquisition.achieved_rate_hz() or self.acquisition.source.rate_hz)
            self.workflow = CalibrationWorkflow(
                geometry=geometry or cal.geometry,
                base=cal,
                mass_kg=mass_kg,
                linearity_mass_kg=linearity_mass_kg,
                verify_mass_kg=verify_mass_kg,
                rate_hz=min(max(rate, 1.0), 1000.0),
                started_by=actor,
                verify_only=verify_only,
            )
            # Start with the frames already buffered, so a tare can follow at once.
            self._seq = max(0, self.acquisition.buffer.next_seq - self.workflow.tare_frames)
            log.info("calibration workflow started by %s", actor)
        self.poll()
        return self.workflow_status()

    def _wf(self) -> CalibrationWorkflow:
        if self.workflow is None:
            raise ConflictError("no calibration in progress", hint="Start a calibration first.")
        return self.workflow

    def workflow_status(self) -> dict[str, Any]:
        if self.workflow is None:
            return {"state": "idle", "next": "Start a calibration."}
        return self.workflow.status()

    def tare(self) -> dict[str, Any]:
        self.poll()
        self._wf().do_tare()
        return self.workflow_status()

    def capture(self, *, anyway: bool = False) -> dict[str, Any]:
        self.poll()
        self._wf().capture_now(anyway=anyway)
        return self.workflow_status()

    def fit(self) -> dict[str, Any]:
        self._wf().fit()
        return self.workflow_status()

    def verify(self) -> dict[str, Any]:
        self._wf().start_verification()
        return self.workflow_status()

    def cancel(self, *, actor: str | None = None) -> dict[str, Any]:
        self._wf().cancel()
        log.info("calibration workflow cancelled by %s", actor)
        return self.workflow_status()

    def activate(self, *, actor: str | None) -> dict[str, Any]:
        """Store the verified calibration with its report and verification, and apply it."""
        with self._lock:
            wf = self._wf()
            if self._is_recording():
                raise ConflictError("a trial is being recorded; activate the calibration after it ends")
            if wf.verify_only:
                return self._save_verification(wf, actor)
            cal, report = wf.activate()
            data = cal.to_dict()
            data.update({"fit": report, "workflow": {"started_by": wf.started_by}})
            cid = self.store.save_calibration(kind="calibration", data=data, created_by=actor, activate=True)
            verification = dict(wf.verification or {})
            verification["calibration_id"] = cid
            self.store.set_verification(cid, verification)
            self.acquisition.set_calibration(replace(cal, id=cid, is_default=False))
            wf.mark_activated(cid)
            self.warning = None
            log.info("calibration %s activated by %s", cid, actor)
        return self.workflow_status()

    def _save_verification(self, wf: CalibrationWorkflow, actor: str | None) -> dict[str, Any]:
        """Verify-only: store the new report with the calibration, keeping the earlier ones."""
        cid = wf.base.id
        assert cid is not None
        report = wf.verification_report()
        row = self.store.get_calibration(cid)
        old = row.get("verification") or {}
        earlier = list(old.pop("earlier", []))
        if old:
            earlier.append(old)
        report.update({"calibration_id": cid, "verified_by": actor, "earlier": earlier[-20:]})
        self.store.set_verification(cid, report)
        self.store.log_change(actor=actor, action="calibration.verify", target=f"calibration {cid}")
        wf.mark_activated(cid)
        log.info("calibration %s verified by %s: %s", cid, actor, "passed" if report["passed"] else "FAILED")
        return self.workflow_status()

    # -- history -------------------------------------------------------------------------
    def current(self) -> dict[str, Any]:
        """The calibration in use, the active full calibration, drift and the rule."""
        cal = self.acquisition.calibration
        ref = self._reference()
        drift = offset_drift_n(cal, ref) if ref is not None else np.zeros(len(CHANNELS))
        return {
            "in_use": cal.to_dict(),
            "calibration": self._row_summary(self.store.active_calibration("calibration")),
            "last_rezero": self._row_summary(self.store.active_calibration("rezero")),
            "uncalibrated": ref is None,
            "offset_drift_n": {ch: round(float(v), 3) for ch, v in zip(CHANNELS, drift, strict=True)},
            "warning": self.warning
            or (drift_warning(cal, ref, self.monitor.rule) if ref is not None else
                "the plates have never been calibrated: forces and CoP are nominal estimates"),
            "auto_rezero": self.monitor.status(),
            "workflow": self.workflow.state if self.workflow is not None else "idle",
        }

    @staticmethod
    def _row_summary(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {
            "id": row["id"],
            "kind": row["kind"],
            "created_at": row["created_at"],
            "created_by": row["created_by"],
            "active": row["active"],
            "verification_passed": (row.get("verification") or {}).get("passed"),
            "based_on": row["data"].get("based_on"),
        }

    def history(self, *, limit: int = 50, kind: str | None = None) -> list[dict[str, Any]]:
        rows = self.store.list_calibrations(limit=limit, kind=kind)
        return [s for s in (self._row_summary(r) for r in rows) if s is not None]

    def get(self, calibration_id: int) -> dict[str, Any]:
        return self.store.get_calibration(calibration_id)

    def activate_existing(self, calibration_id: int, *, actor: str | None) -> dict[str, Any]:
        """Make an earlier full calibration the active one again (e.g. undo a bad one)."""
        row = self.store.get_calibration(calibration_id)
        if row["kind"] != "calibration":
            raise CalibrationError(
                f"calibration {calibration_id} is a {row['kind']}, not a full calibration",
                hint="Activate a row of kind 'calibration'.",
            )
        if self._is_recording():
            raise ConflictError("a trial is being recorded; switch calibration after it ends")
        if self.workflow is not None and self.workflow.active:
            raise ConflictError("a calibration is in progress; finish or cancel it first")
        try:
            cal = Calibration.from_row(row)
        except (KeyError, TypeError, ValueError) as exc:
            raise NotFoundError(f"calibration {calibration_id} is unreadable: {exc}") from None
        self.store.activate_calibration(calibration_id, actor=actor)
        self.acquisition.set_calibration(cal)
        self.warning = None
        return self.current()
