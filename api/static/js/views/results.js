// Results of one trial: key numbers in plain words, the stabilogram with its 95 %
// ellipse, force-time curves with rep and contact markers, the per-rep squat table,
// left vs right, and the video with the CoP in step when there is one. Numbers are the
// stored metrics; the plots are the series the server computed for this trial with its
// own calibration and geometry (GET /trials/{id}/plot): the page computes none of them.
import { api, getToken } from "../api.js";
import { t, num, dateTime } from "../i18n.js";
import { copPath, drawStabilogram, forcePlot } from "../charts.js";
import { h, add, protocolOf, protocolLabel } from "../util.js";

/** Key numbers: dotted path into the metrics, unit, decimals (labels in i18n "metric.<path>"). */
export const METRICS = [
  ["duration_s", "s", 1],
  ["weight_left_pct", "%", 0],
  ["sway.ellipse95_area_mm2", "mm²", 0],
  ["sway.ml_rms_mm", "mm", 1],
  ["sway.ap_rms_mm", "mm", 1],
  ["sway.mean_velocity_mm_s", "mm/s", 1],
  ["sway.path_length_mm", "mm", 0],
  ["single_leg.time_to_touchdown_s", "s", 1],
  ["single_leg.touchdowns", "", 0],
  ["squat.stability_score", "", 0],
  ["squat.touchdowns", "", 0],
  ["time_to_stabilization_s", "s", 2],
  ["ml_shift_mm", "mm", 0],
  ["stance_symmetry_index_pct", "%", 1],
  ["body_weight_n", "N", 0],
];

/** Colour of each CoP series (as in the live view). */
const COLOURS = { left: "#ffb02e", right: "#3fd0c9", combined: "#ffffff" };

