"""Physical constants and the one force threshold every part of the station shares.

References: standard gravity as defined by the 3rd CGPM (1901), 9.80665 m/s^2 (the
station assumes it; local g differs by less than 0.3 %). The contact threshold follows
the domain notes (``docs/analysis.md``): a plate carries a foot, and its CoP is defined,
from 20 N up; below it the signal is noise-dominated.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Standard gravity, m/s^2.
G_M_S2 = 9.80665

#: A plate is loaded (a foot on it, its CoP defined) at or above this vertical force, N.
#: The one comparison rule: ``fz_n >= CONTACT_THRESHOLD_N`` is loaded, below it is empty.
CONTACT_THRESHOLD_N = 20.0


def is_loaded(fz_n: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each vertical force ``fz_n`` (N) counts as a loaded plate (at or above
    :data:`CONTACT_THRESHOLD_N`)."""
    return np.asarray(fz_n, dtype=float) >= CONTACT_THRESHOLD_N
