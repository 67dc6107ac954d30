"""The test protocols the station runs (names shared by simulator, analysis, recording, kiosk)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Protocol:
    name: str
    needs_leg: bool          # single-leg protocols ask which leg stands
    default_duration_s: float  # maximum duration; some end earlier (touch-down, N reps)


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("bilateral_stance", needs_leg=False, default_duration_s=30.0),
        Protocol("weight_shift", needs_leg=True, default_duration_s=10.0),
        Protocol("single_leg_stance", needs_leg=True, default_duration_s=30.0),
        Protocol("single_leg_squat", needs_leg=True, default_duration_s=40.0),
        Protocol("stepping", needs_leg=False, default_duration_s=20.0),
        Protocol("hop_and_stick", needs_leg=True, default_duration_s=10.0),
    )
}
PROTOCOL_NAMES = tuple(PROTOCOLS)
