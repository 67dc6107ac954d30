// The kiosk: navigation, the recording controls (always visible while a recording is
// armed or running), banners that say what went wrong and what to do, and the views.
// The recording state comes from the server (live stream + status), so a tablet and
// the kiosk stay in step: whoever starts a test, every screen follows it.
import { api } from "./api.js";
import { initI18n, applyI18n, t, setLang, currentLang, num } from "./i18n.js";
import { LiveStream, REFUSED, contacts } from "./live.js";
import { healthBanners, HEALTH_BANNERS } from "./health.js";
import { h, fill, add, currentAthlete, protocolOf } from "./util.js";
import * as athletes from "./views/athletes.js";
import * as test from "./views/test.js";
import * as live from "./views/live.js";
import * as results from "./views/results.js";
import * as history from "./views/history.js";
import * as admin from "./views/admin.js";
import * as settings from "./views/settings.js";

const VIEWS = { athletes, test, live, results, history, admin, settings };
const BUSY = ["armed", "recording", "analysing"];
const HEALTH_POLL_MS = 2000;
const STATUS_POLL_MS = 1000;

const view = document.getElementById("view");
const banners = document.getElementById("banners");
const controlBar = document.getElementById("control-bar");
const controlState = document.getElementById("control-state");
const toastEl = document.getElementById("toast");

const ctx = {
  stream: new LiveStream(),
  geometry: null,   // the plate geometry in use, from GET /geometry (or the live stream)
  protocols: [],    // from GET /protocols: names, rules and label keys
  isAdmin: false,
  go(name, arg) { location.hash = arg != null ? `#${name}/${arg}` : `#${name}`; },
  toast(msg) {
    toastEl.textContent = msg; toastEl.hidden = false;
    clearTimeout(toastEl._t); toastEl._t = setTimeout(() => { toastEl.hidden = true; }, 3500);
  },
  error(e) {
    console.error(e);
    if (e && e.status === 401) return setBanner("auth", "error", t("banner.auth"), t("banner.auth_todo"));
    if (e && e.status === 403) return ctx.toast(t("error.forbidden"));
    if (e && e.status === 0) return setBanner("unreachable", "error", t("banner.unreachable"), t("banner.unreachable_todo"));
    ctx.toast(e && e.detail ? `${e.detail}${e.hint ? ` — ${e.hint}` : ""}` : String(e));
  },
  refreshChrome,
  // After a token change (settings). The settings view is not drawn again: it would
  // replace a token being typed with the one just saved. A view the user went to
  // meanwhile is, since it was drawn with the old token's access.
  reload: async () => {
    if (!(await loadAccess())) return;
    ctx.stream.reconnect();
    if (currentView() === "settings") refreshChrome(); else route();
  },
};
window.__kiosk = ctx; // tests and the benchmark look at it

// --- banners -----------------------------------------------------------------------------
const bannerState = new Map(); // key -> {kind, what, todo, detail}
const dismissed = new Set();
function setBanner(key, kind, what, todo, detail) {
  const old = bannerState.get(key);
  if (old && old.what === what && old.todo === todo && old.detail === detail) return;
  bannerState.set(key, { kind, what, todo, detail });
  drawBanners();
}
function clearBanner(key) { if (bannerState.delete(key)) drawBanners(); dismissed.delete(key); }
function drawBanners() {
  fill(banners, ...[...bannerState.entries()].filter(([k]) => !dismissed.has(k)).map(([key, b]) =>
    h("div", { class: `banner ${b.kind}`, "data-banner": key },
      h("span", { class: "what" }, b.what, h("span", { class: "todo" }, b.todo),
        b.detail ? h("span", { class: "detail" }, b.detail) : null),
      h("button", { "aria-label": t("common.dismiss"), onclick: () => { dismissed.add(key); drawBanners(); } }, "✕"))));
}

async function pollHealth() {
  try {
    const hz = await api("/healthz");
    clearBanner("unreachable");
    const hw = hz.hardware || {};
    // The server's problems (load cells, camera), each with what to check.
    const shown = healthBanners(hz);
    for (const b of shown) setBanner(b.key, b.kind, b.what, b.todo, b.detail);
    for (const key of HEALTH_BANNERS) if (!shown.some((b) => b.key === key)) clearBanner(key);
    const noisy = (hw.channels || []).filter((c) => c.state === "noisy").map((c) => t(`channel.${c.name}`));
    if (noisy.length) setBanner("noisy", "warn", t("banner.sensor_noisy", { channels: noisy.join(", ") }), t("banner.sensor_noisy_todo"));
    else clearBanner("noisy");
    if (hz.disk && hz.disk.ok === false) setBanner("disk", "error", t("banner.disk", { gb: num((hz.disk.free_bytes || 0) / 1e9, 1) }), t("banner.disk_todo"));
    else clearBanner("disk");
    if (hz.database && hz.database.ok === false) setBanner("database", "error", t("banner.database"), t("banner.database_todo"));
    else clearBanner("database");
  } catch (e) {
    if (e.status === 0) setBanner("unreachable", "error", t("banner.unreachable"), t("banner.unreachable_todo"));
  }
}

