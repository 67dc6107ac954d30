// Plots: force-time curves and trends with uPlot (vendored, api/static/vendor/uplot),
// the CoP stabilogram with its 95 % confidence ellipse drawn on a canvas.
import { t, num } from "./i18n.js";

/** CSV from /trials/{id}/export.csv -> {t: Float64Array, loads: [Float64Array x 8]}. */
export function parseRawCsv(text) {
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  const rows = lines.slice(1); // header t_s,left_fl,...
  const n = rows.length;
  const tt = new Float64Array(n);
  const loads = Array.from({ length: 8 }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const c = rows[i].split(",");
    tt[i] = +c[0];
    for (let k = 0; k < 8; k++) loads[k][i] = +c[k + 1];
  }
  return { t: tt, loads };
}

/** Vertical force per plate and CoP (plate and combined; NaN below minN), as in
 * station.geometry.cop_from_cells: CoP = sum(F_i p_i) / sum(F_i). */
export function forcesAndCop(raw, positions, minN = 20) {
  const n = raw.t.length;
  const out = { fzL: new Float64Array(n), fzR: new Float64Array(n), fz: new Float64Array(n),
    copL: [new Float64Array(n), new Float64Array(n)], copR: [new Float64Array(n), new Float64Array(n)],
    cop: [new Float64Array(n), new Float64Array(n)] };
  for (let i = 0; i < n; i++) {
    let fl = 0, fr = 0, mxl = 0, myl = 0, mxr = 0, myr = 0;
    for (let k = 0; k < 4; k++) { const f = raw.loads[k][i]; fl += f; mxl += f * positions[k][0]; myl += f * positions[k][1]; }
    for (let k = 4; k < 8; k++) { const f = raw.loads[k][i]; fr += f; mxr += f * positions[k][0]; myr += f * positions[k][1]; }
    out.fzL[i] = fl; out.fzR[i] = fr; out.fz[i] = fl + fr;
    out.copL[0][i] = fl > minN ? mxl / fl : NaN; out.copL[1][i] = fl > minN ? myl / fl : NaN;
    out.copR[0][i] = fr > minN ? mxr / fr : NaN; out.copR[1][i] = fr > minN ? myr / fr : NaN;
    const f = fl + fr;
    out.cop[0][i] = f > minN ? (mxl + mxr) / f : NaN; out.cop[1][i] = f > minN ? (myl + myr) / f : NaN;
  }
  return out;
}

/** 95 % confidence ellipse of points (x, y): centre, semi-axes and angle from the
 * covariance eigen-decomposition; area = pi * 5.991 * sqrt(det(cov)) (chi-square with
 * 2 degrees of freedom; Prieto et al. 1996, IEEE Trans Biomed Eng 43:956). */
export function ellipse95(xs, ys) {
  let n = 0, mx = 0, my = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) { n++; mx += xs[i]; my += ys[i]; }
  if (n < 3) return null;
  mx /= n; my /= n;
  let sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) {
    const dx = xs[i] - mx, dy = ys[i] - my; sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
  }
  sxx /= n - 1; syy /= n - 1; sxy /= n - 1;
  const tr = sxx + syy, det = sxx * syy - sxy * sxy;
  const disc = Math.sqrt(Math.max(0, tr * tr / 4 - det));
  const l1 = tr / 2 + disc, l2 = Math.max(0, tr / 2 - disc);
  const angle = Math.abs(sxy) < 1e-12 ? (sxx >= syy ? 0 : Math.PI / 2) : Math.atan2(l1 - sxx, sxy);
  const chi = 5.991;
  return { cx: mx, cy: my, a: Math.sqrt(chi * l1), b: Math.sqrt(chi * l2), angle, area: Math.PI * chi * Math.sqrt(Math.max(det, 0)) };
}

