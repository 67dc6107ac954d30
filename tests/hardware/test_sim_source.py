"""SimLoadCellSource: the endless simulated array (scenarios, masses, faults, drift, pacing)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hardware.base import LoadCellFrame, LoadCellSource
from hardware.sim import SimCells, SimLoadCellSource
from station.core.errors import HardwareError, InputError
from station.core.geometry import CHANNELS, PLATES, cop_from_cells

G = 9.81


def read(src: SimLoadCellSource, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frames = [src.read_frame() for _ in range(n)]
    return (
        np.array([f.t_ns for f in frames]),
        np.array([f.counts for f in frames], dtype=float),
        np.array([f.invalid for f in frames]),
    )


def newtons(src: SimLoadCellSource, counts: np.ndarray) -> np.ndarray:
    return src.cells.true_calibration(src.geometry).counts_to_newtons(counts)


def plate(src: SimLoadCellSource, loads: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    return cop_from_cells(loads[:, 4 * p : 4 * p + 4], src.geometry.plates[PLATES[p]].cell_positions_mm())


def quiet_cells(seed: int = 1) -> SimCells:
    """Realistic gains/offsets/noise without drift (drift has its own test)."""
    c = SimCells.random(seed)
    return SimCells(offsets_counts=c.offsets_counts, gains_counts_per_n=c.gains_counts_per_n,
                    noise_sd_counts=c.noise_sd_counts, spike_prob=c.spike_prob)


def test_is_a_load_cell_source_with_monotonic_frames():
    src = SimLoadCellSource(seed=1, paced=False)
    assert isinstance(src, LoadCellSource)
    t_ns, counts, _ = read(src, 400)
    assert counts.shape == (400, 8)
    d = np.diff(t_ns) / 1e9
    assert np.all(d > 0) and abs(d.mean() - 1 / 80) < 1e-4
    f = src.read_frame()
    assert isinstance(f, LoadCellFrame) and all(isinstance(c, int) for c in f.counts)


def test_empty_and_quiet_stance_read_as_physics_says():
    src = SimLoadCellSource(seed=2, paced=False, cells=quiet_cells(), body_mass_kg=64.0)
    _, counts, _ = read(src, 200)
    loads = newtons(src, counts)
    assert np.abs(loads.sum(axis=1)).max() < 3.0  # nobody on the plates: noise only
    src.set_scenario("quiet_stance")
    read(src, 80)  # the athlete steps on (crossfade)
    _, counts, _ = read(src, 800)
    loads = newtons(src, counts)
    total = loads.sum(axis=1)
    assert total.mean() == pytest.approx(64.0 * G, rel=0.01)
    truth = src.truth_now()
    assert truth["fz_n"].sum() == pytest.approx(total[-1], abs=3.0)
    fz_l, cop_l = plate(src, loads[-1:], 0)
    assert np.linalg.norm(cop_l[0] - truth["cop_mm"][0]) < 1.0
    assert 0.3 < fz_l[0] / total[-1] < 0.7  # both feet loaded


def test_scenario_protocol_truth_matches_the_stream():
    src = SimLoadCellSource(seed=3, paced=False, cells=quiet_cells(3))
    src.set_scenario("quiet_stance")
    read(src, 100)
    truth = src.set_scenario("single_leg_squat", leg="right", reps=3, touchdown_prob=0.0)
    assert truth is not None and len(truth.reps) == 3
    start = src.scenario_start_ns
    t_ns, counts, _ = read(src, int(truth.duration_s * 80))
    loads = newtons(src, counts)
    t_rel = (t_ns - start) / 1e9
    at = truth.at(t_rel)
    for p in range(2):
        fz, _ = plate(src, loads, p)
        np.testing.assert_allclose(fz, at["fz_n"][:, p], atol=2.0)
    left, _ = plate(src, loads, 0)
    assert np.all(left[t_rel > truth.lift_off_s + 0.05] < 20.0)
    assert np.all(left[t_rel < truth.lift_off_s - 0.1] > 20.0)
    # after the protocol the athlete stands on both feet again
    read(src, 160)
    _, counts, _ = read(src, 80)
    fz, _ = plate(src, newtons(src, counts), 0)
    assert fz.min() > 100.0


def test_placed_mass_reads_its_weight_at_its_position():
    src = SimLoadCellSource(seed=4, paced=False, cells=quiet_cells(4))
    for pos, p in (((-200.0, 120.0), 0), ((230.0, -150.0), 1), ((-150.0, 0.0), 0)):
        src.clear_masses()
        assert src.place_mass(20.0, pos) == p
        read(src, 200)  # lowered and settled
        _, counts, _ = read(src, 80)
        fz, cop = plate(src, newtons(src, counts), p)
        assert fz.mean() == pytest.approx(20.0 * G, rel=0.003)
        np.testing.assert_allclose(np.nanmean(cop, axis=0), pos, atol=0.5)
    with pytest.raises(InputError, match="neither plate"):
        src.place_mass(10.0, (0.0, 0.0))


def test_jiggle_moves_the_load_then_it_settles():
    src = SimLoadCellSource(seed=5, paced=False, cells=quiet_cells(5))
    src.place_mass(30.0, (-150.0, 50.0))
    read(src, 200)
    src.jiggle(amplitude_mm=15.0)
    _, counts, _ = read(src, 80)
    _, cop = plate(src, newtons(src, counts), 0)
    moved = np.linalg.norm(cop - np.array([-150.0, 50.0]), axis=1).max()
    assert moved > 5.0
    read(src, 400)
    _, counts, _ = read(src, 80)
    _, cop = plate(src, newtons(src, counts), 0)
    assert np.linalg.norm(cop - np.array([-150.0, 50.0]), axis=1).max() < 1.0


def test_dead_channel_is_flagged_held_and_reported():
    src = SimLoadCellSource(seed=6, paced=False)
    src.set_scenario("quiet_stance")
    _, before, _ = read(src, 50)
    src.inject_fault("left_br", "dead")
    _, counts, invalid = read(src, 100)
    assert np.all(invalid & (1 << 3))
    assert np.all(invalid & ~(1 << 3) == 0) or np.count_nonzero(invalid & ~(1 << 3)) < 3
    assert np.all(counts[:, 3] == before[-1, 3])  # last valid value held
    h = {x.name: x for x in src.health()}
    assert h["left_br"].state == "dead" and h["left_br"].disconnected
    assert "left_br" in h["left_br"].last_error
    assert h["left_fl"].state == "ok"
    src.clear_faults()
    _, counts, invalid = read(src, 20)
    assert not np.any(invalid & (1 << 3)) and len(set(counts[:, 3])) > 5
    assert {x.name: x for x in src.health()}["left_br"].state != "dead"


def test_saturated_spikes_and_stuck_faults():
    src = SimLoadCellSource(seed=7, paced=False)
    src.set_scenario("quiet_stance")
    read(src, 20)
    src.inject_fault(0, "saturated", duration_s=1.0)
    src.inject_fault("right_fl", "spikes")
    src.inject_fault("right_br", "stuck")
    _, counts, invalid = read(src, 200)
    sat_bits = (invalid & 1).astype(bool)
    assert sat_bits[:78].all() and not sat_bits[-100:].any()  # ended after one simulated second
    spikes = (invalid >> 4) & 1
    assert 0.1 < spikes.mean() < 0.3
    assert len(set(counts[:, 7])) == 1 and not np.any((invalid >> 7) & 1)  # stuck: flat, unflagged
    h = {x.name: x for x in src.health()}
    assert h["left_fl"].saturated >= 78 and h["right_fl"].spikes_rejected == spikes.sum()
    assert h["right_fl"].state == "noisy"
    with pytest.raises(InputError, match="fault kind"):
        src.inject_fault(1, "melted")
    with pytest.raises(InputError, match="channel"):
        src.inject_fault("left_xx", "dead")


def test_array_gone_raises_then_recovers():
    src = SimLoadCellSource(seed=8, paced=False)
    read(src, 10)
    src.array_gone(2.0)
    errors = 0
    for _ in range(400):
        try:
            src.read_frame()
        except HardwareError as exc:
            errors += 1
            assert "not responding" in str(exc)
        else:
            if errors:
                break
    assert errors == pytest.approx(160, abs=2)
    src.read_frame()


def test_drift_is_slow_and_exposed_as_truth():
    c = SimCells.random(9, drift_counts_per_h=40_000.0, drift_walk_counts_per_sqrt_h=10_000.0)
    src = SimLoadCellSource(seed=9, paced=False, cells=c)

    def window() -> tuple[np.ndarray, np.ndarray]:
        counts, drift = [], []
        for _ in range(200):
            counts.append(src.read_frame().counts)
            drift.append(src.truth_now()["drift_counts"])
        return np.array(counts, dtype=float), np.array(drift)

    c0, d0 = window()
    for _ in range(80 * 1800 // 1000):  # half a simulated hour
        read(src, 1000)
    c1, d1 = window()
    assert np.abs(c1.mean(axis=0) - c0.mean(axis=0)).max() > 2000  # it really drifts
    # counts minus the drift the truth reports stay at the hidden offsets (noise sd 200)
    np.testing.assert_allclose((c0 - d0).mean(axis=0), c.offsets_counts, atol=60)
    np.testing.assert_allclose((c1 - d1).mean(axis=0), c.offsets_counts, atol=60)
    np.testing.assert_allclose(src.truth_now()["offsets_counts"], c.offsets_counts + d1[-1])


def test_deterministic_for_a_seed():
    a, b, c = (SimLoadCellSource(seed=s, paced=False) for s in (10, 10, 11))
    for s in (a, b, c):
        s.set_scenario("stepping")
    ca, cb, cc = (read(s, 300)[1] for s in (a, b, c))
    np.testing.assert_array_equal(ca, cb)
    assert not np.array_equal(ca, cc)


def test_paced_source_follows_the_monotonic_clock():
    src = SimLoadCellSource(seed=12, paced=True, rate_hz=100.0)
    src.start()
    t0 = time.monotonic_ns()
    t_ns, _, _ = read(src, 30)
    elapsed = (time.monotonic_ns() - t0) / 1e9
    assert elapsed >= 0.25  # 30 frames at 100 Hz cannot come sooner (no upper bound: slow CI)
    assert t_ns[-1] <= time.monotonic_ns()
    assert abs(np.diff(t_ns).mean() / 1e6 - 10.0) < 0.5


def test_bad_arguments():
    with pytest.raises(InputError, match="rate_hz"):
        SimLoadCellSource(seed=1, rate_hz=2000)
    src = SimLoadCellSource(seed=1, paced=False)
    with pytest.raises(InputError, match="scenario"):
        src.set_scenario("cartwheel")
    with pytest.raises(InputError, match="no frame"):
        src.truth_now()
    assert len(src.health()) == len(CHANNELS)


def test_controls_from_another_thread_keep_the_stream_consistent():
    import threading

    src = SimLoadCellSource(seed=13, paced=False)
    errors: list[BaseException] = []

    def control() -> None:
        try:
            for i in range(40):
                src.set_scenario(("quiet_stance", "stepping", "empty", "single_leg_squat")[i % 4])
                src.place_mass(5.0, (150.0, 0.0))
                src.inject_fault(i % 8, "spikes", duration_s=0.1)
                src.truth_now()
                time.sleep(0.002)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    src.read_frame()
    th = threading.Thread(target=control)
    th.start()
    t_ns = []
    while th.is_alive() or len(t_ns) < 1000:
        t_ns.append(src.read_frame().t_ns)
    th.join()
    assert not errors
    assert np.all(np.diff(t_ns) > 0)


def test_looped_protocol_repeats_with_fresh_truth():
    src = SimLoadCellSource(seed=14, paced=False, cells=quiet_cells(14))
    first = src.set_scenario("hop_and_stick", leg="left", loop=True)
    assert first is not None
    truths = {id(first): first}
    landings = []
    for _ in range(80 * 45):
        f = src.read_frame()
        tr = src.scenario_truth
        if id(tr) not in truths:
            truths[id(tr)] = tr
        landings.append((f.t_ns, f.counts))
    assert len(truths) >= 3  # a 10 s protocol + 3 s pause, repeated
    # every repetition lands on the left plate: left force reaches > 2 BW each time
    t_ns = np.array([x[0] for x in landings])
    loads = newtons(src, np.array([x[1] for x in landings], dtype=float))
    left, _ = plate(src, loads, 0)
    bw = 70.0 * G
    peaks = np.flatnonzero((left[1:] > 2 * bw) & (left[:-1] <= 2 * bw))
    assert len(peaks) >= 3
    assert np.all(np.diff(t_ns[peaks]) / 1e9 > 10.0)


def test_protocol_for_a_seed_does_not_depend_on_when_it_starts() -> None:
    """The recorder switches scenarios at thread-timing-dependent moments: the protocol
    the athlete plays must be the same however long the stance before it lasted."""
    from hardware.sim import SimLoadCellSource

    truths = []
    for frames_before in (0, 37, 2500):  # 2500 frames = a new 20 s stance block drawn
        src = SimLoadCellSource(seed=12, rate_hz=80.0, paced=False)
        src.set_scenario("quiet_stance")
        for _ in range(frames_before):
            src.read_frame()
        truths.append(src.set_scenario("single_leg_stance", leg="right"))
    first = truths[0]
    assert first is not None
    for other in truths[1:]:
        assert other is not None
        assert other.touchdowns == first.touchdowns
        assert other.lift_off_s == first.lift_off_s
