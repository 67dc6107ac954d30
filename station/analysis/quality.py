"""Plain-language warnings about the data of one trial.

Each check returns sentences a coach can act on ("check the cable of left_fr"),
never codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from station.core.geometry import CHANNELS

#: fraction of frames a channel may be invalid before it is reported
INVALID_FRACTION_WARN = 0.01
#: a channel flagged invalid in more than this fraction of frames is dead
INVALID_FRACTION_DEAD = 0.5
#: consecutive identical samples at a channel's maximum that count as clipping
CLIP_RUN = 3


def channel_warnings(
    loads_n: np.ndarray | None, *, invalid: np.ndarray | None = None, invalid_channels: list[str] | None = None
) -> list[str]:
    """Clipped and dead load-cell channels.

    Parameters
    ----------
    loads_n : (N, 8) cell loads, N, CHANNELS order, or None when only plate totals exist.
    invalid : (N,) bitmask of channels the hardware flagged per frame (bit i = CHANNELS[i]).
    invalid_channels : channels the caller already knows to be bad (from hardware health).

    Returns
    -------
    list[str]
        One sentence per problem found.
    """
    out: list[str] = []
    dead: set[str] = set(invalid_channels or [])
    if invalid is not None and len(invalid):
        fracs, whole = _flag_fractions(invalid)
        if whole > INVALID_FRACTION_WARN:
            out.append(
                f"{100 * whole:.1f} % of frames were dropped whole (the amplifiers' read-out was "
                "disturbed, e.g. by a busy processor); their last values were held."
            )
        for i, name in enumerate(CHANNELS):
            frac = float(fracs[i])
            if frac > INVALID_FRACTION_DEAD:
                dead.add(name)
            elif frac > INVALID_FRACTION_WARN:
                out.append(
                    f"channel {name} gave no valid reading in {100 * frac:.1f} % of frames; "
                    "check its cable and amplifier."
                )
    if loads_n is not None and len(loads_n) > CLIP_RUN:
        loads = np.asarray(loads_n, dtype=float)
        plate_fz = np.stack([loads[:, :4].sum(axis=1), loads[:, 4:].sum(axis=1)], axis=1)
        loaded = plate_fz > 100.0
        lo = np.where(np.repeat(loaded, 4, axis=1), loads, np.inf).min(axis=0)
        hi = np.where(np.repeat(loaded, 4, axis=1), loads, -np.inf).max(axis=0)
        tops = loads.max(axis=0)
        for i, name in enumerate(CHANNELS):
            col = loads[:, i]
            # dead: a cell that never changes while its plate carries a person
            if loaded[:, i // 4].sum() > 10 and hi[i] == lo[i]:
                dead.add(name)
                continue
            top = tops[i]
            if top <= 0 or top == col.min():
                continue
            at_top = col == top
            if at_top.sum() < CLIP_RUN:
                continue
            others = plate_fz[:, i // 4] - col
            if _stuck_while_plate_moves(at_top, others):
                out.append(
                    f"channel {name} is clipped at {top:.0f} N (reading stuck at its maximum); "
                    "the load exceeds the cell's range or the amplifier saturates - check the cell and its calibration."
                )
    for name in sorted(dead, key=lambda n: (CHANNELS.index(n) if n in CHANNELS else len(CHANNELS), n)):
        out.append(
            f"channel {name} looks dead (no valid or changing reading); results from its plate "
            "are unreliable - check the cell's cable and amplifier, then recalibrate."
        )
    return out


def _stuck_while_plate_moves(at_top: np.ndarray, others_n: np.ndarray) -> bool:
    """True if a run of >= CLIP_RUN samples at the maximum coincides with the plate's
    other cells changing by more than 5 N: the load went on rising, the reading did not
    (a hand-written or perfectly still signal is flat everywhere and is not clipping)."""
    m = np.concatenate(([False], at_top, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a >= CLIP_RUN and np.ptp(others_n[a:b]) > 5.0:
            return True
    return False


def stepped_off_warning(
    t_s: np.ndarray, total_fz_n: np.ndarray, *, body_weight_n: float, min_gap_s: float = 1.0
) -> str | None:
    """A sentence if the total load stays below half body weight for more than ``min_gap_s``.

    Parameters
    ----------
    t_s : (N,) timestamps, s.
    total_fz_n : (N,) total vertical force, N.
    body_weight_n : body weight, N.
    min_gap_s : longer gaps than this count (a hop's flight is well under 1 s).
    """
    t = np.asarray(t_s, dtype=float)
    low = np.asarray(total_fz_n, dtype=float) < 0.5 * body_weight_n
    m = np.concatenate(([False], low, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if t[b - 1] - t[a] > min_gap_s:
            return (
                f"the athlete stepped off the plates at {t[a] - t[0]:.1f} s (less than half the body "
                f"weight on them for {t[b - 1] - t[a]:.1f} s); repeat the trial if this was not intended."
            )
    return None


#: a pause between two samples longer than this many median sample intervals, and at least
#: MIN_GAP_S, is a gap in the data (shorter ones, e.g. a driver waiting for a chip before
#: declaring it dead, are bridged by the filters' interpolation)
GAP_INTERVALS = 3.0
MIN_GAP_S = 0.25
#: metrics computed from the plate forces and CoP: unreliable when a channel was flagged
FORCE_METRICS = (
    "contacts", "stance_time_s", "phases_s", "stance_symmetry_index_pct", "weight_left_pct",
    "sway", "sway_frequency", "ml_shift_mm", "single_leg", "squat", "time_to_stabilization_s",
)
#: CoP summaries withheld (set to None) when a channel is dead: a corner that reads a held or
#: missing value moves the CoP by up to the cell spacing, far more than any sway.
COP_METRICS = ("sway", "sway_frequency", "ml_shift_mm", "weight_left_pct")


def data_gaps(t_s: np.ndarray) -> list[tuple[float, float]]:
    """Pauses in the data longer than :data:`GAP_INTERVALS` median sample intervals and :data:`MIN_GAP_S`.

    Parameters
    ----------
    t_s : (N,) timestamps, s.

    Returns
    -------
    list of (start_s, length_s)
        Start relative to the first sample, and length of each gap, s.
    """
    t = np.asarray(t_s, dtype=float)
    if t.size < 3:
        return []
    dt = np.diff(t)
    med = float(np.median(dt))
    if med <= 0:
        return []
    idx = np.flatnonzero(dt > max(GAP_INTERVALS * med, MIN_GAP_S))
    return [(float(t[i] - t[0]), float(dt[i])) for i in idx]


def _flag_fractions(invalid: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-channel fraction of the frames read that flag the channel, leaving out frames
    flagged on all eight channels at once (dropped whole by the read-out: no channel's
    fault), and the fraction of those whole drops."""
    bits = (np.asarray(invalid, dtype=np.int64) & 0xFF).astype(np.uint8)
    whole = bits == 0xFF
    n = len(bits)
    read = bits[~whole]
    if not len(read):  # every frame dropped whole: every channel unusable
        return np.ones(len(CHANNELS)), 1.0 if n else 0.0
    # one pass: unpack the 8 flag bits of every frame, then a column mean
    per_channel = np.unpackbits(read[:, None], axis=1, bitorder="little").mean(axis=0)
    return per_channel, float(whole.mean())


def invalid_fractions(invalid: np.ndarray | None) -> dict[str, float]:
    """Fraction of frames each channel was flagged invalid by the hardware (only channels
    above :data:`INVALID_FRACTION_WARN`; frames dropped whole are not a channel's fault).

    Parameters
    ----------
    invalid : (N,) bitmask per frame (bit i = CHANNELS[i]), or None.
    """
    if invalid is None or not len(invalid):
        return {}
    fracs, _ = _flag_fractions(invalid)
    return {name: float(fracs[i]) for i, name in enumerate(CHANNELS) if fracs[i] > INVALID_FRACTION_WARN}


#: a channel flagged in every frame for this long up to the end of the recording died
#: during the trial and did not come back, whatever share of the trial that was
DEAD_AT_END_S = 1.0


def died_before_end(t_s: np.ndarray, invalid: np.ndarray | None) -> list[str]:
    """Channels flagged invalid without a break for the last :data:`DEAD_AT_END_S` or more.

    Frames dropped on all channels at once (read-out glitches) neither break nor extend a
    run: they say nothing about one channel.
    """
    if invalid is None or len(invalid) < 2:
        return []
    inv = np.asarray(invalid, dtype=np.int64) & 0xFF
    keep = inv != 0xFF
    if not keep.any():
        return []
    inv, t = inv[keep], np.asarray(t_s, dtype=float)[keep]
    out = []
    for i, name in enumerate(CHANNELS):
        ok = ((inv >> i) & 1) == 0
        last_ok = int(np.flatnonzero(ok)[-1]) if ok.any() else -1
        if last_ok < len(inv) - 1 and t[-1] - t[last_ok + 1] >= DEAD_AT_END_S:
            out.append(name)
    return out


def quality_flags(result: dict[str, Any], t_s: np.ndarray, invalid: np.ndarray | None) -> dict[str, Any]:
    """Which metrics of ``result`` are unreliable because channels were flagged or data is missing.

    Metrics depending on a dead channel's CoP (:data:`COP_METRICS`) are withheld (set to None
    in ``result``, in place) rather than reported wrong; the others stay, listed as unreliable.

    Returns
    -------
    dict
        ``invalid_fraction`` (channel -> fraction), ``dead_channels``, ``gaps_s``
        ([start_s, length_s] pairs), ``unreliable`` and ``withheld`` (metric names).
    """
    fractions = invalid_fractions(invalid)
    dead = [name for name, f in fractions.items() if f > INVALID_FRACTION_DEAD]
    dead += [name for name in died_before_end(t_s, invalid) if name not in dead]
    gaps = data_gaps(t_s)
    present = [k for k in FORCE_METRICS if result.get(k) not in (None, [], {})]
    unreliable = present if (fractions or gaps) else []
    withheld = [k for k in COP_METRICS if k in present] if dead else []
    for k in withheld:
        result[k] = None
    return {
        "invalid_fraction": fractions,
        "dead_channels": dead,
        "gaps_s": [[round(a, 3), round(b, 3)] for a, b in gaps],
        "unreliable": unreliable,
        "withheld": withheld,
    }


def gap_warnings(gaps: list[list[float]]) -> list[str]:
    """One sentence for the data gaps (the load cells stopped answering)."""
    if not gaps:
        return []
    total = sum(float(g[1]) for g in gaps)
    first = gaps[0]
    return [
        f"no data from the load cells for {total:.1f} s in {len(gaps)} gap(s) (the first at "
        f"{float(first[0]):.1f} s, {float(first[1]):.1f} s long); metrics over the trial are unreliable - "
        "check the cable and power of the amplifier board, then record again."
    ]
