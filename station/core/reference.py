"""What a left/right summary compares, which way is worse, and the published bands shown
beside a value: context, not diagnosis.

One home for each of these facts: the summary (:mod:`station.analysis.summary`), the
session report and the squat score's camera thresholds (:mod:`station.analysis.squat`)
read them here. A band is shown only with a source that can be checked (docs/analysis.md,
"Reference bands"); a value without a published norm gets no band.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SummaryMetric:
    """One row of the left/right summary.

    ``worse`` says which way is worse ("higher" or "lower"); the weaker side of a row is
    the side with the worse value. ``path`` is the dotted path in a trial's metrics, or
    None for a value the summary derives (hold time, the two scores).
    """

    key: str
    unit: str
    worse: str
    protocols: tuple[str, ...]
    path: str | None = None

    def __post_init__(self) -> None:
        if self.worse not in ("higher", "lower"):
            raise ValueError(f"summary metric {self.key}: worse must be 'higher' or 'lower'")

    @property
    def label_key(self) -> str:
        """The kiosk's translation key (api/static/i18n) for the row's label."""
        return f"summary.metric.{self.key}"


_SWAY = ("single_leg_stance", "single_leg_squat", "hop_and_stick")

#: The rows of the summary, in order; each with the side that is worse.
SUMMARY_METRICS: tuple[SummaryMetric, ...] = (
    SummaryMetric("hold_time_s", "s", "lower", ("single_leg_stance",)),
    SummaryMetric("touchdowns", "", "higher", _SWAY, "single_leg.touchdowns"),
    SummaryMetric("sway_area_mm2", "mm²", "higher", _SWAY, "sway.ellipse95_area_mm2"),
    SummaryMetric("mean_velocity_mm_s", "mm/s", "higher", _SWAY, "sway.mean_velocity_mm_s"),
    SummaryMetric("ml_range_mm", "mm", "higher", _SWAY, "sway.ml_range_mm"),
    SummaryMetric("peak_pelvic_drop_deg", "°", "higher", ("single_leg_squat",), "squat.video.max_pelvic_drop_deg"),
    SummaryMetric("peak_fppa_deg", "°", "higher", ("single_leg_squat",), "squat.video.max_fppa_deg"),
    SummaryMetric("stability_score_force_only", "", "lower", ("single_leg_squat",)),
    SummaryMetric("stability_score_with_video", "", "lower", ("single_leg_squat",)),
)
SUMMARY_METRIC_KEYS = tuple(m.key for m in SUMMARY_METRICS)


@dataclass(frozen=True)
class Band:
    """A published value shown beside a measured one.

    ``kind``: "group" (a population's mean +- SD), "error" (the measurement's smallest
    detectable difference or error, shown with the value), "association" (a published
    association without a validated cut-off) or "target" (a commonly used target).
    What it says is the translation ``band.<key>`` (api/static/i18n), filled in with
    ``mean``, ``sd``, ``low`` and ``high`` from here (their one home).
    """

    key: str
    metric: str            # a key of SUMMARY_METRIC_KEYS, or "limb_symmetry_pct"
    kind: str
    population: str
    source: str            # the citation
    mean: float | None = None
    sd: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def label_key(self) -> str:
        """The translation key of what the band says (a template with its numbers)."""
        return f"band.{self.key}"


#: Every band the station shows. Sources: /work/shared/domain.md ("Reference values a
#: station may show"); each is a published study named with its journal.
BANDS: tuple[Band, ...] = (
    Band("fppa_healthy", "peak_fppa_deg", "group", "healthy women, single-leg squat",
         "Herrington 2014, The Knee 21:514", mean=8.4, sd=5.1),
    Band("fppa_patellofemoral_pain", "peak_fppa_deg", "group", "women with patellofemoral pain, single-leg squat",
         "Herrington 2014, The Knee 21:514", mean=16.8, sd=5.4),
    Band("pelvic_drop_sdd", "peak_pelvic_drop_deg", "error", "2-D video of pelvic drop",
         "Dingenen et al. 2018, Phys Ther Sport", low=2.7, high=2.8),
    Band("pelvic_drop_injury", "peak_pelvic_drop_deg", "association", "runners",
         "Bramah et al. 2018, Am J Sports Med 46:3023"),
    Band("limb_symmetry_90", "limb_symmetry_pct", "target", "athletes returning to sport",
         "Markström 2022, Sports Health", low=90.0),
)

#: The rounded group means of knee FPPA in single-leg squat (degrees): healthy and
#: patellofemoral pain. The squat score's thresholds derive from them.
FPPA_HEALTHY_MEAN_DEG = round(BANDS[0].mean or 0.0)
FPPA_HEALTHY_SD_DEG = round(BANDS[0].sd or 0.0)
FPPA_PATELLOFEMORAL_PAIN_MEAN_DEG = round(BANDS[1].mean or 0.0)
#: The symmetry target (percent, weaker side / stronger side) the summary reports against.
LIMB_SYMMETRY_TARGET_PCT = BANDS[4].low or 0.0


def bands_for(metric: str) -> tuple[Band, ...]:
    """The bands shown beside ``metric`` (a summary metric key or ``limb_symmetry_pct``)."""
    return tuple(b for b in BANDS if b.metric == metric)


def measurement_error(metric: str) -> float | None:
    """The largest published smallest detectable difference of ``metric`` (its unit), or
    None when no error band is known: a left/right difference within it is not shown as
    a real one."""
    errors = [b.high if b.high is not None else b.low for b in bands_for(metric) if b.kind == "error"]
    known = [e for e in errors if e is not None]
    return max(known) if known else None


def _check() -> None:
    keys = {*SUMMARY_METRIC_KEYS, "limb_symmetry_pct"}
    for b in BANDS:
        if b.metric not in keys:
            raise ValueError(f"band {b.key}: unknown metric {b.metric}")
        if b.kind not in ("group", "error", "association", "target"):
            raise ValueError(f"band {b.key}: unknown kind {b.kind}")
    if BANDS[0].key != "fppa_healthy" or BANDS[1].key != "fppa_patellofemoral_pain" or BANDS[4].key != "limb_symmetry_90":
        raise ValueError("the derived constants above read BANDS by position: keep the order")


_check()
