"""End-to-end: the kiosk page in headless Chromium against the real app on the
simulator. Each test drives the page as a coach would (taps, not API calls) and checks
what it shows against the server's stored results and the simulator's ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.kiosk.conftest import Kiosk, shot

TOUCH_PX = 48


def wait_until(fn: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def small_targets(page: Any) -> list[str]:
    """Visible buttons, inputs and selects smaller than the 48 px touch target."""
    return page.evaluate(
        """(min) => [...document.querySelectorAll('button, input, select')]
             .filter(e => e.offsetParent !== null)
             .map(e => [e, e.getBoundingClientRect()])
             .filter(([e, r]) => r.width > 0 && (r.height < min - 0.5 || r.width < min - 0.5))
             .map(([e, r]) => `${e.tagName}#${e.id}.${e.className} '${e.textContent.trim()}' ${r.width}x${r.height}`)""",
        TOUCH_PX,
    )


def fits_width(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_squat_from_new_athlete_to_results_history_and_language(page: Any, kiosk: Kiosk) -> None:
    store = kiosk.station.store
    # Add an athlete through the form.
    page.click("#add-athlete")
    page.fill("input[name=name]", "Ada Runner")
    page.fill("input[name=body_mass_kg]", "61,5")  # a Dutch decimal comma is accepted
    page.fill("input[name=birth_year]", "1998")
    page.click("#athlete-form button[type=submit]")
    page.wait_for_selector("#start-test")
    athletes, total = store.list_athletes(q="Ada Runner")
    assert total == 1 and athletes[0]["body_mass_kg"] == pytest.approx(61.5)
    assert page.inner_text("#athlete-chip") == "Ada Runner"

    # A wrong value is refused with the server's reason, not a crash.
    page.click("#athlete-chip")
    page.click("#add-athlete")
    page.fill("input[name=name]", "Too Heavy")
    page.fill("input[name=body_mass_kg]", "900")
    page.click("#athlete-form button[type=submit]")
    page.wait_for_selector("#form-error:not(:empty)")
    assert "body_mass_kg" in page.inner_text("#form-error")
    assert store.list_athletes(q="Too Heavy")[1] == 0
    page.click("#recent-athletes button")  # the recent athlete is one tap away
    page.wait_for_selector("#start-test")

    # Single-leg squat on the left leg, 2 repetitions.
    page.click("[data-protocol=single_leg_squat]")
    assert "squat" in page.inner_text("#instructions").lower()
    page.click("[data-leg=left]")
    page.fill("#opt-reps", "2")
    shot(page, "1280x800-test-setup")
    assert not small_targets(page), small_targets(page)
    page.click("#start-test")
    page.wait_for_selector("#live-canvas")

    # Live: frames are drawn from the stream; once the athlete stands on the left leg
    # the left contact is on and the right one off, and the left bar shows ~body weight.
    def on_left_leg() -> bool:
        return bool(page.evaluate(
            "document.querySelector('#contact-left').classList.contains('on') && "
            "!document.querySelector('#contact-right').classList.contains('on')"))

    wait_until(on_left_leg, 30, "the athlete to stand on the left leg")
    live = page.evaluate("window.__kioskLive")
    assert live["samples"] > 50 and live["drawnFrames"] > 10
    assert page.is_visible("#btn-stop") and page.is_visible("#btn-abort")
    shot(page, "1280x800-live")

    # Results: the page goes there by itself when the trial is saved.
    page.wait_for_selector("[data-view=results][data-ready='1']", timeout=60_000)
    trial_id = page.evaluate("window.__kioskResult.trialId")
    trial = store.get_trial(trial_id)
    assert trial["status"] == "saved" and trial["protocol"] == "single_leg_squat" and trial["leg"] == "left"
    reps = trial["metrics"]["squat"]["reps"]
    assert len(reps) >= 1
    assert page.locator("#rep-table tbody tr").count() == len(reps)
    assert page.inner_text("[data-metric='squat.reps'] .v") == str(len(reps))
    assert page.locator("#force-plot .uplot canvas").count() >= 1
    # The stabilogram's CoP is on the left plate (lab x < 0) as the athlete stood on the
    # left leg; its 95 % ellipse is the server's sway area (the page computes none).
    ell = page.evaluate("window.__kioskResult.ellipse")
    assert -290 < ell["centre_mm"][0] < -10, ell
    server_area = trial["metrics"]["sway"]["ellipse95_area_mm2"]
    assert ell["area_mm2"] == pytest.approx(server_area, rel=1e-9)
    assert not page.is_visible("#btn-stop")  # nothing is recording now
    # The trial's video plays in Chromium (H.264 from the simulated camera), as long as
    # the force data, with the CoP marker beside it.
    assert trial["video"] is not None
    page.wait_for_function("document.querySelector('#trial-video').readyState >= 1", timeout=15_000)
    duration = page.evaluate("document.querySelector('#trial-video').duration")
    assert duration == pytest.approx(trial["metrics"]["duration_s"], abs=1.0)
    page.evaluate("document.querySelector('#trial-video').currentTime = 3")
    page.locator("#trial-video").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    # The CoP marker is drawn at trial time = video time + the first frame's offset
    # from the first force sample (frame-timestamp sidecar vs stored samples).
    from hardware.video_file import read_timestamps

    first_frame_ns = int(read_timestamps(trial["video"]["timestamps_path"])[0])
    first_sample_ns = int(store.load_samples(trial["id"])[0][0])
    offset = (first_frame_ns - first_sample_ns) / 1e9
    page.wait_for_function("window.__kioskVideoSync && Math.abs(window.__kioskVideoSync.trialTime - 3"
                           f" - {offset!r}) < 1e-6", timeout=10_000)
    assert page.evaluate("window.__kioskVideoSync.offset") == pytest.approx(offset, abs=1e-9)
    shot(page, "1280x800-results-video")
    # The CSV download holds every stored sample of the trial.
    with page.expect_download() as dl:
        page.click("#download-csv")
    csv_lines = Path(dl.value.path()).read_text().splitlines()
    assert csv_lines[0].startswith("#") or csv_lines[0].startswith("t_s")
    assert sum(1 for line in csv_lines if line and line[0].isdigit()) == trial["n_samples"]
    page.evaluate("document.querySelector('#view').scrollTop = 0")
    shot(page, "1280x800-results")
    page.set_viewport_size({"width": 800, "height": 480})
    page.wait_for_timeout(300)
    assert fits_width(page)
    shot(page, "800x480-results")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Language switch: the same page in Dutch.
    page.click("#lang-switch")
    # The English results view is ready too: wait for the Dutch texts, which come
    # with the page drawn again (same task), and then for that page to be ready.
    page.wait_for_function("document.documentElement.lang === 'nl'")
    page.wait_for_selector("[data-view=results][data-ready='1']")
    assert "Squat op één been" in page.inner_text("#results-title")
    assert page.inner_text("[data-nav=history]") == "Historie"

    # History: the trend of the chosen metric and the trial list.
    page.click("[data-nav=history]")
    page.wait_for_selector("[data-view=history][data-ready='1']")
    page.select_option("#history-protocol", "single_leg_squat")
    page.select_option("#history-metric", "squat.stability_score")
    page.wait_for_selector("#trend-plot .uplot")
    assert page.locator(f"#trial-list [data-trial-id='{trial_id}']").count() == 1
    shot(page, "1280x800-history")
    page.set_viewport_size({"width": 800, "height": 480})
    page.wait_for_timeout(300)
    assert fits_width(page)
    shot(page, "800x480-history")


def test_live_view_at_800x480_fits_and_follows_the_plates(page: Any, kiosk: Kiosk) -> None:
    page.set_viewport_size({"width": 800, "height": 480})
    page.wait_for_selector("[data-view=athletes][data-ready='1']")
    assert fits_width(page)
    assert not small_targets(page), small_targets(page)
    shot(page, "800x480-athletes")
    page.click("#athlete-list [data-athlete-id] button.name")  # choose: the test page opens
    page.wait_for_selector("#start-test")
    page.click("[data-protocol=single_leg_stance]")
    page.click("[data-leg=right]")
    assert fits_width(page)
    shot(page, "800x480-test-setup")
    page.click("[data-nav=live]")
    page.wait_for_selector("[data-view=live][data-ready='1']")
    # Empty plates, then a 30 kg mass on the right plate: the right contact comes on,
    # the left stays off.
    kiosk.sim.set_scenario("empty")
    kiosk.sim.place_mass(30.0, (150.0, 50.0))
    try:
        wait_until(lambda: page.evaluate(
            "document.querySelector('#contact-right').classList.contains('on') && "
            "!document.querySelector('#contact-left').classList.contains('on')"), 10, "right contact on, left off")
        # The right bar shows the mass's weight (30 kg = 294 N) as % of the chosen
        # athlete's body weight.
        body_mass = page.evaluate("JSON.parse(localStorage.getItem('stance.athlete')).body_mass_kg")
        text = page.inner_text("#bar-right .pct")
        assert "%" in text
        assert float(text.split()[0]) == pytest.approx(100 * 30 / body_mass, rel=0.1)
        assert fits_width(page)
        assert not small_targets(page), small_targets(page)
        canvas = page.locator("#live-canvas").bounding_box()
        assert canvas and canvas["height"] > 200 and canvas["y"] + canvas["height"] <= 480
        shot(page, "800x480-live")
    finally:
        kiosk.sim.clear_masses()


def test_calibration_wizard_runs_to_activation(page: Any, kiosk: Kiosk) -> None:
    page.click("[data-nav=admin]")
    page.wait_for_selector("#cal-start")
    page.fill("#cal-mass", "20")
    page.click("#cal-start")
    page.wait_for_selector("#wizard-state[data-state=tare]")

    def click_until(button: str, state: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while page.locator(f"#wizard-state[data-state={state}]").count() == 0:
            assert time.monotonic() < deadline, f"still not {state}: {page.inner_text('#calibration-wizard')}"
            if page.locator(button).count():
                page.locator(button).click()
            page.wait_for_timeout(700)

    click_until("#cal-tare", "capture", 20)  # the simulated operator clears the plates first
    page.wait_for_selector("#cal-live")
    shot(page, "1280x800-calibration")
    page.wait_for_selector("#cal-fit", timeout=120_000)  # the simulated operator places each mass
    page.click("#cal-fit")
    page.wait_for_selector("#wizard-state[data-state=fitted]")
    click_until("#cal-verify", "verifying", 20)
    page.wait_for_selector("#wizard-state[data-state=verified]", timeout=90_000)
    assert page.locator("#verification .pass").count() == 1
    page.click("#cal-activate")
    page.wait_for_selector("#wizard-done")
    cal = kiosk.station.acquisition.calibration
    assert cal.id is not None and f"#{cal.id}" in page.inner_text("#wizard-done")
    # The activated gains match the simulator's hidden cells (ground truth) within 1 %.
    hidden = 1.0 / np.asarray(kiosk.sim.cells.gains_counts_per_n)
    assert np.abs(np.asarray(cal.gains_n_per_count) / hidden - 1).max() < 0.01
    page.wait_for_selector("#active-calibration")


def test_sensor_fault_shows_a_banner_that_says_what_to_do(page: Any, kiosk: Kiosk) -> None:
    kiosk.sim.inject_fault("left_fr", "dead")
    try:
        banner = page.wait_for_selector("[data-banner=sensor]", timeout=15_000)
        text = banner.inner_text()
        assert "Left front-right" in text and "cable" in text
        page.click("[data-nav=admin]")
        page.wait_for_selector("[data-channel=left_fr][data-state=dead]", timeout=10_000)
        assert page.locator("[data-channel=right_fr][data-state=ok]").count() == 1
        shot(page, "1280x800-sensor-fault")
        page.set_viewport_size({"width": 800, "height": 480})
        page.wait_for_timeout(300)
        shot(page, "800x480-sensor-fault")
    finally:
        kiosk.sim.clear_faults()
    page.wait_for_selector("[data-banner=sensor]", state="detached", timeout=15_000)


def test_stepping_off_during_a_recording_shows_a_banner_and_abort_works(page: Any, kiosk: Kiosk) -> None:
    store = kiosk.station.store
    athlete = store.create_athlete(name="Cas Stepper", body_mass_kg=80.0)
    page.evaluate("a => localStorage.setItem('stance.athlete', JSON.stringify(a))", athlete)
    page.click("[data-nav=test]")
    page.click("[data-protocol=bilateral_stance]")
    assert page.locator("[data-leg]").count() == 0  # both legs: no leg to choose
    page.fill("#opt-duration", "60")
    page.click("#start-test")
    page.wait_for_selector("#control-bar:not([hidden])")
    recorder = kiosk.station.recorder
    wait_until(lambda: recorder.status()["state"] == "recording", 30, "the recording to start")
    kiosk.sim.set_scenario("empty")  # the athlete steps off
    banner = page.wait_for_selector("[data-banner=stepped_off]", timeout=10_000)
    assert "Stop" in banner.inner_text() and "Abort" in banner.inner_text()
    page.click("#btn-abort")
    wait_until(lambda: recorder.status()["state"] == "aborted", 10, "the recording to be aborted")
    page.wait_for_selector("#control-bar", state="hidden", timeout=5_000)
    trial = store.get_trial(recorder.status()["trial_id"])
    assert trial["status"] == "aborted" and trial["athlete_id"] == athlete["id"]


def test_a_loaded_plate_at_the_start_shows_the_tare_banner(page: Any, kiosk: Kiosk) -> None:
    store = kiosk.station.store
    recorder = kiosk.station.recorder
    athlete = store.create_athlete(name="Dirk Early", body_mass_kg=75.0)
    page.evaluate("a => localStorage.setItem('stance.athlete', JSON.stringify(a))", athlete)
    kiosk.sim.place_mass(25.0, (-150.0, 0.0))  # a bag left on the left plate
    try:
        page.click("[data-nav=test]")
        page.click("[data-protocol=bilateral_stance]")
        page.click("#start-test")
        banner = page.wait_for_selector("[data-banner=tare]", timeout=30_000)
        assert "not empty" in banner.inner_text() and "Step off" in banner.inner_text()
        assert any("not zeroed" in w for w in recorder.status()["warnings"])
        page.click("#btn-abort")
        wait_until(lambda: recorder.status()["state"] == "aborted", 10, "the recording to be aborted")
    finally:
        kiosk.sim.clear_masses()


def test_history_shows_left_right_symmetry_per_day(page: Any, kiosk: Kiosk) -> None:
    store = kiosk.station.store
    athlete = store.create_athlete(name="Eva Balance", body_mass_kg=58.0)
    # Saved trials of both legs today (stored directly: the browser part is under test).
    for leg, score in (("left", 30.0), ("left", 40.0), ("right", 20.0)):
        tr = store.create_trial(athlete_id=athlete["id"], protocol="single_leg_squat", leg=leg,
                                options={"reps": 2}, sample_rate_hz=80.0)
        store.finish_trial(tr["id"], status="saved", metrics={"squat": {"stability_score": score, "reps": []}})
    page.evaluate("a => localStorage.setItem('stance.athlete', JSON.stringify(a))", athlete)
    page.click("[data-nav=history]")
    page.wait_for_selector("[data-view=history][data-ready='1']")
    page.select_option("#history-protocol", "single_leg_squat")
    page.select_option("#history-metric", "squat.stability_score")
    page.wait_for_selector("#symmetry-plot .uplot")
    hist = page.evaluate("window.__kioskHistory")
    assert hist["points"] == 3
    # Left mean 35, right 20: LSI = 100 * 15 / 27.5, the formula the API states.
    assert hist["lsi"] == [pytest.approx(100 * 15 / 27.5)]
    api_lsi = page.evaluate(
        "id => fetch(`/api/v1/athletes/${id}/symmetry?protocol=single_leg_squat&metric=squat.stability_score"
        "&last=3`).then(r => r.json()).then(j => j.symmetry_index_pct)", athlete["id"])
    assert hist["lsi"][0] == pytest.approx(api_lsi)  # the API's figure for the same trials agrees
    assert page.locator("#trial-list [data-trial-id]").count() == 3


def test_two_screens_stay_in_step(page: Any, browser: Any, kiosk: Kiosk) -> None:
    """A recording started on one screen shows on the other (state from the server), and
    an abort on the second ends it on the first."""
    store = kiosk.station.store
    recorder = kiosk.station.recorder
    athlete = store.create_athlete(name="Fay Twin", body_mass_kg=66.0)
    other_ctx = browser.new_context(viewport={"width": 800, "height": 480})
    other_ctx.add_init_script("localStorage.setItem('stance.lang', 'en')")
    other = other_ctx.new_page()
    try:
        other.goto(kiosk.url + "/#athletes")
        other.wait_for_selector("body[data-ready='1']")
        page.evaluate("a => localStorage.setItem('stance.athlete', JSON.stringify(a))", athlete)
        page.click("[data-nav=test]")
        page.click("[data-protocol=bilateral_stance]")
        page.fill("#opt-duration", "60")
        page.click("#start-test")
        # The other screen follows to the live view with the controls by itself.
        other.wait_for_selector("[data-view=live][data-ready='1']", timeout=15_000)
        other.wait_for_selector("#control-bar:not([hidden])")
        wait_until(lambda: recorder.status()["state"] == "recording", 30, "the recording to start")
        other.click("#btn-abort")
        page.wait_for_selector("#control-bar", state="hidden", timeout=5_000)
        assert recorder.status()["state"] == "aborted"
        page.wait_for_function("document.querySelector('#live-state').textContent === 'Aborted'", timeout=5_000)
    finally:
        other_ctx.close()
