"""The session report as a PDF (reportlab for the pages, matplotlib for the stabilograms).

Everything printed comes from the store and the analysis: the summary
(:func:`station.analysis.summary.session_summary`), the bands
(:data:`station.core.reference.BANDS`), the stabilograms from the same series the
results page draws (:func:`station.analysis.plot.trial_plot`). Labels come from the
kiosk's translations, passed in by the caller.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on the station
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: E402

from station.analysis.plot import COP_SERIES, trial_plot  # noqa: E402
from station.core.geometry import Geometry  # noqa: E402
from station.core.reference import Band, bands_for  # noqa: E402
from station.export.common import trial_loads  # noqa: E402
from station.storage import Store  # noqa: E402

METHODS = {
    "en": "Centre of pressure from four load cells per plate (vertical force only), low-passed with a zero-lag "
    "4th-order Butterworth filter; sway over the protocol's window after lift-off (Prieto et al. 1996): 95 % "
    "confidence ellipse area, mean velocity, medio-lateral range. Contacts at 20 N. Pelvic drop and knee "
    "frontal plane projection angle (FPPA) from 2-D video of coloured markers, peak per squat repetition. "
    "Left and right are compared on the latest complete trial of each leg; incomplete or interrupted trials "
    "are listed but not compared. Reference values are context from published groups, not a diagnosis.",
    "nl": "Drukpunt uit vier krachtopnemers per krachtplaat (alleen verticale kracht), gefilterd met een "
    "fasevrij 4e-orde Butterworth-laagdoorlaatfilter; houdingszwaai over het venster van het protocol na het "
    "optillen (Prieto et al. 1996): oppervlak van de 95 %-ellips, gemiddelde snelheid, medio-laterale "
    "uitslag. Contact vanaf 20 N. Bekkendaling en dynamische knievalgus (FPPA) uit 2-D video van gekleurde "
    "markers, piek per squatherhaling. Links en rechts worden vergeleken op de laatste volledige meting van "
    "elk been; onvolledige of onderbroken metingen staan erbij maar tellen niet mee. Referentiewaarden zijn "
    "context uit gepubliceerde groepen, geen diagnose.",
}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{float(value):.{digits}f}"


def _stabilograms(store: Store, test: dict[str, Any], geometry: Geometry, label: dict[str, str]) -> bytes | None:
    """PNG of the left and right stance CoP of one test on one common scale (mm)."""
    series: dict[str, np.ndarray] = {}
    for leg in ("left", "right"):
        trial_id = test.get(f"{leg}_trial_id")
        if trial_id is None:
            continue
        trial, t_s, loads, _invalid, cal = trial_loads(store, int(trial_id), default_geometry=geometry)
        if len(t_s) < 2:
            continue
        plot = trial_plot(t_s, loads, geometry=cal.geometry, metrics=trial.get("metrics") or {})
        k = COP_SERIES.index(plot.sway_cop) if plot.sway_cop in COP_SERIES else COP_SERIES.index(leg)
        cop = plot.cop_mm[:, k, :]
        if plot.window_s is not None:
            inside = (plot.t_s >= plot.window_s[0]) & (plot.t_s <= plot.window_s[1])
            cop = cop[inside]
        cop = cop[np.isfinite(cop).all(axis=1)]
        if len(cop):
            series[leg] = cop - cop.mean(axis=0)  # about each foot's mean: the sway, not the foot position
    if not series:
        return None
    half = max(float(np.abs(c).max()) for c in series.values()) * 1.1 or 1.0
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.4), sharex=True, sharey=True)
    for ax, leg in zip(axes, ("left", "right"), strict=True):
        ax.set_title(label.get(f"leg.{leg}", leg))
        if leg in series:
            ax.plot(series[leg][:, 0], series[leg][:, 1], lw=0.6, color="#1f5fa8")
        ax.set_xlim(-half, half)
        ax.set_ylim(-half, half)
        ax.set_aspect("equal")
        ax.set_xlabel("ML (mm)")
        ax.grid(True, lw=0.3)
    axes[0].set_ylabel("AP (mm)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    return buf.getvalue()


def session_report_pdf(
    store: Store,
    session: dict[str, Any],
    summary: dict[str, Any],
    *,
    labels: dict[str, str],
    lang: str,
    default_geometry: Geometry,
    calibration_row: dict[str, Any] | None,
) -> bytes:
    """The report of one session (``store.get_session``) and its summary, as PDF bytes."""
    L = labels  # noqa: N806
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    story: list[Any] = []
    athlete = store.get_athlete(int(session["athlete_id"]))
    story.append(Paragraph(L.get("report.title", "Session report"), styles["Title"]))
    story.append(Paragraph(
        f"{L.get('report.athlete', 'Athlete')}: <b>{_esc(athlete['name'])}</b> &nbsp; "
        f"{L.get('report.date', 'Date')}: {str(session['started_at'])[:10]} &nbsp; "
        f"{L.get('report.kind', 'Session')}: {_esc(str(session['kind']))}", styles["BodyText"]))
    if session.get("notes"):
        story.append(Paragraph(_esc(str(session["notes"])), small))
    if calibration_row is None:
        cal_text = L.get("report.uncalibrated", "The station was not calibrated: forces use nominal gains.")
    else:
        cal_text = L.get("report.calibrated", "Calibration {id} of {date}").format(
            id=calibration_row["id"], date=str(calibration_row["created_at"])[:10])
    story.append(Paragraph(f"{L.get('report.calibration', 'Calibration')}: {cal_text}", small))
    story.append(Spacer(1, 4 * mm))
    sources: dict[str, None] = {}
    for test in summary["tests"]:
        story.append(Paragraph(L.get(f"protocol.{test['protocol']}", test["protocol"]), styles["Heading2"]))
        head = [L.get("report.metric", "Metric"), L.get("leg.left", "Left"), L.get("leg.right", "Right"),
                L.get("report.difference", "Difference"), L.get("report.weaker", "Weaker"),
                L.get("report.reference", "Reference")]
        rows: list[list[Any]] = [[Paragraph(h, small) for h in head]]
        for r in test["rows"]:
            bands = bands_for(r["metric"])
            for b in bands:
                sources[b.source] = None
            ref = "; ".join(f"{_esc(band_text(b, L, lang))} ({_esc(b.source)})" for b in bands)
            weaker = L.get(f"leg.{r['weaker']}", r["weaker"]) if r["weaker"] else "-"
            if r["weaker"] and r.get("within_measurement_error"):
                weaker += " " + L.get("report.within_error", "(within the measurement error)")
            name = L.get(f"summary.metric.{r['metric']}", r["metric"])
            unit = f" ({r['unit']})" if r["unit"] else ""
            digits = 0 if r["metric"] == "touchdowns" else 1  # a count
            rows.append([Paragraph(name + unit, small), _fmt(r["left"], digits), _fmt(r["right"], digits),
                         _fmt(r["difference"], digits), Paragraph(weaker, small), Paragraph(ref, small)])
        table = Table(rows, colWidths=[42 * mm, 17 * mm, 17 * mm, 20 * mm, 17 * mm, 62 * mm], repeatRows=1)
        table.setStyle(TableStyle([
            ("FONTSIZE", (0, 0), (-1, -1), 8), ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(table)
        below = [L.get("summary.metric." + r["metric"], r["metric"]) + f" {_fmt(r['limb_symmetry_pct'], 0)} %"
                 for r in test["rows"] if r.get("below_symmetry_target")]
        if below:
            target = bands_for("limb_symmetry_pct")
            ref = "; ".join(f"{_esc(band_text(b, L, lang))} ({_esc(b.source)})" for b in target)
            for b in target:
                sources[b.source] = None
            story.append(Paragraph(
                f"{L.get('report.below_symmetry', 'Limb symmetry (100 x min / max) below the target')}: "
                f"{_esc(', '.join(below))}. {ref}", small))
        excluded = [t for t in test["trials"] if t["badges"]]
        for t in excluded:
            story.append(Paragraph(
                f"{L.get('report.excluded', 'Not compared')}: {L.get('report.trial', 'trial')} {t['id']} "
                f"({L.get('leg.' + str(t['leg']), str(t['leg']))}): {', '.join(t['badges'])}", small))
        png = _stabilograms(store, test, default_geometry, L)
        if png is not None:
            story.append(Paragraph(L.get("report.stabilograms", "Stabilograms (common scale)"), styles["Heading4"]))
            story.append(Image(io.BytesIO(png), width=170 * mm, height=170 * mm * 3.4 / 7.0))
        if test["protocol"] == "single_leg_squat":
            story.extend(_rep_table(store, test, L, small))
    story.append(Paragraph(L.get("report.methods", "Methods"), styles["Heading3"]))
    story.append(Paragraph(METHODS.get(lang, METHODS["en"]), small))
    if sources:
        story.append(Paragraph(L.get("report.sources", "Sources"), styles["Heading4"]))
        for s in sources:
            story.append(Paragraph(_esc(s), small))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=L.get("report.title", "Session report"))
    doc.build(story)
    return buf.getvalue()


def _rep_table(store: Store, test: dict[str, Any], L: dict[str, str], style: Any) -> list[Any]:  # noqa: N803
    head = [L.get("report.rep", "Rep"), L.get("leg.left", "Left") + ": " + L.get("summary.metric.peak_pelvic_drop_deg",
            "pelvic drop"), "FPPA", L.get("leg.right", "Right") + ": " + L.get("summary.metric.peak_pelvic_drop_deg",
            "pelvic drop"), "FPPA"]
    reps: dict[str, list[dict[str, Any]]] = {"left": [], "right": []}
    for leg in ("left", "right"):
        trial_id = test.get(f"{leg}_trial_id")
        if trial_id is not None:
            squat = (store.get_trial(int(trial_id)).get("metrics") or {}).get("squat") or {}
            reps[leg] = list(squat.get("reps") or [])
    n = max(len(reps["left"]), len(reps["right"]))
    if n == 0:
        return []
    rows: list[list[Any]] = [[Paragraph(h, style) for h in head]]
    for i in range(n):
        row: list[Any] = [str(i + 1)]
        for leg in ("left", "right"):
            r = reps[leg][i] if i < len(reps[leg]) else {}
            row += [_fmt(r.get("peak_pelvic_drop_deg")), _fmt(r.get("peak_fppa_deg"))]
        rows.append(row)
    table = Table(rows, colWidths=[15 * mm, 40 * mm, 25 * mm, 40 * mm, 25 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 8), ("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
    return [Spacer(1, 3 * mm), Paragraph(L.get("report.reps", "Repetitions (degrees)"), style), table]


def band_text(band: Band, labels: dict[str, str], lang: str) -> str:
    """What a band says in ``lang``: its translation filled in with its numbers (decimal
    comma in Dutch)."""
    def num(v: float | None) -> str:
        text = "-" if v is None else f"{v:g}"
        return text.replace(".", ",") if lang == "nl" else text

    template = labels.get(band.label_key, band.key)
    return template.format(mean=num(band.mean), sd=num(band.sd), low=num(band.low), high=num(band.high))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
