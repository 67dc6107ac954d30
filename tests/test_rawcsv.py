import io
from pathlib import Path

import numpy as np
import pytest

from station.core.errors import InputError
from station.rawcsv import HEADER, RawRecording, parse_raw_csv, read_raw_csv, write_raw_csv

DATA = Path(__file__).parent / "data"


def test_round_trip_keeps_values_and_metadata(tmp_path):
    rng = np.random.default_rng(0)
    rec = RawRecording(
        t_s=np.cumsum(rng.uniform(0.01, 0.015, 200)),
        loads_n=rng.normal(100, 30, (200, 8)),
        metadata={"protocol": "bilateral_stance", "athlete": "A. Runner", "note": "two\nlines"},
    )
    write_raw_csv(tmp_path / "x.csv", rec)
    back = read_raw_csv(tmp_path / "x.csv")
    assert np.allclose(back.t_s, rec.t_s, atol=1e-6)
    assert np.allclose(back.loads_n, rec.loads_n, atol=1e-4)
    assert back.metadata["protocol"] == "bilateral_stance"
    assert back.metadata["athlete"] == "A. Runner"
    assert back.data_lines == (6, 205)  # 3 + 1 metadata lines, header on line 5


def test_reads_the_simulators_export(tmp_path):
    from hardware.sim import simulate_trial

    tr = simulate_trial("bilateral_stance", seed=3, duration_s=3.0)
    path = tr.to_csv(tmp_path / "sim.csv")
    rec = read_raw_csv(path)
    assert np.allclose(rec.loads_n, tr.loads_n, atol=1e-4)
    assert rec.metadata["protocol"] == "bilateral_stance"


def test_reads_the_hand_written_file():
    rec = read_raw_csv(DATA / "hand_written_trial.csv")
    assert rec.loads_n.shape == (121, 8)
    assert rec.metadata["leg"] == "left"
    assert "Hand-written" in rec.metadata["comment"]


def body(rows: list[str]) -> str:
    return "\n".join(["# a comment", HEADER, *rows]) + "\n"


GOOD = "0.0,1,2,3,4,5,6,7,8"


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("# c\nt,left_fl,left_fr,left_bl,left_br,right_fl,right_fr,right_bl,right_br\n0,1,2,3,4,5,6,7,8\n", 2, 1, "expected 't_s'"),
        ("t_s,left_fl,left_fr,left_bl,left_br,right_fl,right_fr,right_bl\n", 1, 9, "expected 'right_br'"),
        (body([GOOD, "0.1,1,2,x3,4,5,6,7,8"]), 4, 4, "'x3', not a number"),
        (body([GOOD, "0.1,1,2,3,4,5,6,7"]), 4, 9, "8 cells"),
        (body([GOOD, "0.1,1,2,3,4,nan,6,7,8"]), 4, 6, "NaN"),
        (body([GOOD, "0.1,1,2,3,4,5,6,7,8", "0.1,1,2,3,4,5,6,7,8"]), 5, 1, "does not increase"),
        (body([GOOD, "", "0.2,1,2,3,4,5,6,7,8"]), 4, 1, "empty line"),
        (body([]), 3, None, "no data rows"),
        ("# only comments\n", 2, None, "no header"),
    ],
)
def test_bad_files_name_line_and_column(text, line, column, words):
    with pytest.raises(InputError) as exc:
        parse_raw_csv(text)
    assert exc.value.line == line and exc.value.column == column
    assert words in str(exc.value)


def test_write_to_a_stream_and_reject_wrong_shape():
    buf = io.StringIO()
    write_raw_csv(buf, RawRecording(np.array([0.0, 0.1]), np.zeros((2, 8))))
    assert buf.getvalue().splitlines()[0] == HEADER
    with pytest.raises(InputError):
        write_raw_csv(io.StringIO(), RawRecording(np.array([0.0]), np.zeros((1, 7))))
