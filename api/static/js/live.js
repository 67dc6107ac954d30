// The live stream (WebSocket /api/v1/live) and the live view drawn on a canvas.
// Samples go into fixed-size ring buffers (no allocation per sample, so memory stays
// flat over hours); a requestAnimationFrame loop draws the latest state. Counters for
// the benchmark are on window.__kioskLive.
import { liveUrl } from "./api.js";
import { plateRect } from "./util.js";
import { t } from "./i18n.js";

/** CoP trail length per plate and combined: 4 s at 80 Hz. */
export const TRAIL = 320;

/** Which plates carry a foot in a live sample. The server sends a CoP only where the
 * plate (or both, for the combined CoP) is loaded (station.core.physics), so a CoP
 * present is a contact: the kiosk keeps no threshold of its own. */
export function contacts(sample) {
  if (!sample) return { left: false, right: false, any: false };
  return { left: sample.cop_left_mm != null, right: sample.cop_right_mm != null, any: sample.cop_mm != null };
}

export const counters = (window.__kioskLive = {
  messages: 0, samples: 0, dropped: 0, rafFrames: 0, drawnFrames: 0, updates: 0, connected: false,
});

class Trail {
  constructor(n) { this.x = new Float32Array(n); this.y = new Float32Array(n); this.n = n; this.head = 0; this.count = 0; }
  push(p) {
    this.x[this.head] = p ? p[0] : NaN;
    this.y[this.head] = p ? p[1] : NaN;
    this.head = (this.head + 1) % this.n;
    if (this.count < this.n) this.count++;
  }
  clear() { this.count = 0; this.head = 0; }
  /** Visit points oldest first: fn(x, y, age 0..1). */
  each(fn) {
    const start = (this.head - this.count + this.n) % this.n;
    for (let i = 0; i < this.count; i++) {
      const k = (start + i) % this.n;
      fn(this.x[k], this.y[k], 1 - i / this.count);
    }
  }
}

/** The server's close code for a connection without a valid token. */
export const REFUSED = 1008;

/** One reconnecting WebSocket shared by every view. */
export class LiveStream {
  constructor() {
    this.left = new Trail(TRAIL);
    this.right = new Trail(TRAIL);
    this.both = new Trail(TRAIL);
    this.latest = null;          // last sample
    this.recording = null;       // last recording state from the server
    this.rateHz = 80;
    this.geometry = null;        // plate geometry in use, from the server's hello message
    this.version = 0;            // bumps on every new sample (the renderer redraws then)
    this.listeners = new Set();  // fn(message) for every samples message
    this.ws = null;
    this.retryMs = 500;
  }

  connect() {
    if (this.ws) return;
    const ws = new WebSocket(liveUrl(50));
    this.ws = ws;
    ws.onopen = () => { counters.connected = true; this.closeCode = null; this.connectedAt = performance.now(); };
    ws.onmessage = (ev) => this.onMessage(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      if (this.ws !== ws) return; // a socket replaced by reconnect(): its end is old news
      counters.connected = false;
      this.closeCode = ev.code;
      this.ws = null;
      this.latest = null;
      for (const fn of this.listeners) fn({ type: "closed" });
      clearTimeout(this.retryTimer);
      // 1008: refused (no token, or a wrong one). The same token would be refused
      // again; saving a token in the settings calls reconnect().
      if (ev.code === REFUSED) return;
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    };
  }

  /** Reconnect now (e.g. with a new token), without waiting for the back-off. */
  reconnect() {
    const old = this.ws;
    this.ws = null;
    clearTimeout(this.retryTimer);
    this.retryMs = 500;
    if (old) old.close();
    this.connect();
  }

  onMessage(msg) {
    if (msg.type === "hello") {
      this.retryMs = 500; // accepted (a refused socket opens too, then closes at once)
      this.rateHz = msg.rate_hz || 80;
      if (msg.geometry && msg.geometry.plates) { this.geometry = msg.geometry; this.version++; }
      return;
    }
    if (msg.type !== "samples") return;
    counters.messages++;
    counters.dropped += msg.dropped || 0;
    for (const s of msg.samples) {
      this.left.push(s.cop_left_mm);
      this.right.push(s.cop_right_mm);
      this.both.push(s.cop_mm);
      this.latest = s;
      counters.samples++;
    }
    this.recording = msg.recording;
    this.version++;
    for (const fn of this.listeners) fn(msg);
  }

  clearTrails() { this.left.clear(); this.right.clear(); this.both.clear(); }
}

