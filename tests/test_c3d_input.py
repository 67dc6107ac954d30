import subprocess
import sys
import zipfile
from pathlib import Path

import ezc3d
import numpy as np
import pytest

from station.c3d_input import read_c3d_plates
from station.core.errors import InputError

REAL = Path(__file__).parent / "data" / "real"


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    d = tmp_path_factory.mktemp("c3d")
    with zipfile.ZipFile(REAL / "walk.c3d.zip") as z:
        z.extract("walk.c3d", d)
    return d / "walk.c3d"


def test_reads_two_type2_platforms_on_the_file_time_axis(walk):
    t, fz, cop = read_c3d_plates(walk, plates=(2, 4))
    assert t[0] == pytest.approx(1.52) and t[-1] == pytest.approx(3.7295)  # README
    assert fz.shape == (4420, 2) and cop.shape == (4420, 2, 2)
    assert (fz >= 0).all() and fz.max() > 700
    # P2 spans x -468..-4, y 0..508; P4 x -232..232, y -513..-5 (README): CoPs on their plates
    left, right = cop[:, 0][np.isfinite(cop[:, 0, 0])], cop[:, 1][np.isfinite(cop[:, 1, 0])]
    assert (left[:, 0] > -468).all() and (left[:, 0] < -4).all() and (left[:, 1] > 0).all()
    assert (right[:, 1] < -5).all() and (right[:, 1] > -513).all()
    assert np.isnan(cop[fz < 20]).all()


def writable(walk):
    c = ezc3d.c3d(str(walk))
    # the accelerometer units hold a non-UTF-8 "squared" byte that ezc3d cannot write back
    units = c["parameters"]["ANALOG"]["UNITS"]["value"]
    c["parameters"]["ANALOG"]["UNITS"]["value"] = [u.encode("ascii", "replace").decode() for u in units]
    return c


@pytest.mark.parametrize("halve_analog", [True, False])
def test_type4_platforms_apply_their_calibration_matrix(walk, tmp_path, halve_analog):
    """The same trial as type-4 platforms: identity calibration except Fz x 2 on P2/P4."""
    c = writable(walk)
    c["parameters"]["FORCE_PLATFORM"]["TYPE"]["value"] = np.array([4, 4, 4, 4])
    cal = np.zeros((6, 6, 4))
    for k in range(4):
        cal[:, :, k] = np.eye(6)
    labels = c["parameters"]["ANALOG"]["LABELS"]["value"]
    for p in (2, 4):
        cal[2, 2, p - 1] = 2.0
        if halve_analog:
            c["data"]["analogs"][0, labels.index(f"Force.Fz{p}"), :] *= 0.5
    c.add_parameter("FORCE_PLATFORM", "CAL_MATRIX", cal)
    path = tmp_path / "type4.c3d"
    c.write(str(path))
    assert list(ezc3d.c3d(str(path))["parameters"]["FORCE_PLATFORM"]["TYPE"]["value"]) == [4, 4, 4, 4]
    _, fz4, _ = read_c3d_plates(path, plates=(2, 4))
    _, fz2, _ = read_c3d_plates(walk, plates=(2, 4))
    assert np.allclose(fz4, fz2 if halve_analog else 2 * fz2, atol=1e-3)


def test_negative_fz_is_made_positive(walk, tmp_path):
    """A lab that stores the force on the plate: flip the analog Fz of P2 and P4."""
    c = writable(walk)
    labels = c["parameters"]["ANALOG"]["LABELS"]["value"]
    for name in ("Force.Fz2", "Force.Fz4"):
        i = labels.index(name)
        c["data"]["analogs"][0, i, :] *= -1
    flipped = tmp_path / "flipped.c3d"
    c.write(str(flipped))
    raw = ezc3d.c3d(str(flipped), extract_forceplat_data=True)["data"]["platform"]
    assert raw[1]["force"][2].sum() < 0  # the reader really sees force on the plate
    t, fz, cop = read_c3d_plates(flipped, plates=(2, 4))
    _, fz0, _ = read_c3d_plates(walk, plates=(2, 4))
    assert (fz >= 0).all()
    assert np.allclose(fz, fz0, atol=1e-3)


def test_bad_platform_numbers_and_files(walk, tmp_path):
    with pytest.raises(InputError, match="platform 5 does not exist; the file has platforms 1-4"):
        read_c3d_plates(walk, plates=(2, 5))
    with pytest.raises(InputError, match="two different"):
        read_c3d_plates(walk, plates=(2, 2))
    junk = tmp_path / "junk.c3d"
    junk.write_bytes(b"not a c3d file at all" * 10)
    with pytest.raises(InputError, match="not a readable C3D file"):
        read_c3d_plates(junk)
    with pytest.raises(InputError, match="does not exist"):
        read_c3d_plates(tmp_path / "missing.c3d")


def test_without_ezc3d_the_reader_says_what_to_install(walk, monkeypatch):
    # A Raspberry Pi install has no ezc3d (no aarch64 wheel): a None entry makes the
    # import fail exactly as it does there.
    monkeypatch.setitem(sys.modules, "ezc3d", None)
    with pytest.raises(InputError, match="needs ezc3d") as err:
        read_c3d_plates(walk)
    assert "stance-station[ezc3d]" in (err.value.hint or "")


def test_without_ezc3d_station_analyze_of_a_c3d_exits_2_with_the_reason(walk):
    code = (
        "import sys; sys.modules['ezc3d'] = None\n"
        "from station.cli import main\n"
        f"sys.exit(main(['analyze', {str(walk)!r}, '--protocol', 'stepping', '--plates', '2,4']))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "needs ezc3d" in r.stderr and "Traceback" not in r.stderr
