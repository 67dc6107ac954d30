// Athletes: search, add, edit; the last few one tap away.
import { api } from "../api.js";
import { t, num } from "../i18n.js";
import { h, fill, add, chooseAthlete, currentAthlete, recentAthletes, forgetRecent } from "../util.js";

export function render(root, ctx) {
  const list = h("div", { class: "list", id: "athlete-list" });
  const search = h("input", { type: "search", id: "athlete-search", "data-i18n-placeholder": "athletes.search", placeholder: t("athletes.search"), autocomplete: "off" });
  const recent = h("div", { class: "recent", id: "recent-athletes" });
  let timer = null;

  const pick = (a) => { chooseAthlete(a); ctx.refreshChrome(); ctx.go("test"); };

  for (const r of recentAthletes()) {
    add(recent, h("button", { onclick: () => api(`athletes/${r.id}`).then(pick).catch((e) => { forgetRecent(r.id); ctx.error(e); }) }, r.name));
  }

  async function load() {
    const q = search.value.trim();
    const res = await api(`athletes?limit=50${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    fill(list, ...(res.items.length ? res.items.map((a) => h("div", { class: "item", "data-athlete-id": a.id },
      h("button", { class: "name", onclick: () => pick(a) }, a.name,
        h("span", { class: "muted" }, a.body_mass_kg ? `  ${num(a.body_mass_kg, 1)} kg` : "")),
      h("button", { i18n: "athletes.edit", onclick: () => form(a) }),
      h("button", { class: "primary", i18n: "athletes.choose", onclick: () => pick(a) }),
    )) : [h("p", { class: "muted", i18n: q ? "athletes.none_found" : "athletes.none_yet" })]));
  }

  function form(a) {
    const f = (name, type, attrs = {}) => h("input", Object.assign({ name, type, value: a && a[name] != null ? a[name] : "" }, attrs));
    const legSel = h("select", { name: "dominant_leg" },
      h("option", { value: "", i18n: "athletes.leg_unknown" }),
      h("option", { value: "left", i18n: "leg.left", selected: a && a.dominant_leg === "left" }),
      h("option", { value: "right", i18n: "leg.right", selected: a && a.dominant_leg === "right" }));
    const notes = h("textarea", { name: "notes" }, a && a.notes ? a.notes : "");
    const err = h("p", { class: "fail", id: "form-error" });
    const el = h("form", { class: "card", id: "athlete-form", onsubmit: async (ev) => {
      ev.preventDefault();
      const fd = new FormData(el);
      const body = {};
      for (const [k, v] of fd.entries()) {
        const s = String(v).trim();
        if (k === "name") body.name = s;
        else if (k === "birth_year" || k === "body_mass_kg") body[k] = s === "" ? null : Number(s.replace(",", "."));
        else body[k] = s === "" ? null : s;
      }
      try {
        const saved = a ? await api(`athletes/${a.id}`, { method: "PATCH", body }) : await api("athletes", { method: "POST", body });
        if (currentAthlete() && currentAthlete().id === saved.id) chooseAthlete(saved);
        ctx.toast(t("athletes.saved", { name: saved.name }));
        if (a) { el.remove(); load(); } else pick(saved);
      } catch (e) { err.textContent = e.detail + (e.hint ? ` — ${e.hint}` : ""); }
    } },
      h("h1", { i18n: a ? "athletes.edit_title" : "athletes.add_title" }),
      h("div", { class: "grid2" },
        h("div", {}, h("label", { i18n: "athletes.name" }), f("name", "text", { required: true, maxlength: 100 })),
        h("div", {}, h("label", { i18n: "athletes.body_mass" }), f("body_mass_kg", "text", { inputmode: "decimal" })),
        h("div", {}, h("label", { i18n: "athletes.birth_year" }), f("birth_year", "number", { inputmode: "numeric", min: 1900, max: 2100 })),
        h("div", {}, h("label", { i18n: "athletes.dominant_leg" }), legSel)),
      h("label", { i18n: "athletes.notes" }), notes, err,
      h("div", { class: "row" },
        h("button", { type: "submit", class: "primary", i18n: "common.save" }),
        h("button", { type: "button", i18n: "common.cancel", onclick: () => el.remove() })));
    root.querySelector("#athlete-form")?.remove();
    root.prepend(el);
    el.querySelector("input[name=name]").focus();
  }

  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load().catch(ctx.error), 200); });
  add(root, 
    h("div", { class: "row" },
      h("h1", { class: "grow", i18n: "athletes.title" }),
      h("button", { class: "primary", id: "add-athlete", i18n: "athletes.add", onclick: () => form(null) })),
    recentAthletes().length ? h("div", {}, h("h2", { i18n: "athletes.recent" }), recent) : null,
    search, list);
  load().catch(ctx.error);
}
