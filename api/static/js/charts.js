// Plots: force-time curves and trends with uPlot (vendored, api/static/vendor/uplot),
// the CoP stabilogram with its 95 % confidence ellipse in SVG. They draw what the server
// computed (GET /trials/{id}/plot and the stored metrics): nothing is computed here.
import { t, num } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** The points [x, y] (mm) of the CoP series `name` of a trial's plot (GET /trials/{id}/plot),
 * within the time range `window` ([t0, t1] s; null: all); null where the server sent no
 * CoP (a gap in the path). */
export function copPath(plot, name, window = null) {
  const cop = plot.cop_mm[name], out = [];
  for (let i = 0; i < plot.t_s.length; i++) {
    const tt = plot.t_s[i];
    if (window && (tt < window[0] || tt > window[1])) continue;
    out.push(cop.x_mm[i] == null ? null : [cop.x_mm[i], cop.y_mm[i]]);
  }
  return out;
}

/** Draw a stabilogram in an <svg>: the CoP path (x right, y forward; mm, equal axes) and
 * the 95 % ellipse outline the server computed (`ellipse`: the plot's `ellipse95`, or
 * null), both in millimetres (the data group flips y), so what is drawn can be read
 * back. Returns setMark([x, y] | null), which moves a marker (the video's instant). */