export function pick(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

async function fetchVideo(id) {
  // A <video> cannot send a header: with a token, fetch it and play the blob.
  if (!getToken()) return `/api/v1/trials/${id}/video`;
  const res = await api(`trials/${id}/video`, { raw: true });
  return URL.createObjectURL(await res.blob());
}

export async function render(root, ctx, trialId) {
  if (!trialId) { add(root, h("p", { class: "muted", i18n: "results.none" })); return; }
  const [trial, plot] = await Promise.all([api(`trials/${trialId}`), api(`trials/${trialId}/plot`)]);
  const m = trial.metrics || {};
  const proto = protocolOf(ctx.protocols, trial.protocol);
  const numbers = h("div", { class: "numbers", id: "key-numbers" });
  for (const [path, unit, digits] of METRICS) {
    const v = pick(m, path);
    if (typeof v !== "number") continue;
    add(numbers, h("div", { class: "number", "data-metric": path },
      h("div", { class: "l" }, t(`metric.${path}`)),
      h("span", { class: "v" }, num(v, digits)), h("span", { class: "u" }, unit)));
  }
  const squatReps = (m.squat && m.squat.reps) || [];
  if (m.squat) {
    numbers.prepend(h("div", { class: "number", "data-metric": "squat.reps" },
      h("div", { class: "l" }, t("metric.squat.reps")), h("span", { class: "v" }, String(squatReps.length))));
  }
  const warnings = [...(m.warnings || []), ...plot.warnings];
  add(root, 
    h("div", { class: "row" },
      h("h1", { class: "grow", id: "results-title" }, t("results.title", {
        protocol: protocolLabel(ctx.protocols, trial.protocol), leg: trial.leg ? t(`leg.${trial.leg}`) : "", name: trial.athlete_name || "" })),
      h("span", { class: "muted" }, `${dateTime(trial.started_at)} · ${t(`state.${trial.status}`)}`),
      h("button", { i18n: "results.again", class: "primary", onclick: () => ctx.go("test") })),
    numbers,
    warnings.length ? h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, w))) : null);

  const plots = h("div", { class: "plots" });
  const stab = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  stab.setAttribute("class", "stabilogram");
  stab.id = "stabilogram";
  const stabInfo = h("div", { class: "muted", id: "ellipse-info" });
  const force = h("div", { id: "force-plot" });
  add(plots, 
    h("div", { class: "plot" }, h("h2", { i18n: "results.stabilogram" }), stab, stabInfo),
    h("div", { class: "plot" }, h("h2", { i18n: "results.force_time" }), force));
  add(root, plots);

  // The CoP the sway measures (and the ellipse) describe, in the analysis window; a trial
  // without sway measures shows the combined CoP of the whole trial.
  const series = plot.sway_cop || "combined";
  const path = copPath(plot, series, plot.sway_cop ? plot.window_s : null);
  drawStabilogram(stab, path, plot.ellipse95, { colour: COLOURS[series] });
  if (plot.ellipse95) stabInfo.textContent = t("results.ellipse_area", { area: num(plot.ellipse95.area_mm2, 0) });
  window.__kioskResult = { trialId, ellipse: plot.ellipse95, series, samples: plot.n_samples, points: plot.t_s.length }; // for the tests

  const events = [];
  for (const c of m.contacts || []) {
    for (const k of ["on_s", "off_s"]) if (c[k] != null) events.push({ t_s: c[k], colour: c.foot === "left" ? "#ffb02e" : "#3fd0c9" });
  }
  for (const ev of trial.events || []) if (ev.kind && ev.kind !== "rep" && ev.kind !== "contact" && ev.t_s != null) events.push({ t_s: ev.t_s, colour: "#ff5a52" });
  if (m.single_leg && m.single_leg.lift_off_s != null) events.push({ t_s: m.single_leg.lift_off_s, colour: "#3ccf6e" });
  forcePlot(force, plot, { reps: plot.reps.map((r, i) => ({ rep: i + 1, ...r })), events });
  add(force, h("div", { class: "muted" }, t("results.markers")));

  // per-rep squat table
  if (m.squat) {
    add(root, h("div", { class: "card", style: "margin-top:8px" }, h("h2", { i18n: "results.reps_table" }),
      squatReps.length ? h("table", { id: "rep-table" },
        h("thead", {}, h("tr", {}, ["results.rep", "results.rep_time", "metric.rep.ml_range_mm", "metric.rep.ap_range_mm",
          "metric.rep.ml_rms_mm", "metric.rep.mean_velocity_mm_s"].map((k) => h("th", { i18n: k })))),
        h("tbody", {}, squatReps.map((r, i) => h("tr", {},
          h("td", {}, String(i + 1)), h("td", {}, num(r.end_s - r.start_s, 1)), h("td", {}, num(r.ml_range_mm, 0)),
          h("td", {}, num(r.ap_range_mm, 0)), h("td", {}, num(r.ml_rms_mm, 1)), h("td", {}, num(r.mean_velocity_mm_s, 0))))))
        : h("p", { class: "muted", i18n: "results.no_reps" })));
  }

  // left vs right: the stored load share of the left plate (in the analysis window)
  const lr = h("div", { class: "card", style: "margin-top:8px", id: "left-right" }, h("h2", { i18n: "results.left_right" }));
  if (typeof m.weight_left_pct === "number") {
    const left = Math.min(100, Math.max(0, m.weight_left_pct)), right = 100 - left; // noise can pass 0 or 100
    add(lr, h("div", { class: "lr" },
      h("span", { i18n: "results.mean_load" }),
      h("div", { class: "b left", style: `width:${left.toFixed(0)}%` }),
      h("div", { class: "b right", style: `width:${right.toFixed(0)}%` }),
      h("span", {}), h("span", { style: "text-align:right" }, `${t("leg.left")} ${num(left, 0)} %`),
      h("span", {}, `${t("leg.right")} ${num(right, 0)} %`)));
  }
  const metric = proto && proto.symmetry_metric;
  if (metric && trial.athlete_id) {
    try {
      const s = await api(`athletes/${trial.athlete_id}/symmetry?protocol=${trial.protocol}&metric=${encodeURIComponent(metric)}&last=3`);
      add(lr, h("p", {}, t("results.symmetry", { metric: t(`metric.${metric}`), left: num(s.left.value, 1), right: num(s.right.value, 1),
        lsi: s.symmetry_index_pct == null ? "–" : num(s.symmetry_index_pct, 0) })),
      s.note ? h("p", { class: "muted", i18n: "results.symmetry_needs_both" }) : null);
    } catch (e) { /* symmetry is extra: the result stands without it */ }
  }
  add(root, lr);

  // video with the CoP in step: trial time = video time + offset_s (the first frame's
  // time minus the first force sample's, from the frame-timestamp sidecar)
  if (trial.video) {
    const offset = typeof trial.video.offset_s === "number" ? trial.video.offset_s : 0;
    const video = h("video", { controls: true, playsinline: true, id: "trial-video", preload: "metadata" });
    const mini = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    mini.setAttribute("class", "stabilogram");
    add(root, h("div", { class: "plots" },
      h("div", { class: "plot" }, h("h2", { i18n: "results.video" }), video),
      h("div", { class: "plot" }, h("h2", { i18n: "results.video_cop" }), mini)));
    fetchVideo(trialId).then((src) => { video.src = src; }).catch(ctx.error);
    const setMark = drawStabilogram(mini, path, plot.ellipse95, { colour: COLOURS[series] });
    const cop = plot.cop_mm[series];
    const sync = () => {
      const tv = video.currentTime + offset;
      window.__kioskVideoSync = { offset, trialTime: tv }; // for the tests
      let i = plot.t_s.findIndex((v) => v >= tv);
      if (i < 0) i = plot.t_s.length - 1;
      setMark(cop.x_mm[i] == null ? null : [cop.x_mm[i], cop.y_mm[i]]);
      if (!video.paused) requestAnimationFrame(sync);
    };
    video.addEventListener("play", sync);
    video.addEventListener("seeked", sync);
    sync();
  }
  // A plain link cannot send the tablet's token: fetch the file, then save the blob.
  const download = (ext) => async () => {
    try {
      const blob = await (await api(`trials/${trialId}/export.${ext}`, { raw: true })).blob();
      const a = h("a", { href: URL.createObjectURL(blob), download: `trial-${trialId}.${ext}` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) { ctx.error(e); }
  };
  add(root, h("div", { class: "row", style: "margin-top:8px" },
    h("button", { id: "download-csv", i18n: "results.download_csv", onclick: download("csv") }),
    h("button", { id: "download-c3d", i18n: "results.download_c3d", onclick: download("c3d") })));
}
