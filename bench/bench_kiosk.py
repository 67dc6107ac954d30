"""Kiosk live view in headless Chromium: CoP updates drawn per second and JS heap over
a long run (default 5 minutes; ``STATION_BENCH_KIOSK_S`` shortens it for a quick look).

The real app runs on the paced simulator at 80 Hz with an athlete stepping in place
(looping), so the CoP moves all the time; the page's live view counts its
requestAnimationFrame frames and those that drew new CoP data (``window.__kioskLive``);
the heap is read through the Chrome DevTools Protocol after a forced garbage
collection, once a minute.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Report

SECTION = "kiosk"
RUN_S = float(os.environ.get("STATION_BENCH_KIOSK_S", "300"))
SAMPLE_EVERY_S = 10.0
MIN_FPS = 30.0
#: Heap growth allowed between the first and the last minute (after GC): noise, not a leak.
MAX_HEAP_GROWTH_MB = 2.0


def _heap_mb(cdp: Any) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics["JSHeapUsedSize"]) / 1e6


def run(report: Report) -> None:
    from playwright.sync_api import sync_playwright

    from api.app import create_app
    from station.core.config import Settings
    from station.runtime import Station
    from station.testing.browser import launch_chromium
    from station.testing.servers import serve_in_thread

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", hardware="sim", camera="none", sim_seed=5)
        station = Station(settings, camera=False)
        station.start()
        try:
            assert station.source is not None
            station.source.set_scenario("stepping", loop=True)  # type: ignore[attr-defined]
            app = create_app(settings, station=station)
            with serve_in_thread(app) as url, sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 800, "height": 480})
                page.goto(url + "/#live")
                page.wait_for_selector("[data-view=live][data-ready='1']")
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.wait_for_function("window.__kioskLive.samples > 100", timeout=15_000)
                heaps: list[tuple[float, float]] = []
                t0 = time.monotonic()
                c0 = page.evaluate("({...window.__kioskLive})")
                heaps.append((0.0, _heap_mb(cdp)))
                worst_fps = float("inf")
                last_t, last_c = t0, c0
                next_heap = 60.0
                print(f"  kiosk: live view for {RUN_S:g} s ...", flush=True)
                while (elapsed := time.monotonic() - t0) < RUN_S:
                    time.sleep(min(SAMPLE_EVERY_S, RUN_S - elapsed))
                    now = time.monotonic()
                    c = page.evaluate("({...window.__kioskLive})")
                    fps = (c["updates"] - last_c["updates"]) / (now - last_t)
                    worst_fps = min(worst_fps, fps)
                    last_t, last_c = now, c
                    if now - t0 >= next_heap or now - t0 >= RUN_S:
                        heaps.append((now - t0, _heap_mb(cdp)))
                        next_heap += 60.0
                    print(f"  kiosk: {now - t0:5.0f} s  {fps:5.1f} CoP updates/s  heap {heaps[-1][1]:.2f} MB",
                          flush=True)
                total_s = last_t - t0
                updates_fps = (last_c["updates"] - c0["updates"]) / total_s
                raf_fps = (last_c["rafFrames"] - c0["rafFrames"]) / total_s
                samples_hz = (last_c["samples"] - c0["samples"]) / total_s
                dropped = last_c["dropped"] - c0["dropped"]
                growth = heaps[-1][1] - heaps[0][1] if len(heaps) > 1 else 0.0
                peak = max(h for _, h in heaps)
                browser.close()
        finally:
            station.stop()

    report.add(SECTION, "CoP updates drawn per second (mean)", round(updates_fps, 1), "fps",
               target=f">= {MIN_FPS:g}", ok=updates_fps >= MIN_FPS)
    report.add(SECTION, f"CoP updates per second (worst {SAMPLE_EVERY_S:g} s window)", round(worst_fps, 1), "fps",
               target=f">= {MIN_FPS:g}", ok=worst_fps >= MIN_FPS)
    report.add(SECTION, "animation frames per second", round(raf_fps, 1), "fps")
    report.add(SECTION, "samples received per second (source 80 Hz)", round(samples_hz, 1), "Hz",
               target=">= 79", ok=samples_hz >= 79)
    report.add(SECTION, "samples dropped by the server for this client", dropped, "samples", target="0", ok=dropped == 0)
    report.add(SECTION, f"JS heap growth over {total_s / 60:.1f} min (after GC)", round(growth, 2), "MB",
               target=f"<= {MAX_HEAP_GROWTH_MB:g}", ok=growth <= MAX_HEAP_GROWTH_MB)
    report.add(SECTION, "JS heap peak (after GC)", round(peak, 2), "MB")
