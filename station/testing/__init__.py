"""Test rigs shared by the test suite (``tests/``) and the benchmarks (``bench/``).

Each rig runs the real thing on the simulator: a real app served by uvicorn in a
thread (:mod:`.servers`), ``station serve`` in a subprocess (:mod:`.service`), tablet
load on it (:mod:`.load`), a calibration rig stepped frame by frame
(:mod:`.calibration_rig`), sensor faults during a recording (:mod:`.faults`),
generated bad input (:mod:`.bad_input`) and Debian's Chromium (:mod:`.browser`).

This is the top floor (``pyproject.toml``, ``[tool.importlinter]``): it may import any
module of the station, and no station module imports it. It ships with the package
(as ``datasette.utils.testing`` does) but needs the ``dev`` extras (httpx, websockets,
hypothesis, playwright): nothing in the station itself imports it, so an installation
without them loses nothing. Pytest fixtures stay in ``tests/**/conftest.py``; they
build on these rigs.
"""