/** Draw the CoP path (x right, y forward; mm) and its 95 % ellipse, equal axes. */
export function drawStabilogram(canvas, xs, ys, { colour = "#ffffff", mark = null } = {}) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * dpr);
  canvas.height = Math.round(canvas.clientHeight * dpr);
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const el = ellipse95(xs, ys);
  if (!el) {
    ctx.fillStyle = "#a8b3c2"; ctx.font = `${14 * dpr}px sans-serif`;
    ctx.fillText(t("results.no_cop"), 10 * dpr, 24 * dpr);
    return null;
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) {
    x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]); y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i]);
  }
  const r = Math.max(x1 - x0, y1 - y0, 2 * el.a, 20) / 2 * 1.15;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const pad = 28 * dpr;
  const s = Math.min((W - 2 * pad) / (2 * r), (H - 2 * pad) / (2 * r));
  const X = (x) => W / 2 + s * (x - cx), Y = (y) => H / 2 - s * (y - cy);
  // grid every 10 mm (or 50 mm when wide)
  const step = r > 60 ? 50 : 10;
  ctx.strokeStyle = "#2c3747"; ctx.lineWidth = 1;
  ctx.fillStyle = "#a8b3c2"; ctx.font = `${11 * dpr}px sans-serif`;
  const rx = W / 2 / s, ry = H / 2 / s; // visible half-ranges (mm)
  for (let g = Math.ceil((cx - rx) / step) * step; g <= cx + rx; g += step) {
    ctx.beginPath(); ctx.moveTo(X(g), 0); ctx.lineTo(X(g), H); ctx.stroke();
  }
  for (let g = Math.ceil((cy - ry) / step) * step; g <= cy + ry; g += step) {
    ctx.beginPath(); ctx.moveTo(0, Y(g)); ctx.lineTo(W, Y(g)); ctx.stroke();
  }
  ctx.fillText(t("results.grid_mm", { mm: step }), 6 * dpr, H - 8 * dpr);
  ctx.fillText(t("results.axis_ml"), W - 90 * dpr, H - 8 * dpr);
  ctx.fillText(t("results.axis_ap"), 6 * dpr, 14 * dpr);
  ctx.strokeStyle = colour; ctx.globalAlpha = 0.8; ctx.lineWidth = 1.5 * dpr;
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) { pen = false; continue; }
    if (pen) ctx.lineTo(X(xs[i]), Y(ys[i])); else ctx.moveTo(X(xs[i]), Y(ys[i]));
    pen = true;
  }
  ctx.stroke();
  ctx.globalAlpha = 1;
  ctx.strokeStyle = "#ff5a52"; ctx.lineWidth = 2.5 * dpr;
  ctx.beginPath();
  ctx.ellipse(X(el.cx), Y(el.cy), s * el.a, s * el.b, -el.angle, 0, 2 * Math.PI);
  ctx.stroke();
  if (mark && !Number.isNaN(mark[0])) {
    ctx.fillStyle = "#3fa7ff";
    ctx.beginPath(); ctx.arc(X(mark[0]), Y(mark[1]), 7 * dpr, 0, 2 * Math.PI); ctx.fill();
  }
  return el;
}

/** Every k-th point so a plot has at most maxPoints (a 5-minute trial is 24,000 frames). */
export function decimate(arrays, maxPoints = 2000) {
  const n = arrays[0].length;
  const k = Math.max(1, Math.ceil(n / maxPoints));
  if (k === 1) return arrays.map((a) => Array.from(a));
  return arrays.map((a) => { const out = []; for (let i = 0; i < n; i += k) out.push(a[i]); return out; });
}

const AXIS = { stroke: "#a8b3c2", grid: { stroke: "#2c3747" }, ticks: { stroke: "#2c3747" } };

/** Force-time plot: left, right and total Fz with shaded reps and contact/event lines. */
export function forcePlot(el, raw, f, { reps = [], events = [] } = {}) {
  const [x, l, r, tot] = decimate([raw.t, f.fzL, f.fzR, f.fz]);
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