export function drawStabilogram(svg, path, ellipse, { colour = "#ffffff" } = {}) {
  svg.replaceChildren();
  const outline = ellipse ? ellipse.outline_mm : [];
  const pts = path.filter(Boolean).concat(outline);
  if (!pts.length) {
    svg.setAttribute("viewBox", "0 0 100 40");
    const msg = svgEl("text", { x: 4, y: 12, fill: "#a8b3c2", "font-size": 6 });
    msg.textContent = t("results.no_cop");
    svg.append(msg);
    return () => {};
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const r = Math.max(x1 - x0, y1 - y0, 20) / 2 * 1.15;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  svg.setAttribute("viewBox", `${cx - r} ${-(cy + r)} ${2 * r} ${2 * r}`);
  const data = svgEl("g", { transform: "scale(1,-1)", id: "stabilogram-data" });
  // grid every 10 mm (50 mm when wide), over more than the square: a wide box shows more
  const step = r > 60 ? 50 : 10, wide = 4 * r;
  const grid = svgEl("g", { stroke: "#2c3747", "stroke-width": 1, "vector-effect": "non-scaling-stroke" });
  for (let g = Math.ceil((cx - wide) / step) * step; g <= cx + wide; g += step) {
    grid.append(svgEl("line", { x1: g, y1: cy - wide, x2: g, y2: cy + wide, "vector-effect": "non-scaling-stroke" }));
  }
  for (let g = Math.ceil((cy - wide) / step) * step; g <= cy + wide; g += step) {
    grid.append(svgEl("line", { x1: cx - wide, y1: g, x2: cx + wide, y2: g, "vector-effect": "non-scaling-stroke" }));
  }
  data.append(grid);
  let d = "", pen = false;
  for (const p of path) {
    if (!p) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${p[0]} ${p[1]}`;
    pen = true;
  }
  data.append(svgEl("path", { d, fill: "none", stroke: colour, "stroke-opacity": 0.8, "stroke-width": 1.5,
    "vector-effect": "non-scaling-stroke", id: "stabilogram-path" }));
  if (ellipse) {
    data.append(svgEl("polygon", { id: "ellipse95", points: outline.map((p) => p.join(",")).join(" "), fill: "none",
      stroke: "#ff5a52", "stroke-width": 2.5, "vector-effect": "non-scaling-stroke", "data-area-mm2": ellipse.area_mm2 }));
  }
  const mark = svgEl("circle", { r: r * 0.05, fill: "#3fa7ff", visibility: "hidden", class: "cop-mark" });
  data.append(mark);
  svg.append(data);
  const label = (text, x, y, anchor = "start") => {
    const el = svgEl("text", { x, y, fill: "#a8b3c2", "font-size": r * 0.08, "text-anchor": anchor });
    el.textContent = text;
    svg.append(el);
  };
  label(t("results.grid_mm", { mm: step }), cx - r * 0.97, -(cy - r * 0.95));
  label(t("results.axis_ml"), cx + r * 0.97, -(cy - r * 0.95), "end");
  label(t("results.axis_ap"), cx - r * 0.97, -(cy + r * 0.88));
  return (p) => {
    if (!p) { mark.setAttribute("visibility", "hidden"); return; }
    mark.setAttribute("cx", p[0]); mark.setAttribute("cy", p[1]); mark.setAttribute("visibility", "visible");
  };
}

const AXIS = { stroke: "#a8b3c2", grid: { stroke: "#2c3747" }, ticks: { stroke: "#2c3747" } };

/** Force-time plot of a trial's plot series: left, right and total Fz (as the server sent
 * them, decimated there) with shaded reps and contact/event lines. */
export function forcePlot(el, plot, { reps = [], events = [] } = {}) {
  const x = plot.t_s, l = plot.fz_n.left, r = plot.fz_n.right, tot = plot.fz_n.total;
  const width = Math.max(280, el.clientWidth - 12);
  const opts = {
    width, height: 230,
    scales: { x: { time: false } },
    axes: [Object.assign({ label: t("results.time_s") }, AXIS), Object.assign({ label: t("results.force_n"), size: 60 }, AXIS)],
    series: [{ label: t("results.time_s"), value: (u, v) => v == null ? "–" : num(v, 2) },
      { label: t("leg.left"), stroke: "#ffb02e", width: 2, value: (u, v) => v == null ? "–" : num(v, 0) },
      { label: t("leg.right"), stroke: "#3fd0c9", width: 2, value: (u, v) => v == null ? "–" : num(v, 0) },
      { label: t("results.total"), stroke: "#ffffff", width: 1, value: (u, v) => v == null ? "–" : num(v, 0) }],
    hooks: { draw: [(u) => {
      const c = u.ctx;
      c.save();
      const top = u.bbox.top, hgt = u.bbox.height;
      for (const rep of reps) {
        const a = u.valToPos(rep.start_s, "x", true), b = u.valToPos(rep.end_s, "x", true);
        c.fillStyle = "rgba(63,167,255,0.15)"; c.fillRect(a, top, b - a, hgt);
        const m = u.valToPos(rep.bottom_s, "x", true);
        c.strokeStyle = "#3fa7ff"; c.lineWidth = 2; c.beginPath(); c.moveTo(m, top); c.lineTo(m, top + hgt); c.stroke();
        c.fillStyle = "#3fa7ff"; c.font = "bold 13px sans-serif"; c.fillText(String(rep.rep ?? ""), a + 3, top + 14);
      }
      c.setLineDash([6, 4]);
      for (const ev of events) {
        if (ev.t_s == null) continue;
        const p = u.valToPos(ev.t_s, "x", true);
        c.strokeStyle = ev.colour || "#ffcc33"; c.lineWidth = 1.5;
        c.beginPath(); c.moveTo(p, top); c.lineTo(p, top + hgt); c.stroke();
      }
      c.restore();
    }] },
  };
  return new window.uPlot(opts, [x, l, r, tot], el);
}

/** A trend over time: x in seconds since the epoch; one or more series. */
export function trendPlot(el, x, series, { yLabel = "" } = {}) {
  const width = Math.max(280, el.clientWidth - 12);
  const opts = {
    width, height: 220,
    // A single day (or one trial) would otherwise be spread over years: pad to +-3 days.
    // (uPlot pads a single x value by 1000 days before calling range: use the data.)
    scales: { x: { time: true, range: () => {
      const min = Math.min(...x), max = Math.max(...x);
      const pad = Math.max((max - min) * 0.05, 3 * 86400);
      return [min - pad, max + pad];
    } } },
    axes: [AXIS, Object.assign({ label: yLabel, size: 60 }, AXIS)],
    series: [{ label: t("history.date"), value: (u, v) => v == null ? "–" : new Date(v * 1000).toLocaleDateString() }, ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, spanGaps: true,
      points: { show: true, size: 9, fill: s.colour }, value: (u, v) => v == null ? "–" : num(v, 2) }))],
  };
  return new window.uPlot(opts, [x, ...series.map((s) => s.values)], el);
}
