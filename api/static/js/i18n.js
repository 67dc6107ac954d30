// Translations: every text the page shows comes from i18n/<lang>.json. Elements carry
// data-i18n="key" (text), data-i18n-placeholder / data-i18n-aria (attributes).

const LANG_KEY = "stance.lang";
export const LANGS = ["nl", "en"];
let lang = localStorage.getItem(LANG_KEY) || "nl";
let dict = {};
let fallback = {};

async function load(code) {
  const res = await fetch(`i18n/${code}.json`);
  return res.json();
}

export async function initI18n() {
  fallback = await load("en");
  if (!LANGS.includes(lang)) lang = "nl";
  dict = lang === "en" ? fallback : await load(lang);
  document.documentElement.lang = lang;
}

export function currentLang() { return lang; }

export async function setLang(code) {
  lang = code;
  localStorage.setItem(LANG_KEY, code);
  await initI18n();
  applyI18n(document);
}

/** The text for key with {name} placeholders filled in (the key itself when missing). */
export function t(key, params) {
  let s = dict[key] ?? fallback[key] ?? key;
  if (params) for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

export function applyI18n(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
}

/** Format a number for the current language (comma decimals in Dutch). */
export function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  return Number(v).toLocaleString(lang === "nl" ? "nl-NL" : "en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function dateTime(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(lang === "nl" ? "nl-NL" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}
