"""Tare, fit, verification and capture on synthetic counts from known cells."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.capture import make_capture
from calibration.fit import fit_calibration
from calibration.tare import tare
from calibration.verify import verify
from station.core.calibration import Calibration
from station.core.errors import CalibrationError
from station.core.geometry import CHANNELS, PLATES

from .synth import G, SynthPlates


def _fit_positions(s: SynthPlates, plate: str) -> list[tuple[float, float]]:
    pg = s.geometry.plates[plate]
    return [(float(p[0]), float(p[1])) for p in pg.cell_positions_mm()] + [pg.center_mm]


def _captures(s: SynthPlates, offsets, *, mass_kg: float = 20.0, extra_mass: float | None = None,
              left_on_plate: list | None = None):
    prov = Calibration(is_default=False).with_offsets(offsets)
    caps = []
    for plate in PLATES:
        pts = [(mass_kg, p) for p in _fit_positions(s, plate)]
        if extra_mass:
            pts.append((extra_mass, s.geometry.plates[plate].center_mm))
        for m, p in pts:
            counts = s.counts([(m, p)] + (left_on_plate or []))
            caps.append(make_capture(counts, plate=plate, mass_kg=m, position_mm=p, calibration=prov))
    return caps


def _calibrate(s: SynthPlates, **kw):
    t = tare(s.counts(kw.pop("tare_masses", [])))
    return fit_calibration(_captures(s, t.offsets_counts, **kw), offsets_counts=t.offsets_counts,
                           geometry=s.geometry)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_recovers_hidden_gains(seed: int) -> None:
    s = SynthPlates(seed, gain_spread=0.08)
    res = _calibrate(s, extra_mass=40.0)
    rel = np.asarray(res.calibration.gains_n_per_count) * s.gains_counts_per_n - 1.0
    assert np.all(np.abs(rel) < 0.001), rel  # hidden gains recovered within 0.1 %
    # The offsets are the unloaded counts.
    off_n = (np.asarray(res.calibration.offsets_counts) - s.offsets_counts) / s.gains_counts_per_n
    assert np.all(np.abs(off_n) < 0.1)
    rep = res.report["plates"]["left"]
    assert rep["linearity"]["r_squared"] > 0.99999
    assert rep["linearity"]["max_deviation_pct_fs"] < 0.1
    assert set(rep["linearity"]["force_ratio_by_mass_kg"]) == {"20", "40"}
    assert [c["channel"] for c in rep["cells"]] == list(CHANNELS[:4])
    true_dev = (2000.0 / s.gains_counts_per_n[:4] - 1) * 100
    assert np.allclose([c["deviation_from_nominal_pct"] for c in rep["cells"]], true_dev, atol=0.1)


def test_fit_detects_and_removes_small_load_left_at_tare() -> None:
    s = SynthPlates(5)
    left_pos = (-200.0, 60.0)
    # A 1 kg shoe lay on the left plate at tare and was taken away before the captures.
    res = _calibrate(s, tare_masses=[(1.0, left_pos)])
    assert res.report["plates"]["left"]["tare_load_n"] == pytest.approx(G, abs=0.3)
    assert res.report["plates"]["right"]["tare_load_n"] == pytest.approx(0, abs=0.3)
    rel = np.asarray(res.calibration.gains_n_per_count) * s.gains_counts_per_n - 1.0
    assert np.all(np.abs(rel) < 0.005)
    # The calibrated zero is the empty plate: the shoe put back reads 1 kg, the empty plate 0.
    loads = res.calibration.counts_to_newtons(s.counts([(1.0, left_pos)]).mean(axis=0))
    assert loads[:4].sum() == pytest.approx(G, abs=0.3)
    # (Per cell a "twist" share of the shoe stays unseen: it has no net force or moment.)
    empty = res.calibration.counts_to_newtons(s.counts([]).mean(axis=0))
    assert abs(empty[:4].sum()) < 0.2 and abs(empty[4:].sum()) < 0.2
    moment = empty[:4] @ s.geometry.plates["left"].cell_positions_mm()
    assert np.abs(moment).max() < 0.2 * 300


def test_fit_refuses_plate_loaded_at_tare() -> None:
    s = SynthPlates(6)
    pos = (150.0, 0.0)
    with pytest.raises(CalibrationError, match="right plate carried about 2[0-9] N"):
        _calibrate(s, tare_masses=[(2.5, pos)])


def test_cell_wired_backwards_is_named() -> None:
    s = SynthPlates(7)
    s.gains_counts_per_n[5] *= -1  # right_fr: A+ and A- swapped
    with pytest.raises(CalibrationError, match="cell right_fr .* reads load as negative") as exc:
        _calibrate(s)
    assert "A+ and A-" in str(exc.value)


def test_dead_cell_is_named() -> None:
    s = SynthPlates(8)
    s.gains_counts_per_n[2] = 0.0  # left_bl: no response at all
    with pytest.raises(CalibrationError, match="cell left_bl .* does not respond") as exc:
        _calibrate(s)
    assert "cable" in str(exc.value)


def test_cells_plugged_into_each_others_boards_are_found() -> None:
    s = SynthPlates(9)
    t = tare(s.counts([]))
    caps = _captures(s, t.offsets_counts)
    perm = [1, 0, 2, 3, 4, 5, 6, 7]  # left_fl and left_fr cables exchanged
    swapped = [
        type(c)(c.plate, c.mass_kg, c.position_mm, tuple(np.asarray(c.counts_mean)[perm]),
                c.counts_sd, c.n_frames, c.label)
        for c in caps
    ]
    offs = np.asarray(t.offsets_counts)[perm]
    with pytest.raises(CalibrationError, match="left plate are plugged into the wrong HX711") as exc:
        fit_calibration(swapped, offsets_counts=offs, geometry=s.geometry)
    assert "front-left cell is read on channel left_fr" in str(exc.value)


def test_mass_moving_during_capture_is_refused() -> None:
    s = SynthPlates(10)
    t = tare(s.counts([]))
    prov = Calibration(is_default=False).with_offsets(t.offsets_counts)
    # The mass slides 30 mm during the 2 s window.
    frames = [s.counts([(20.0, (-150.0 + 30.0 * k / 159, 0.0))], n=1)[0] for k in range(160)]
    with pytest.raises(CalibrationError, match="mass moved during the capture at .* on the left plate"):
        make_capture(np.array(frames), plate="left", mass_kg=20.0, position_mm=(-150.0, 0.0), calibration=prov)
    # Still at the start: accepted.
    make_capture(s.counts([(20.0, (-150.0, 0.0))]), plate="left", mass_kg=20.0, position_mm=(-150, 0),
                 calibration=prov)


def test_mass_on_wrong_spot_makes_fit_name_the_capture() -> None:
    s = SynthPlates(11)
    t = tare(s.counts([]))
    caps = _captures(s, t.offsets_counts)
    prov = Calibration(is_default=False).with_offsets(t.offsets_counts)
    # The operator put the centre mass 25 mm off the mark.
    caps[4] = make_capture(s.counts([(20.0, (-125.0, 0.0))]), plate="left", mass_kg=20.0,
                           position_mm=(-150.0, 0.0), calibration=prov, label="left plate, centre")
    with pytest.raises(CalibrationError, match="capture left plate, centre on the left plate disagrees"):
        fit_calibration(caps, offsets_counts=t.offsets_counts, geometry=s.geometry)


def test_tare_refuses_moving_or_loaded_plates() -> None:
    s = SynthPlates(12)
    t = tare(s.counts([]))
    assert np.allclose(t.offsets_counts, s.offsets_counts, atol=60)
    assert not t.emptiness_checked
    # Someone leans on the left plate during the tare.
    frames = np.array([s.counts([(5.0 * k / 159, (-150.0, 0.0))], n=1)[0] for k in range(160)])
    with pytest.raises(CalibrationError, match="left plate is not still"):
        tare(frames)
    # With a previous tare the station knows a 10 kg bag is on the right plate.
    prev = Calibration(is_default=False).with_offsets(t.offsets_counts)
    with pytest.raises(CalibrationError, match="right plate is not empty: it carries 9[0-9] N"):
        tare(s.counts([(10.0, (150.0, 0.0))]), calibration=prev)
    with pytest.raises(CalibrationError, match="at least 0.5 s"):
        tare(s.counts([], n=10))


def test_tare_ignores_spikes_and_names_a_silent_cell() -> None:
    s = SynthPlates(13)
    c = s.counts([])
    c[17, 3] += 1 << 21  # one flipped high bit
    t = tare(c)
    assert abs(t.offsets_counts[3] - s.offsets_counts[3]) < 60
    invalid = np.full(len(c), 1 << 6)  # right_bl never valid
    with pytest.raises(CalibrationError, match="cell right_bl gave no valid reading"):
        tare(c, invalid=invalid)


def test_verification_against_physics() -> None:
    s = SynthPlates(14, noise_sd=0.0)
    res = _calibrate(s)
    points = [(-150.0, 0.0), (-210.0, 90.0), (90.0, -90.0), (210.0, 150.0)]
    prov = Calibration(is_default=False).with_offsets(res.calibration.offsets_counts)

    def caps():
        return [make_capture(s.counts([(20.0, p)]), plate="left" if p[0] < 0 else "right", mass_kg=20.0,
                             position_mm=p, calibration=prov) for p in points]

    good = verify(res.calibration, caps())
    assert good["passed"] and good["max_force_error_pct"] < 0.05 and good["max_cop_error_mm"] < 0.5
    # A calibration whose right_fr gain is 3 % high: the right plate over-reads where that cell carries load.
    bad_gains = list(res.calibration.gains_n_per_count)
    bad_gains[5] *= 1.03
    bad = Calibration(res.calibration.offsets_counts, tuple(bad_gains), s.geometry, is_default=False)
    rep = verify(bad, caps())
    p = rep["points"][3]  # (210, 150): right_fr carries the largest share (bilinear split)
    share = s.loads([(20.0, points[3])])[5] / (20.0 * G)
    assert p["force_error_pct"] == pytest.approx(3.0 * share, abs=0.02)
    assert not p["passed"] and not rep["passed"]
    assert rep["points"][0]["passed"]  # the left plate is untouched
