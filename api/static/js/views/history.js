// History of one athlete: the trials (tap one for its results), the trend of a chosen
// metric over time, and left/right symmetry over time (limb symmetry index per day).
import { api } from "../api.js";
import { t, num, dateTime } from "../i18n.js";
import { trendPlot } from "../charts.js";
import { h, fill, add, currentAthlete, protocolLabel } from "../util.js";
import { METRICS } from "./results.js";

const chosen = { metric: null, protocol: null };

export async function render(root, ctx) {
  const athlete = currentAthlete();
  if (!athlete) {
    add(root, h("div", { class: "card" }, h("p", { i18n: "test.pick_athlete_first" }),
      h("button", { class: "primary", i18n: "nav.athletes", onclick: () => ctx.go("athletes") })));
    return;
  }
  if (chosen.protocol === null) {
    // first visit: the first single-leg test the server lists, with the metric it compares left vs right
    const first = ctx.protocols.find((p) => p.single_leg && p.symmetry_metric);
    chosen.protocol = first ? first.name : "";
    chosen.metric = first ? first.symmetry_metric : METRICS[0][0];
  }
  const metricSel = h("select", { id: "history-metric" }, METRICS.map(([p]) => h("option", { value: p, selected: p === chosen.metric }, t(`metric.${p}`))));
  const protoSel = h("select", { id: "history-protocol" },
    h("option", { value: "", i18n: "history.all_protocols" }),
    ctx.protocols.map((p) => h("option", { value: p.name, selected: p.name === chosen.protocol }, t(p.label_key))));
  const trend = h("div", { id: "trend-plot" });
  const sym = h("div", { id: "symmetry-plot" });
  const trials = h("div", { class: "list", id: "trial-list" });
  add(root, 
    h("h1", {}, t("history.title", { name: athlete.name })),
    h("div", { class: "grid2" },
      h("div", {}, h("label", { i18n: "history.metric" }), metricSel),
      h("div", {}, h("label", { i18n: "history.protocol" }), protoSel)),
    h("div", { class: "plots" },
      h("div", { class: "plot" }, h("h2", { i18n: "history.trend" }), trend),
      h("div", { class: "plot" }, h("h2", { i18n: "history.symmetry" }), sym)),
    h("h2", { i18n: "history.trials" }), trials);

  async function draw() {
    chosen.metric = metricSel.value; chosen.protocol = protoSel.value;
    const q = new URLSearchParams({ metric: chosen.metric });
    if (chosen.protocol) q.set("protocol", chosen.protocol);
    const res = await api(`athletes/${athlete.id}/history?${q}`);
    const pts = res.points || [];
    fill(trend, );
    fill(sym, );
    if (!pts.length) { add(trend, h("p", { class: "muted", i18n: "history.no_points" })); }
    else {
      const x = pts.map((p) => Date.parse(p.started_at) / 1000);
      const series = [["left", "#ffb02e"], ["right", "#3fd0c9"], [null, "#ffffff"]]
        .map(([leg, colour]) => ({ label: leg ? t(`leg.${leg}`) : t("history.both_legs"), colour,
          values: pts.map((p) => (p.leg ?? null) === leg ? p.value : null) }))
        .filter((s) => s.values.some((v) => v !== null));
      const unit = (METRICS.find(([p]) => p === chosen.metric) || [])[1] || "";
      trendPlot(trend, x, series, { yLabel: unit });
    }
    // symmetry over time: the server's limb symmetry index per day with trials of both legs
    const rows = (res.symmetry_by_day || []).map((d) => [Date.parse(`${d.date}T12:00:00Z`) / 1000, d.symmetry_index_pct]);
    window.__kioskHistory = { points: pts.length, lsi: rows.map((r) => r[1]) }; // for the tests
    if (rows.length) {
      trendPlot(sym, rows.map((r) => r[0]), [{ label: t("history.lsi"), colour: "#3fa7ff", values: rows.map((r) => r[1]) }], { yLabel: "LSI %" });
      add(sym, h("p", { class: "muted", i18n: "history.lsi_formula" }));
    } else add(sym, h("p", { class: "muted", i18n: "history.no_symmetry" }));
  }

  async function list() {
    const res = await api(`trials?athlete_id=${athlete.id}&limit=30`);
    fill(trials, ...(res.items.length ? res.items.map((tr) => h("div", { class: "item", "data-trial-id": tr.id },
      h("button", { class: "name", onclick: () => ctx.go("results", tr.id) },
        `${dateTime(tr.started_at)} · ${protocolLabel(ctx.protocols, tr.protocol)}${tr.leg ? ` (${t(`leg.${tr.leg}`)})` : ""}`),
      h("span", { class: "muted" }, t(`state.${tr.status}`)),
      h("button", { i18n: "history.open", onclick: () => ctx.go("results", tr.id) }))) : [h("p", { class: "muted", i18n: "history.no_trials" })]));
  }

  metricSel.addEventListener("change", () => draw().catch(ctx.error));
  protoSel.addEventListener("change", () => draw().catch(ctx.error));
  await Promise.all([draw(), list()]);
}
