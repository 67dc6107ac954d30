// Results of one trial: key numbers in plain words, the stabilogram with its 95 %
// ellipse, force-time curves with rep and contact markers, the per-rep squat table,
// left vs right, and the video with the CoP in step when there is one.
import { api, getToken } from "../api.js";
import { t, num, dateTime } from "../i18n.js";
import { parseRawCsv, forcesAndCop, drawStabilogram, forcePlot } from "../charts.js";
import { h, fill, add, cellPositions } from "../util.js";

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

/** The metric compared left vs right for a single-leg protocol. */
export const SYMMETRY_METRIC = {
  single_leg_stance: "sway.ellipse95_area_mm2",
  single_leg_squat: "squat.stability_score",
  hop_and_stick: "time_to_stabilization_s",
  weight_shift: "ml_shift_mm",
};

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
  const trial = await api(`trials/${trialId}`);
  const m = trial.metrics || {};
  const numbers = h("div", { class: "numbers", id: "key-numbers" });
  for (const [path, unit, digits] of METRICS) {
    const v = pick(m, path);
    if (typeof v !== "number") continue;
    add(numbers, h("div", { class: "number", "data-metric": path },
      h("div", { class: "l" }, t(`metric.${path}`)),
      h("span", { class: "v" }, num(v, digits)), h("span", { class: "u" }, unit)));
  }
  const squatReps = (m.squat && m.squat.reps) || [];
  if (trial.protocol === "single_leg_squat") {
    numbers.prepend(h("div", { class: "number", "data-metric": "squat.reps" },
      h("div", { class: "l" }, t("metric.squat.reps")), h("span", { class: "v" }, String(squatReps.length))));
  }
  const warnings = (m.warnings || []);
  add(root, 
    h("div", { class: "row" },
      h("h1", { class: "grow", id: "results-title" }, t("results.title", {
        protocol: t(`protocol.${trial.protocol}`), leg: trial.leg ? t(`leg.${trial.leg}`) : "", name: trial.athlete_name || "" })),
      h("span", { class: "muted" }, `${dateTime(trial.started_at)} · ${t(`state.${trial.status}`)}`),
      h("button", { i18n: "results.again", class: "primary", onclick: () => ctx.go("test") })),
    numbers,
    warnings.length ? h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, w))) : null);

  const plots = h("div", { class: "plots" });
  const stab = h("canvas", { class: "stabilogram", id: "stabilogram" });
  const stabInfo = h("div", { class: "muted", id: "ellipse-info" });
  const force = h("div", { id: "force-plot" });
  add(plots, 
    h("div", { class: "plot" }, h("h2", { i18n: "results.stabilogram" }), stab, stabInfo),
    h("div", { class: "plot" }, h("h2", { i18n: "results.force_time" }), force));
  add(root, plots);

  const csv = await (await api(`trials/${trialId}/export.csv`, { raw: true })).text();
  const raw = parseRawCsv(csv);
  const f = forcesAndCop(raw, cellPositions(ctx.geometry));
  const single = trial.leg && ["single_leg_stance", "single_leg_squat", "hop_and_stick"].includes(trial.protocol);
  const cop = single ? (trial.leg === "left" ? f.copL : f.copR) : f.cop;
  const start = m.analysis_window_s && m.analysis_window_s[0] != null ? m.analysis_window_s[0]
    : (m.single_leg && m.single_leg.lift_off_s) || 0;
  const i0 = Math.max(0, raw.t.findIndex((v) => v >= start));
  const xs = cop[0].subarray(i0), ys = cop[1].subarray(i0);
  const drawStab = (mark) => drawStabilogram(stab, xs, ys, { colour: single ? (trial.leg === "left" ? "#ffb02e" : "#3fd0c9") : "#ffffff", mark });
  const el = drawStab(null);
  if (el) stabInfo.textContent = t("results.ellipse_area", { area: num(el.area, 0) });
  window.__kioskResult = { trialId, ellipse: el, samples: raw.t.length }; // for the tests

  const events = [];
  for (const c of m.contacts || []) {
    for (const k of ["on_s", "off_s"]) if (c[k] != null) events.push({ t_s: c[k], colour: c.foot === "left" ? "#ffb02e" : "#3fd0c9" });
  }
  for (const ev of trial.events || []) if (ev.kind && ev.kind !== "rep" && ev.kind !== "contact" && ev.t_s != null) events.push({ t_s: ev.t_s, colour: "#ff5a52" });
  if (m.single_leg && m.single_leg.lift_off_s != null) events.push({ t_s: m.single_leg.lift_off_s, colour: "#3ccf6e" });
  const reps = squatReps.map((r, i) => Object.assign({ rep: i + 1 }, r));
  forcePlot(force, raw, f, { reps, events });
  add(force, h("div", { class: "muted" }, t("results.markers")));

  // per-rep squat table
  if (trial.protocol === "single_leg_squat") {
    add(root, h("div", { class: "card", style: "margin-top:8px" }, h("h2", { i18n: "results.reps_table" }),
      reps.length ? h("table", { id: "rep-table" },
        h("thead", {}, h("tr", {}, ["results.rep", "results.rep_time", "metric.rep.ml_range_mm", "metric.rep.ap_range_mm",
          "metric.rep.ml_rms_mm", "metric.rep.mean_velocity_mm_s"].map((k) => h("th", { i18n: k })))),
        h("tbody", {}, reps.map((r) => h("tr", {},
          h("td", {}, String(r.rep)), h("td", {}, num(r.end_s - r.start_s, 1)), h("td", {}, num(r.ml_range_mm, 0)),
          h("td", {}, num(r.ap_range_mm, 0)), h("td", {}, num(r.ml_rms_mm, 1)), h("td", {}, num(r.mean_velocity_mm_s, 0))))))
        : h("p", { class: "muted", i18n: "results.no_reps" })));
  }

  // left vs right
  const lr = h("div", { class: "card", style: "margin-top:8px", id: "left-right" }, h("h2", { i18n: "results.left_right" }));
  const mean = (a) => { let s = 0; for (const v of a) s += v; return a.length ? s / a.length : 0; };
  const mL = mean(f.fzL), mR = mean(f.fzR), tot = Math.max(mL + mR, 1);
  add(lr, h("div", { class: "lr" },
    h("span", { i18n: "results.mean_load" }),
    h("div", { class: "b left", style: `width:${(100 * mL / tot).toFixed(0)}%` }),
    h("div", { class: "b right", style: `width:${(100 * mR / tot).toFixed(0)}%` }),
    h("span", {}), h("span", { style: "text-align:right" }, `${t("leg.left")} ${num(100 * mL / tot, 0)} %`),
    h("span", {}, `${t("leg.right")} ${num(100 * mR / tot, 0)} %`)));
  const metric = SYMMETRY_METRIC[trial.protocol];
  if (metric && trial.athlete_id) {
    try {
      const s = await api(`athletes/${trial.athlete_id}/symmetry?protocol=${trial.protocol}&metric=${encodeURIComponent(metric)}&last=3`);
      const v = (leg) => { const x = s[leg] ?? s[`${leg}_value`] ?? (s.legs && s.legs[leg]); return typeof x === "object" && x ? x.mean ?? x.value : x; };
      add(lr, h("p", {}, t("results.symmetry", { metric: t(`metric.${metric}`), left: num(v("left"), 1), right: num(v("right"), 1),
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
    const mini = h("canvas", { class: "stabilogram" });
    add(root, h("div", { class: "plots" },
      h("div", { class: "plot" }, h("h2", { i18n: "results.video" }), video),
      h("div", { class: "plot" }, h("h2", { i18n: "results.video_cop" }), mini)));
    fetchVideo(trialId).then((src) => { video.src = src; }).catch(ctx.error);
    const sync = () => {
      const tv = video.currentTime + offset;
      window.__kioskVideoSync = { offset, trialTime: tv }; // for the tests
      let i = raw.t.findIndex((v) => v >= tv);
      if (i < 0) i = raw.t.length - 1;
      drawStabilogram(mini, xs, ys, { mark: [cop[0][i], cop[1][i]] });
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
