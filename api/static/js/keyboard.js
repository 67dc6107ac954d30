// The on-screen keyboard inside the page. On the station's display Chromium runs in
// --kiosk under labwc, where the system keyboard (squeekboard) opens below the kiosk
// window (labwc #2926): without this nobody could type an athlete's name.
//
// When it shows: "always" on the station's own display (the page opened on a loopback
// address: scripts/kiosk.sh opens http://127.0.0.1:8000/, and cheap HDMI touchscreens
// report taps as mouse clicks, so "was it a finger" cannot be the test there); "touch"
// elsewhere (a tablet: when a finger focused the field); "off". `?keyboard=always|touch|off`
// in the URL overrides that and is remembered on the device.
//
// It works on any text/number input or textarea, including ones drawn later (focus is
// watched on the document). It is part of the page's layout (a flex row under <main>,
// not an overlay), so <main> shrinks and scrolls: it cannot cover the focused field.
// Keys type through the browser's own editing (execCommand "insertText"/"delete"), so
// the caret, selection, maxlength and the "input" events the views listen to behave as
// with a real keyboard.
import { t, currentLang, num } from "./i18n.js";
import { h } from "./util.js";

const MODE_KEY = "stance.keyboard";
const MODES = ["always", "touch", "off"];
const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];
// Input types the keyboard types into (checkbox, range, file, ... are left alone).
const TYPED = new Set(["text", "search", "password", "number", "email", "tel", "url"]);
// A finger focused the field if a touch pointerdown came this recently (ms): a tap on
// "+ New athlete" focuses the name field from code, a moment later.
const TOUCH_RECENT_MS = 1500;
// After focus left the field: wait this long (ms) after the pointer is up before
// hiding, so the page does not move under a tap that is still being delivered.
const HIDE_DELAY_MS = 120;

function chooseMode() {
  const stored = localStorage.getItem(MODE_KEY);
  if (MODES.includes(stored)) return stored;
  return LOOPBACK.includes(location.hostname) ? "always" : "touch";
}
const asked = new URLSearchParams(location.search).get("keyboard");
if (MODES.includes(asked)) localStorage.setItem(MODE_KEY, asked);
let MODE = chooseMode();

/** "auto" (the device decides, see above), "always", "touch" or "off". */
export function keyboardMode() {
  const stored = localStorage.getItem(MODE_KEY);
  return MODES.includes(stored) ? stored : "auto";
}

/** Settings: remember mode on this device ("auto" forgets the choice). */
export function setKeyboardMode(mode) {
  if (MODES.includes(mode)) localStorage.setItem(MODE_KEY, mode); else localStorage.removeItem(MODE_KEY);
  MODE = chooseMode();
  window.__kioskKeyboard.mode = MODE;
  if (MODE === "off") hide(false);
}

// --- layouts -----------------------------------------------------------------------------
// A string key types itself (its capital with shift); objects are actions. w = width
// in key units. Dutch names need é ë ï ö ü on the first layer, the ij key types "ij"
// ("IJ" with shift, as in IJzerman: two letters, not the ligature), ' (d'Hondt, 't) and -.
const BACK = { act: "back", w: 1.5 };
const ENTER = { act: "enter", w: 1.5 };
const SHIFT = { act: "shift", w: 1.5 };
const CLOSE = { act: "close", w: 1.5 };
const SPACE = (w) => ({ act: "space", w });
const LAYER = (layer, label, w = 1.5) => ({ act: "layer", layer, label, w });
const chars = (s) => [...s];

const LAYERS = {
  nl: {
    abc: [
      [...chars("qwertyuiop"), BACK],
      [...chars("asdfghjkl'"), ENTER],
      [SHIFT, ...chars("zxcvbnm"), "ij", "-", LAYER("accents", "àé", 1)],
      [LAYER("symbols", "123"), ...chars("éëïöü"), SPACE(3.5), CLOSE],
    ],
  },
  en: {
    abc: [
      [...chars("qwertyuiop"), BACK],
      [...chars("asdfghjkl'"), ENTER],
      [SHIFT, ...chars("zxcvbnm-,.")],
      [LAYER("symbols", "123"), LAYER("accents", "àé"), SPACE(7), CLOSE],
    ],
  },
  common: {
    symbols: [
      [...chars("1234567890"), BACK],
      [...chars("@#&_-+()/?"), ENTER],
      [...chars(".,:;!\"*=%'€")],
      [LAYER("abc", "abc"), LAYER("accents", "àé"), SPACE(6.5), CLOSE],
    ],
    accents: [
      [...chars("àáâäèêçñåø"), BACK],
      [...chars("íìîóòôúùûæ"), ENTER],
      [SHIFT, ...chars("éëïöüÿœ'-")],
      [LAYER("abc", "abc"), LAYER("symbols", "123"), SPACE(6.5), CLOSE],
    ],
  },
};

