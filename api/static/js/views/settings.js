// Settings: the tablet's token (stored in localStorage), language, on-screen keyboard
// and countdown.
import { getToken, setToken } from "../api.js";
import { t, setLang, LANGS, currentLang } from "../i18n.js";
import { h, fill, add } from "../util.js";
import { countdownSeconds, setCountdownSeconds } from "./test.js";
import { keyboardMode, setKeyboardMode } from "../keyboard.js";

const KEYBOARD_MODES = ["auto", "always", "touch", "off"];

export function render(root, ctx) {
  const token = h("input", { type: "password", id: "token", value: getToken(), autocomplete: "off", "data-i18n-placeholder": "settings.token_placeholder", placeholder: t("settings.token_placeholder") });
  const cd = h("input", { type: "number", id: "countdown-s", min: 0, max: 10, value: countdownSeconds(), inputmode: "numeric", style: "width:110px" });
  const keyboardRow = h("div", { class: "row", id: "keyboard-modes" });
  const drawKeyboardModes = () => fill(keyboardRow, KEYBOARD_MODES.map((m) => h("button", {
    class: m === keyboardMode() ? "selected" : "", "data-keyboard": m,
    onclick: () => { setKeyboardMode(m); drawKeyboardModes(); ctx.toast(t("settings.saved")); } }, t(`settings.keyboard_${m}`))));
  drawKeyboardModes();
  add(root, h("h1", { i18n: "settings.title" }),
    // A form, so Enter (on-screen or real keyboard) saves the token as Save does.
    h("form", { class: "card", id: "token-form", onsubmit: async (ev) => {
      ev.preventDefault();
      setToken(token.value); await ctx.reload(); ctx.toast(t("settings.saved"));
    } },
      h("label", { i18n: "settings.token" }), token,
      h("p", { class: "muted", i18n: "settings.token_help" }),
      h("div", { class: "row" },
        h("button", { type: "submit", class: "primary", id: "save-token", i18n: "common.save" }),
        h("button", { type: "button", i18n: "settings.forget_token", onclick: async () => { setToken(""); token.value = ""; await ctx.reload(); } }))),
    h("div", { class: "card", style: "margin-top:8px" },
      h("label", { i18n: "settings.language" }),
      h("div", { class: "row" }, LANGS.map((l) => h("button", { class: l === currentLang() ? "selected" : "", "data-lang": l,
        onclick: async () => { await setLang(l); ctx.go("settings"); } }, t(`lang.${l}`)))),
      h("label", { i18n: "settings.keyboard" }),
      keyboardRow,
      h("label", { i18n: "settings.countdown" }), cd,
      h("div", { class: "row" }, h("button", { i18n: "common.save", onclick: () => { setCountdownSeconds(Number(cd.value)); ctx.toast(t("settings.saved")); } }))));
}
