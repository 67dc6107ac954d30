"""A station process that records until it is killed (used by test_crash.py).

Prints ``frames <n> trial <id>`` lines as samples reach the database.
"""

from __future__ import annotations

import sys
import time

from hardware.sim import SimLoadCellSource
from hardware.sim.director import SimDirector
from station.acquisition import Acquisition
from station.recording import Recorder
from station.storage import Store


def main(db_path: str) -> None:
    store = Store(db_path)
    source = SimLoadCellSource(seed=7, rate_hz=80.0, paced=True, body_mass_kg=70.0)
    cal = source.cells.true_calibration(source.geometry)
    acquisition = Acquisition(source, calibration=cal)
    acquisition.start()
    recorder = Recorder(acquisition=acquisition, store=store, cue=SimDirector(source).act)
    athlete = store.create_athlete(name="Crash Test", body_mass_kg=70.0)
    recorder.start(athlete_id=athlete["id"], protocol="bilateral_stance", options={"duration_s": 120})
    while True:
        s = recorder.status()
        print(f"frames {s['frames']} trial {s['trial_id']} state {s['state']}", flush=True)
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
