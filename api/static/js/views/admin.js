// Admin: hardware health per channel, the calibration in use, a manual re-zero and the
// guided calibration workflow (live reading, steps, fit, verification, activation).
import { api } from "../api.js";
import { t, num, dateTime } from "../i18n.js";
import { h, fill, add } from "../util.js";

const ACTIVE = ["tare", "capture", "fitted", "verifying", "verified"];

export function render(root, ctx) {
  const health = h("div", { class: "card", id: "health" });
  const current = h("div", { class: "card", id: "calibration-current" });
  const wizard = h("div", { class: "card", id: "calibration-wizard" });
  const wErr = h("p", { class: "fail", id: "wizard-error" });
  // Text, not type=number: it takes the page language's decimal comma too ("12,5").
  const mass = h("input", { type: "text", id: "cal-mass", value: 20, inputmode: "decimal", autocomplete: "off", style: "width:110px" });
  // Drawn once and kept: the wizard is redrawn every poll, and moving a field out of the
  // page and back takes its focus (and the on-screen keyboard) away mid-typing.
  const startForm = h("form", { class: "row", id: "cal-start-form", onsubmit: (ev) => {
    ev.preventDefault();
    act("start", { mass_kg: Number(mass.value.trim().replace(",", ".")) });
  } }, h("label", {}, t("cal.mass"), mass), h("button", { type: "submit", class: "primary", id: "cal-start", i18n: "cal.start" }));
  const wizardBody = h("div", {});
  add(root, h("h1", { i18n: "admin.title" }), health, h("div", { style: "height:8px" }),
    h("div", { class: "grid2" }, wizard, current));

  const act = async (path, body) => {
    wErr.textContent = "";
    try { await api(`calibration/workflow/${path}`, { method: "POST", body }); } catch (e) {
      wErr.textContent = e.detail + (e.hint ? ` — ${e.hint}` : "");
    }
    await poll();
  };

  function drawHealth(hz) {
    const hw = hz.hardware || {};
    const chans = hw.channels || [];
    fill(health, 
      h("h2", { i18n: "admin.health" }),
      h("div", { class: "channels", id: "channels" }, chans.map((c) => h("div", { class: `channel ${c.state}`, "data-channel": c.name, "data-state": c.state },
        h("div", {}, t(`channel.${c.name}`)), h("div", {}, t(`channel_state.${c.state}`))))),
      h("p", { class: "muted" }, t("admin.rate", { rate: num(hw.achieved_rate_hz, 1), nominal: num(hw.rate_hz, 0) }),
        " · ", t(hz.database && hz.database.ok ? "admin.db_ok" : "admin.db_bad"),
        " · ", t("admin.disk_free", { gb: num(((hz.disk && hz.disk.free_bytes) || 0) / 1e9, 1) }),
        " · ", t(hz.camera && hz.camera.available ? "admin.camera_ok" : "admin.camera_none")));
  }

  async function drawCurrent() {
    const c = await api("calibration");
    fill(current, h("h2", { i18n: "admin.calibration" }),
      c.uncalibrated ? h("p", { class: "fail", i18n: "admin.uncalibrated" })
        : h("p", { id: "active-calibration" }, t("admin.active_calibration", { id: c.calibration.id, when: dateTime(c.calibration.created_at),
          who: c.calibration.created_by || "–" }), " ",
        c.calibration.verification_passed ? h("span", { class: "pass", i18n: "admin.verified" }) : null),
      c.warning && !c.uncalibrated ? h("p", { class: "muted" }, c.warning) : null,
      h("button", { id: "rezero", i18n: "admin.rezero", onclick: async () => {
        try { await api("calibration/rezero", { method: "POST", body: {} }); ctx.toast(t("admin.rezero_done")); } catch (e) { ctx.error(e); }
      } }));
  }

  let lastState = null;
  function drawWizard(w) {
    const state = w.state;
    const rows = [h("h2", { i18n: "admin.wizard" }), h("div", { class: "state-line", id: "wizard-state", "data-state": state }, t(`cal_state.${state}`))];
    if (!ACTIVE.includes(state)) {
      if (state === "activated") rows.push(h("p", { class: "pass", id: "wizard-done" }, t("cal.activated", { id: w.calibration_id })));
    } else {
      const steps = w.state === "verifying" || w.state === "verified" ? w.verification_steps : w.steps;
      const done = w.state === "verifying" || w.state === "verified" ? w.verified_points : w.captured;
      if (w.step && (state === "capture" || state === "verifying")) {
        const s = w.step;
        rows.push(h("p", { class: "instructions", id: "cal-instruction" }, t("cal.place", {
          mass: num(s.mass_kg, 0), plate: t(`leg.${s.plate}`), x: num(s.position_mm[0], 0), y: num(s.position_mm[1], 0) })));
        const live = w.live || {};
        const f = live.force_n || {};
        rows.push(h("p", { id: "cal-live" }, t("cal.reading", {
          left: num(f.left, 1), right: num(f.right, 1), expected: num(live.expected_force_n, 1) }),
          live.cop_mm ? ` · CoP (${num(live.cop_mm[0], 0)}, ${num(live.cop_mm[1], 0)}) mm` : "",
          ` · ${num(100 * (live.progress || 0), 0)} %`));
      } else if (state === "tare") rows.push(h("p", { class: "instructions", i18n: "cal.tare_hint" }));
      else if (state === "capture") rows.push(h("p", { class: "instructions", i18n: "cal.all_captured" }));
      else if (state === "fitted") rows.push(h("p", { class: "instructions", i18n: "cal.fitted_hint" }));
      rows.push(h("ul", { class: "steps" }, (steps || []).map((s, i) => h("li", { class: i < done ? "done" : i === done ? "current" : "" },
        `${t(`leg.${s.plate}`)} ${num(s.mass_kg, 0)} kg`))));
      if (w.verification) {
        const v = w.verification;
        rows.push(h("p", { id: "verification" }, h("span", { class: v.passed ? "pass" : "fail" }, t(v.passed ? "cal.verify_pass" : "cal.verify_fail")),
          " ", t("cal.verify_errors", { force: num(v.max_force_error_pct, 2), cop: num(v.max_cop_error_mm, 1) })));
      }
      const b = [];
      if (state === "tare") b.push(h("button", { class: "primary", id: "cal-tare", i18n: "cal.tare", onclick: () => act("tare") }));
      if (state === "capture" && w.step) b.push(h("button", { id: "cal-capture", i18n: "cal.capture", onclick: () => act("capture", {}) }),
        h("button", { id: "cal-capture-anyway", i18n: "cal.capture_anyway", onclick: () => act("capture", { anyway: true }) }));
      if (state === "capture" && !w.step) b.push(h("button", { class: "primary", id: "cal-fit", i18n: "cal.fit", onclick: () => act("fit") }));
      if (state === "fitted" || (state === "verified" && !(w.verification && w.verification.passed)))
        b.push(h("button", { class: "primary", id: "cal-verify", i18n: "cal.verify", onclick: () => act("verify") }));
      if (state === "verified" && w.verification && w.verification.passed)
        b.push(h("button", { class: "primary", id: "cal-activate", i18n: "cal.activate", onclick: () => act("activate") }));
      b.push(h("button", { class: "danger", id: "cal-cancel", i18n: "common.cancel", onclick: () => act("cancel") }));
      rows.push(h("div", { class: "row" }, b));
    }
    if (w.error) rows.push(h("p", { class: "fail" }, w.error, w.hint ? ` — ${w.hint}` : ""));
    const idle = !ACTIVE.includes(state);
    startForm.hidden = !idle;
    fill(wizardBody, ...rows);
    if (!wizard.contains(startForm)) fill(wizard, wizardBody, startForm, wErr);
    if (state !== lastState && state === "activated") drawCurrent().catch(ctx.error);
    lastState = state;
  }

  async function poll() {
    const [hz, w] = await Promise.all([api("/healthz"), api("calibration/workflow")]);
    drawHealth(hz);
    drawWizard(w);
  }

  let stopped = false;
  (async () => {
    try { await drawCurrent(); } catch (e) { ctx.error(e); }
    while (!stopped) {
      try { await poll(); } catch (e) { if (!stopped) ctx.error(e); }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return () => { stopped = true; };
}
