// What /healthz says is wrong, as banners: each of the server's `problems` (code, message,
// hint, channels) becomes one banner on every view, in the kiosk's language, with what
// to check. The server's own words (message and hint, in English: what a technician reads
// in the log too) follow as a detail line, so the banner names the very GPIO or library.
import { t } from "./i18n.js";

/** The keys of every banner made here (the others are cleared when a problem is gone). */
export const HEALTH_BANNERS = [
  "health:load_cells_down", "sensor", "health:camera_unavailable", "health:clock_unsynchronised",
];

/** The banners for one /healthz answer: [{key, kind, what, todo, detail}]. */
export function healthBanners(hz) {
  const out = [];
  for (const p of hz.problems || []) {
    const channels = (p.channels || []).map((c) => t(`channel.${c}`)).join(", ");
    const detail = [p.message, p.hint].filter(Boolean).join(" — ");
    const kind = p.severity === "warn" ? "warn" : "error";
    let what;
    let todo;
    let key = `health:${p.code}`;
    if (p.code === "load_cells_down") {
      const all = (hz.hardware && hz.hardware.channels || []).length;
      const which = p.channels && p.channels.length && p.channels.length === all ? t("health.channels_all")
        : channels ? t("health.channels", { channels }) : "";
      what = `${t("health.load_cells_down")} ${which}`.trim();
      todo = t("health.load_cells_down_todo");
    } else if (p.code === "load_cells_dead") {
      key = "sensor"; // the name the kiosk has always given this banner
      what = t("banner.sensor_disconnected", { channels });
      todo = t("banner.sensor_disconnected_todo");
    } else if (p.code === "camera_unavailable") {
      what = t("health.camera_unavailable");
      todo = t("health.camera_unavailable_todo");
    } else if (p.code === "clock_unsynchronised") {
      what = t("health.clock_unsynchronised");
      todo = t("health.clock_unsynchronised_todo");
    } else {
      continue; // database and disk have their own banners (app.js)
    }
    out.push({ key, kind, what, todo, detail });
  }
  return out;
}