// --- recording state ---------------------------------------------------------------------
let rec = { state: "idle" };
let lastRecKey = "";
function onRecording(status) {
  if (!status) return;
  const key = `${status.state}/${status.trial_id}`;
  const prev = rec;
  rec = Object.assign({}, rec, status);
  const busy = BUSY.includes(rec.state);
  controlBar.hidden = !(rec.state === "armed" || rec.state === "recording");
  controlState.textContent = `${t(`state.${rec.state}`)}${rec.state === "recording" ? ` · ${num(rec.elapsed_s || 0, 1)} s` : ""}`;
  // The recorder's warning when it could not zero (someone on the plates at the start).
  const warnings = status.warnings || [];
  if (warnings.some((w) => /not zeroed|were loaded/.test(w)) && rec.state !== "idle")
    setBanner("tare", "warn", t("banner.plate_not_empty"), t("banner.plate_not_empty_todo"));
  if (key === lastRecKey) return;
  lastRecKey = key;
  if (rec.state === "armed") clearBanner("tare");
  if (rec.state === "failed") setBanner("recording", "error", t("banner.recording_failed", { why: rec.message || "" }), t("banner.recording_failed_todo"));
  else if (busy) clearBanner("recording");
  const current = currentView();
  if (busy && !BUSY.includes(prev.state) && current !== "live") ctx.go("live");
  if (rec.state === "saved" && prev.state === "analysing" && rec.trial_id && current === "live") ctx.go("results", rec.trial_id);
}

/** Whether the athlete of a protocol starts off the plates (a hop lands on them: the
 * plates are empty on purpose until then). */
function startsOffThePlates(name) {
  const p = protocolOf(ctx.protocols, name);
  return Boolean(p && p.end_condition === "landing");
}

function checkSteppedOff(msg) {
  const s = ctx.stream.latest;
  if (!s || !msg.recording) return;
  const r = msg.recording;
  // both plates unloaded = no combined CoP from the server
  const off = r.state === "recording" && !startsOffThePlates(r.protocol) && !contacts(s).any;
  if (off) setBanner("stepped_off", "warn", t("banner.stepped_off"), t("banner.stepped_off_todo"));
  else if (bannerState.has("stepped_off") && r.state !== "recording") clearBanner("stepped_off");
}

ctx.stream.listeners.add((msg) => {
  if (msg.type === "closed") {
    if (ctx.stream.closeCode === REFUSED) setBanner("auth", "error", t("banner.auth"), t("banner.auth_todo"));
    return;
  }
  clearBanner("auth");
  onRecording(msg.recording);
  checkSteppedOff(msg);
});

async function pollStatus() {
  try { onRecording(await api("recording/status")); } catch (e) { /* banners come from /healthz */ }
}

document.getElementById("btn-stop").addEventListener("click", () => api("recording/stop", { method: "POST" }).then(onRecording).catch(ctx.error));
document.getElementById("btn-abort").addEventListener("click", () => api("recording/abort", { method: "POST" }).then(onRecording).catch(ctx.error));

// --- chrome and routing ----------------------------------------------------------------
/** The view named in the URL (#name/arg), "" on the start page. */
function currentView() { return location.hash.slice(1).split("/")[0]; }

function refreshChrome() {
  const a = currentAthlete();
  const chip = document.getElementById("athlete-chip");
  chip.textContent = a ? a.name : t("athletes.choose_prompt");
  document.body.classList.toggle("is-admin", ctx.isAdmin);
  const current = currentView() || "athletes";
  document.querySelectorAll(".tabs button").forEach((b) => b.classList.toggle("active", b.dataset.nav === current));
  document.getElementById("lang-switch").textContent = t("lang.switch");
}

let cleanup = null;
let routeSeq = 0;
async function route() {
  const [name, arg] = location.hash.slice(1).split("/");
  const v = VIEWS[name] || athletes;
  if (cleanup) { try { cleanup(); } catch (e) { /* view already gone */ } cleanup = null; }
  const seq = ++routeSeq;
  const root = h("section", { class: `view view-${name || "athletes"}`, "data-view": name || "athletes" });
  fill(view, root);
  refreshChrome();
  // Results of a long trial take a moment (the server computes its plot series): say so.
  const loading = document.getElementById("loading");
  const shown = setTimeout(() => { loading.hidden = false; }, 300);
  try {
    const out = await v.render(root, ctx, arg ? Number(arg) : undefined);
    clearTimeout(shown);
    loading.hidden = true;
    if (seq !== routeSeq) { if (typeof out === "function") out(); return; }
    cleanup = typeof out === "function" ? out : null;
    root.dataset.ready = "1";
  } catch (e) { clearTimeout(shown); loading.hidden = true; ctx.error(e); root.dataset.ready = "error"; }
}

let accessSeq = 0;
/** Protocols, geometry and role with the current token; false when a newer call
 *  (a token saved again meanwhile) made this one's answers old news. */
async function loadAccess() {
  const seq = ++accessSeq;
  // the geometry in use is readable with any token (GET /calibration is admin-only)
  const [p, g, c] = await Promise.allSettled([api("protocols"), api("geometry"), api("calibration")]);
  if (seq !== accessSeq) return false;
  if (p.status === "fulfilled") { ctx.protocols = p.value.protocols; clearBanner("auth"); } else ctx.error(p.reason);
  if (g.status === "fulfilled" && g.value && g.value.plates) ctx.geometry = g.value;
  ctx.isAdmin = c.status === "fulfilled";
  if (ctx.isAdmin && c.value.in_use && c.value.in_use.geometry && c.value.in_use.geometry.plates) ctx.geometry = c.value.in_use.geometry;
  return true;
}

async function main() {
  await initI18n();
  applyI18n(document);
  document.querySelectorAll("[data-nav]").forEach((b) => b.addEventListener("click", () => ctx.go(b.dataset.nav)));
  document.getElementById("lang-switch").addEventListener("click", async () => {
    await setLang(currentLang() === "nl" ? "en" : "nl");
    route();
  });
  await loadAccess();
  window.addEventListener("hashchange", route);
  ctx.stream.connect();
  await route();
  pollHealth(); pollStatus();
  setInterval(pollHealth, HEALTH_POLL_MS);
  setInterval(pollStatus, STATUS_POLL_MS);
  document.body.dataset.ready = "1";
}

main();
