// Test set-up: protocol and leg, the instruction card, options, then a countdown and
// the start request; the live view follows the server's recording state from there.
import { api } from "../api.js";
import { t, currentLang } from "../i18n.js";
import { h, fill, add, currentAthlete } from "../util.js";

const COUNTDOWN_KEY = "stance.countdown_s";
export function countdownSeconds() {
  const v = Number(localStorage.getItem(COUNTDOWN_KEY) ?? 3);
  return Number.isFinite(v) && v >= 0 ? Math.min(v, 10) : 3;
}
export function setCountdownSeconds(v) { localStorage.setItem(COUNTDOWN_KEY, String(v)); }

const chosen = { protocol: null, leg: null };

export function render(root, ctx) {
  const athlete = currentAthlete();
  if (!athlete) {
    add(root, h("div", { class: "card" }, h("p", { i18n: "test.pick_athlete_first" }),
      h("button", { class: "primary", i18n: "nav.athletes", onclick: () => ctx.go("athletes") })));
    return;
  }
  if (!chosen.leg && athlete.dominant_leg) chosen.leg = athlete.dominant_leg;
  const protoButtons = h("div", { class: "protocols", id: "protocols" });
  const legRow = h("div", { class: "row", id: "legs" });
  const card = h("div", { class: "card instructions", id: "instructions" });
  const opts = h("div", { class: "row", id: "options" });
  const reps = h("input", { type: "number", id: "opt-reps", min: 1, max: 30, value: 5, inputmode: "numeric", style: "width:110px" });
  const duration = h("input", { type: "number", id: "opt-duration", min: 1, max: 300, inputmode: "numeric", style: "width:110px" });
  const startBtn = h("button", { class: "primary", id: "start-test", i18n: "test.start", style: "min-width:180px;min-height:56px;font-size:1.2rem" });
  const cd = h("div", { class: "countdown hidden", id: "countdown" });

  // first visit: the first single-leg test the server lists
  function proto() {
    return ctx.protocols.find((p) => p.name === chosen.protocol) || ctx.protocols.find((p) => p.single_leg) || ctx.protocols[0];
  }

  function refresh() {
    const p = proto();
    fill(protoButtons, ...ctx.protocols.map((q) => h("button", {
      class: q.name === p.name ? "selected" : "", "data-protocol": q.name,
      onclick: () => { chosen.protocol = q.name; refresh(); } }, t(q.label_key))));
    fill(legRow, ...(p.needs_leg ? [h("span", { class: "muted", i18n: "test.stance_leg" }),
      ...["left", "right"].map((leg) => h("button", { class: chosen.leg === leg ? "selected" : "", "data-leg": leg,
        onclick: () => { chosen.leg = leg; refresh(); } }, t(`leg.${leg}`)))] : []));
    fill(card, 
      h("h2", {}, t(p.label_key)),
      h("p", {}, p.instructions[currentLang()] || p.instructions.en),
      h("p", { class: "muted" }, t(`measures.${p.name}`)));
    duration.placeholder = String(p.default_duration_s);
    fill(opts, 
      p.end_condition === "reps" ? h("label", {}, t("test.reps"), reps) : null,
      h("label", {}, t("test.max_duration"), duration));
    startBtn.disabled = p.needs_leg && !chosen.leg;
  }

  startBtn.addEventListener("click", async () => {
    const p = proto();
    const body = { athlete_id: athlete.id, protocol: p.name, options: {} };
    if (p.needs_leg) body.leg = chosen.leg;
    if (p.end_condition === "reps" && reps.value) body.options.reps = Number(reps.value);
    if (duration.value) body.options.duration_s = Number(duration.value);
    startBtn.disabled = true;
    let cancelled = false;
    const cancel = h("button", { class: "danger", id: "cancel-countdown", i18n: "common.cancel", onclick: () => { cancelled = true; } });
    cd.classList.remove("hidden");
    add(root, cancel);
    for (let s = countdownSeconds(); s > 0 && !cancelled; s--) {
      cd.textContent = String(s);
      await new Promise((r) => setTimeout(r, 1000));
    }
    cd.classList.add("hidden");
    cancel.remove();
    if (cancelled) { startBtn.disabled = false; return; }
    try {
      await api("recording/start", { method: "POST", body });
      ctx.stream.clearTrails();
      ctx.go("live");
    } catch (e) { ctx.error(e); startBtn.disabled = false; }
  });

  add(root, 
    // Start sits beside the title so it is on screen without scrolling, even at 800x480.
    h("div", { class: "row" }, h("h1", { class: "grow" }, t("test.title", { name: athlete.name })), startBtn),
    protoButtons, h("div", { style: "height:6px" }), legRow, card, opts, cd);
  refresh();
}