/** The number pad; sep is the decimal separator the field accepts (null: whole numbers). */
function pad(sep) {
  return [
    [...chars("123"), BACK],
    [...chars("456"), ENTER],
    [...chars("789"), CLOSE],
    [sep ? sep : { gap: true }, "0", { gap: true }, { gap: true, w: 1.5 }],
  ];
}

// --- state -------------------------------------------------------------------------------
const kb = h("div", { id: "osk", class: "osk", role: "group", hidden: true });
let target = null;     // the field being typed into
let layer = "abc";     // abc | symbols | accents | pad
let shift = 0;         // 0 off, 1 next letter, 2 caps lock
let pointerDown = false;
let hidePending = false;
let lastTouchAt = -Infinity;
// A field removed with its view (a form saved, a page left) takes the keyboard with it.
// Watched only while the keyboard is up: the live view changes the page 30 times a second.
const removal = new MutationObserver(() => { if (target && !target.isConnected) hide(false); });

function typed(el) {
  if (!el || el.disabled || el.readOnly) return false;
  if (el.tagName === "TEXTAREA") return true;
  return el.tagName === "INPUT" && TYPED.has(el.type);
}

function wanted(el) {
  if (MODE === "off" || !typed(el)) return false;
  return MODE === "always" || performance.now() - lastTouchAt < TOUCH_RECENT_MS;
}

/** The field's own inputmode, read before the keyboard set it to "none" (which keeps a
 *  tablet's system keyboard away while this one is used). */
function claim(el) {
  if (!("oskInputmode" in el.dataset)) el.dataset.oskInputmode = el.getAttribute("inputmode") || "";
  el.setAttribute("inputmode", "none");
}

/** "decimal" / "numeric" for number-like fields, null for text. */
function numberKind(el) {
  const mode = el.dataset.oskInputmode ?? el.getAttribute("inputmode") ?? "";
  if (mode === "decimal") return "decimal";
  if (mode === "numeric" || el.type === "number") return "numeric";
  return null;
}

/** The decimal separator the field takes: an <input type=number> only ever takes ".";
 *  a text field takes the page language's (the views read "72,5" and "72.5" both). */
function separator(el) {
  return el.type === "number" ? "." : num(1.5, 1).replace(/[0-9]/g, "");
}

// --- drawing -----------------------------------------------------------------------------
const ACTION = {
  back: { label: "⌫", aria: "keyboard.backspace" },
  enter: { label: "↵", aria: "keyboard.enter" },
  close: { label: "▾", aria: "keyboard.close" },
  space: { aria: "keyboard.space" },
};

function up(s) { return s.toUpperCase(); }

function keyEl(k) {
  if (typeof k === "string") {
    const label = shift ? up(k) : k;
    return h("button", { type: "button", tabindex: "-1", class: "osk-key", "data-key": k }, label);
  }
  if (k.gap) return h("span", { class: "osk-gap", style: `flex-grow:${k.w || 1}` });
  const attrs = { type: "button", tabindex: "-1", class: `osk-key act ${k.act}`, "data-act": k.act, style: `flex-grow:${k.w || 1}` };
  if (k.act === "layer") return h("button", Object.assign(attrs, { "data-layer": k.layer }), k.label);
  if (k.act === "shift") {
    return h("button", Object.assign(attrs, { class: `${attrs.class}${shift ? " on" : ""}`, "aria-pressed": shift ? "true" : "false",
      "aria-label": t(shift === 2 ? "keyboard.caps_lock" : "keyboard.shift") }), shift === 2 ? "⇪" : "⇧");
  }
  const a = ACTION[k.act];
  return h("button", Object.assign(attrs, { "aria-label": t(a.aria) }), a.label || t(a.aria));
}

function rows() {
  if (layer === "pad") return pad(numberKind(target) === "decimal" ? separator(target) : null);
  const own = LAYERS[currentLang()] || LAYERS.en;
  return own[layer] || LAYERS.common[layer] || own.abc;
}

