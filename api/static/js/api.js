// HTTP and WebSocket access to the station API. A tablet stores its token in
// localStorage (settings page) and sends it as "Authorization: Bearer"; the kiosk
// on the station itself (loopback) needs none.

const TOKEN_KEY = "stance.token";

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value.trim());
  else localStorage.removeItem(TOKEN_KEY);
}

/** An API failure with the server's plain-language reason and hint. */
export class ApiError extends Error {
  constructor(status, detail, hint) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.hint = hint || "";
  }
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

/** fetch JSON from the API; throws ApiError (status 0 when the station cannot be reached). */
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const url = path.startsWith("/") ? path : `/api/v1/${path}`;
  const init = { method, headers: headers(body !== undefined ? { "Content-Type": "application/json" } : {}) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, "unreachable", "");
  }
  if (raw) {
    if (!res.ok) throw await toError(res);
    return res;
  }
  if (res.status === 204) return null;
  if (!res.ok && !(path === "/healthz" && res.status === 503)) throw await toError(res);
  return res.json();
}

async function toError(res) {
  let detail = res.statusText, hint = "";
  try {
    const j = await res.json();
    detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail);
    hint = j.hint || "";
  } catch (e) { /* not JSON */ }
  return new ApiError(res.status, detail, hint);
}

/** The live WebSocket URL (token in the query: browsers cannot set WebSocket headers). */
export function liveUrl(maxHz = 50) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const token = getToken();
  const q = new URLSearchParams({ max_hz: String(maxHz) });
  if (token) q.set("token", token);
  return `${proto}//${location.host}/api/v1/live?${q}`;
}
