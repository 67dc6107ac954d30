// Small DOM helpers, drawing helpers for the plates, protocol look-ups and the kiosk's
// local state (chosen athlete, recent athletes), kept in localStorage so a reload keeps
// them. Facts about the station (geometry, protocols, thresholds, g) are not here: the
// server sends them (GET /geometry, /protocols, the live stream, /trials/{id}/plot).
import { t } from "./i18n.js";

/** h("div", {class: "x", onclick: fn}, child, ...) -> element; strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "i18n") { el.dataset.i18n = v; el.textContent = t(v); }
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Margin of the drawn plate outline around its cells (mm; drawing only). */
export const PLATE_MARGIN_MM = 20;

/** Outline rectangle {x0, y0, x1, y1} (mm) of a plate of a geometry the server sent. */
export function plateRect(geometry, plate) {
  const g = geometry.plates[plate];
  const cells = Object.values(g.cells_mm);
  const xs = cells.map((c) => g.center_mm[0] + c[0]);
  const ys = cells.map((c) => g.center_mm[1] + c[1]);
  return {
    x0: Math.min(...xs) - PLATE_MARGIN_MM, x1: Math.max(...xs) + PLATE_MARGIN_MM,
    y0: Math.min(...ys) - PLATE_MARGIN_MM, y1: Math.max(...ys) + PLATE_MARGIN_MM,
  };
}

// --- kiosk state -------------------------------------------------------------------------
const ATHLETE_KEY = "stance.athlete";
const RECENT_KEY = "stance.recent";
const RECENT_MAX = 5;

export function currentAthlete() {
  try { return JSON.parse(localStorage.getItem(ATHLETE_KEY) || "null"); } catch (e) { return null; }
}

export function chooseAthlete(a) {
  if (!a) { localStorage.removeItem(ATHLETE_KEY); return; }
  const slim = { id: a.id, name: a.name, body_mass_kg: a.body_mass_kg ?? null, body_weight_n: a.body_weight_n ?? null,
    dominant_leg: a.dominant_leg ?? null };
  localStorage.setItem(ATHLETE_KEY, JSON.stringify(slim));
  const recent = recentAthletes().filter((r) => r.id !== a.id);
  recent.unshift(slim);
  localStorage.setItem(RECENT_KEY, JSON.stringify(recent.slice(0, RECENT_MAX)));
}

export function recentAthletes() {
  try { return JSON.parse(localStorage.getItem(RECENT_KEY) || "[]"); } catch (e) { return []; }
}

export function forgetRecent(id) {
  localStorage.setItem(RECENT_KEY, JSON.stringify(recentAthletes().filter((r) => r.id !== id)));
}

// --- protocols (from GET /api/v1/protocols) ------------------------------------------------
/** The protocol named, from the list the server sent (undefined if unknown). */
export function protocolOf(protocols, name) { return protocols.find((p) => p.name === name); }

/** A protocol's name in the page's language (its label key from the server). */
export function protocolLabel(protocols, name) {
  const p = protocolOf(protocols, name);
  return p ? t(p.label_key) : name;
}

/** el.append(...kids) leaving out null/false (append would insert the text "null"). */
export function add(el, ...kids) {
  el.append(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  return el;
}

/** el.replaceChildren(...kids) leaving out null/false. */
export function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  return el;
}