function draw() {
  kb.replaceChildren(...rows().map((r) => h("div", { class: "osk-row" }, r.map(keyEl))));
  kb.classList.toggle("osk-pad", layer === "pad");
  kb.dataset.layer = layer;
  kb.dataset.shift = String(shift);
  kb.setAttribute("aria-label", t("keyboard.title"));
}

// --- showing and hiding ------------------------------------------------------------------
function show(el) {
  hidePending = false;
  claim(el);
  if (el !== target) { target = el; shift = 0; layer = numberKind(el) ? "pad" : "abc"; }
  draw();
  kb.hidden = false;
  document.body.classList.add("osk-open");
  removal.observe(document.body, { childList: true, subtree: true });
  reveal();
}

/** Scroll the field into the part of <main> the keyboard leaves free. */
function reveal() {
  if (target && !kb.hidden) target.scrollIntoView({ block: "nearest", inline: "nearest" });
}

function hide(blur) {
  hidePending = false;
  const el = target;
  target = null;
  kb.hidden = true;
  document.body.classList.remove("osk-open");
  removal.disconnect();
  if (blur && el && document.activeElement === el) el.blur();
}

/** Focus left the field: hide unless it went to another field (or came back). */
function settle() {
  if (!hidePending) return;
  hidePending = false;
  const a = document.activeElement;
  if (target && a === target && target.isConnected) return;
  if (wanted(a)) show(a); else hide(false);
}

function hideSoon() {
  hidePending = true;
  if (!pointerDown) setTimeout(settle, HIDE_DELAY_MS);
}

// --- typing ------------------------------------------------------------------------------
function refocus() {
  if (document.activeElement !== target) target.focus({ preventScroll: true });
}

function insert(s) {
  refocus();
  if (document.execCommand("insertText", false, s)) return;
  // Not editable through the editing commands (should not happen in Chromium): append.
  target.value += s;
  target.dispatchEvent(new Event("input", { bubbles: true }));
}

function backspace() {
  refocus();
  if (document.execCommand("delete", false)) return;
  target.value = target.value.slice(0, -1);
  target.dispatchEvent(new Event("input", { bubbles: true }));
}

/** Enter does what it does on a real keyboard: a new line in a textarea; in a form, the
 *  form is submitted (with its validation, as the browser's implicit submission); any
 *  other field is done with. */
function enter() {
  if (target.tagName === "TEXTAREA") return insert("\n");
  const form = target.form;
  if (form && !form.reportValidity()) return;
  hide(true);
  if (form) form.requestSubmit();
}

function press(btn) {
  if (!target || !target.isConnected) return hide(false);
  const act = btn.dataset.act;
  if (!act) {
    insert(shift ? up(btn.dataset.key) : btn.dataset.key);
    if (shift === 1) { shift = 0; draw(); }
  } else if (act === "back") backspace();
  else if (act === "space") insert(" ");
  else if (act === "enter") enter();
  else if (act === "close") hide(true);
  else if (act === "shift") { shift = (shift + 1) % 3; draw(); }
  else if (act === "layer") { layer = btn.dataset.layer; draw(); }
  reveal();
}

// A key must not take the focus from the field (the caret stays where it is).
kb.addEventListener("pointerdown", (e) => e.preventDefault());
kb.addEventListener("mousedown", (e) => e.preventDefault());
kb.addEventListener("click", (e) => {
  const btn = e.target.closest("button");
  if (btn) press(btn);
});

addEventListener("pointerdown", (e) => {
  pointerDown = true;
  if (e.pointerType === "touch") lastTouchAt = performance.now();
  // Claim the field before it gets focus, so a tablet's own keyboard does not open too.
  if (typed(e.target) && MODE !== "off" && (MODE === "always" || e.pointerType === "touch")) claim(e.target);
}, true);
const released = () => { pointerDown = false; if (hidePending) setTimeout(settle, HIDE_DELAY_MS); };
addEventListener("pointerup", released, true);
addEventListener("pointercancel", released, true);

document.addEventListener("focusin", (e) => {
  if (kb.contains(e.target)) return;
  if (wanted(e.target)) show(e.target);
  else if (target) hideSoon();
});
document.addEventListener("focusout", (e) => { if (e.target === target) hideSoon(); });
// A tap on the focused field after the keyboard was closed opens it again.
document.addEventListener("click", (e) => {
  if (kb.hidden && e.target === document.activeElement && wanted(e.target)) show(e.target);
});
addEventListener("resize", reveal);

document.body.append(kb);
window.__kioskKeyboard = { mode: MODE }; // tests look at it
