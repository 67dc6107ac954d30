// Live view: both plates to scale with the CoP trails, left/right load bars with the
// body-weight percentage, contact indicators, timer and rep counter. Contacts are the
// CoPs the server sends (none below its threshold); the body weight is the server's.
import { api } from "../api.js";
import { t, num } from "../i18n.js";
import { PlateCanvas, contacts } from "../live.js";
import { h, add, currentAthlete, protocolOf } from "../util.js";

/** The recorder's arming messages (English, from the server) in the page's language. */
const ARMED_MESSAGES = {
  "zeroing the empty plates": "live.msg_zeroing",
  "step onto the plates and stand still": "live.msg_step_on",
  "waiting for the athlete": "live.msg_step_on",
};
function armedMessage(m) { return ARMED_MESSAGES[m] ? t(ARMED_MESSAGES[m]) : (m || ""); }

export function render(root, ctx) {
  const canvas = h("canvas", { class: "plates", id: "live-canvas" });
  const timer = h("span", { class: "v", id: "live-timer" }, "0,0");
  const reps = h("span", { class: "v", id: "live-reps" }, "–");
  const state = h("div", { class: "state-line", id: "live-state" });
  const msg = h("div", { class: "live-msg", id: "live-message" });
  const bar = (side) => {
    const fill = h("div", { class: "fill" });
    const pct = h("div", { class: "pct" });
    return { el: h("div", { class: `bar ${side}`, id: `bar-${side}` }, h("div", { class: "lbl" }, t(`leg.${side}`)), fill, pct), fill, pct };
  };
  const bl = bar("left"), br = bar("right");
  const cl = h("div", { class: "contact", id: "contact-left" }, t("leg.left"));
  const cr = h("div", { class: "contact", id: "contact-right" }, t("leg.right"));
  add(root, h("div", { class: "live" },
    h("div", { style: "min-height:0" }, canvas),
    h("div", { class: "side" },
      state, msg,
      h("div", { class: "bigstat" }, h("span", { i18n: "live.time" }), timer),
      h("div", { class: "bigstat" }, h("span", { i18n: "live.reps" }), reps),
      h("div", { class: "bars" }, bl.el, br.el),
      h("div", { class: "contacts" }, cl, cr))));

  const pc = new PlateCanvas(canvas, ctx.stream, ctx.geometry);
  // The chosen athlete's weight in newtons, as the server states it (mass * g).
  const athlete = currentAthlete();
  let bw = athlete && athlete.body_weight_n ? athlete.body_weight_n : null;
  if (athlete) api(`athletes/${athlete.id}`).then((a) => { bw = a.body_weight_n || null; }).catch(() => { /* keep newtons */ });
  let lastPanel = 0;
  pc.onFrame = (stream) => {
    const now = performance.now();
    if (now - lastPanel < 66) return; // the text and bars at ~15 Hz is plenty; the canvas draws every frame
    lastPanel = now;
    const s = stream.latest;
    const rec = stream.recording;
    const fz = s ? s.fz_n : [0, 0];
    const total = Math.max(fz[0] + fz[1], 1); // the bars' scale without a body weight (drawing only)
    for (const [b, f] of [[bl, fz[0]], [br, fz[1]]]) {
      const share = bw ? f / bw : f / total;
      b.fill.style.height = `${Math.max(0, Math.min(1, share)) * 100}%`;
      b.pct.textContent = bw ? `${num(100 * f / bw, 0)} % ${t("live.bw")}` : `${num(f, 0)} N`;
    }
    const on = contacts(s);
    cl.classList.toggle("on", on.left);
    cr.classList.toggle("on", on.right);
    if (rec) {
      timer.textContent = `${num(rec.elapsed_s || 0, 1)} s`;
      const p = protocolOf(ctx.protocols, rec.protocol);
      reps.textContent = p && p.end_condition === "reps" ? String(rec.reps ?? 0) : "–";
      state.textContent = t(`state.${rec.state}`);
      // The server's message adds something only while arming (what the athlete should do).
      msg.textContent = rec.state === "idle" ? t("live.idle_hint") : rec.state === "armed" ? armedMessage(rec.message) : "";
    }
  };
  pc.start();
  return () => pc.stop();
}