/** Draws both plates to scale with the CoP trails on a canvas, every animation frame. */
export class PlateCanvas {
  constructor(canvas, stream, geometry) {
    this.canvas = canvas;
    this.stream = stream;
    this.geometry = geometry;
    this.ctx = canvas.getContext("2d");
    this.seen = -1;
    this.running = false;
    this.onFrame = null; // called with the stream each frame that has new data
    this.tick = this.tick.bind(this);
  }

  start() { this.running = true; requestAnimationFrame(this.tick); }
  stop() { this.running = false; }

  tick() {
    if (!this.running) return;
    counters.rafFrames++;
    const fresh = this.stream.version !== this.seen;
    if (fresh || this.sizeChanged()) {
      if (fresh) counters.updates++;
      this.seen = this.stream.version;
      this.draw();
      counters.drawnFrames++;
      if (this.onFrame) this.onFrame(this.stream);
    }
    requestAnimationFrame(this.tick);
  }

  sizeChanged() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(c.clientWidth * dpr), hgt = Math.round(c.clientHeight * dpr);
    if (c.width !== w || c.height !== hgt) { c.width = w; c.height = hgt; return true; }
    return false;
  }

  draw() {
    const { ctx, canvas } = this;
    // the station's geometry (hello message) wins over the one given at construction
    const geometry = (this.stream && this.stream.geometry) || this.geometry;
    const W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    if (!geometry || !geometry.plates) return; // not sent yet: nothing to draw to scale
    const L = plateRect(geometry, "left"), R = plateRect(geometry, "right");
    const x0 = Math.min(L.x0, R.x0) - 30, x1 = Math.max(L.x1, R.x1) + 30;
    const y0 = Math.min(L.y0, R.y0) - 30, y1 = Math.max(L.y1, R.y1) + 30;
    const s = Math.min(W / (x1 - x0), H / (y1 - y0)); // px per mm, same on both axes (to scale)
    const ox = (W - s * (x1 - x0)) / 2 - s * x0, oy = (H - s * (y1 - y0)) / 2 + s * y1;
    const X = (x) => ox + s * x, Y = (y) => oy - s * y; // y forward = up on screen
    const on = contacts(this.stream.latest);
    for (const [plate, r, colour] of [["left", L, "#ffb02e"], ["right", R, "#3fd0c9"]]) {
      ctx.fillStyle = on[plate] ? "#1d2a3a" : "#151c26";
      ctx.strokeStyle = colour;
      ctx.lineWidth = Math.max(2, s * 4);
      ctx.fillRect(X(r.x0), Y(r.y1), s * (r.x1 - r.x0), s * (r.y1 - r.y0));
      ctx.strokeRect(X(r.x0), Y(r.y1), s * (r.x1 - r.x0), s * (r.y1 - r.y0));
      // cells
      const g = geometry.plates[plate];
      ctx.fillStyle = "#3a4658";
      for (const c of Object.values(g.cells_mm)) {
        ctx.beginPath();
        ctx.arc(X(g.center_mm[0] + c[0]), Y(g.center_mm[1] + c[1]), Math.max(3, s * 12), 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    // a 10 cm scale bar
    ctx.strokeStyle = "#a8b3c2"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(X(x0 + 20), Y(y0 + 12)); ctx.lineTo(X(x0 + 120), Y(y0 + 12)); ctx.stroke();
    ctx.fillStyle = "#a8b3c2"; ctx.font = `${Math.max(11, s * 16)}px sans-serif`;
    ctx.fillText(t("live.scale_10cm"), X(x0 + 20), Y(y0 + 18));
    this.trail(this.stream.left, "255,176,46", X, Y);
    this.trail(this.stream.right, "63,208,201", X, Y);
    this.trail(this.stream.both, "255,255,255", X, Y, true);
  }

  trail(tr, rgb, X, Y, bold = false) {
    const ctx = this.ctx;
    ctx.lineWidth = bold ? 3 : 2;
    ctx.strokeStyle = `rgba(${rgb},0.8)`;
    ctx.beginPath();
    let pen = false, lx = NaN, ly = NaN;
    tr.each((x, y) => {
      if (Number.isNaN(x)) { pen = false; return; }
      if (pen) ctx.lineTo(X(x), Y(y)); else ctx.moveTo(X(x), Y(y));
      pen = true; lx = x; ly = y;
    });
    ctx.stroke();
    if (!Number.isNaN(lx) && tr.count) {
      const last = (tr.head - 1 + tr.n) % tr.n;
      if (!Number.isNaN(tr.x[last])) {
        ctx.fillStyle = `rgb(${rgb})`;
        ctx.beginPath(); ctx.arc(X(lx), Y(ly), bold ? 9 : 7, 0, 2 * Math.PI); ctx.fill();
      }
    }
  }
}
