"""Saving: the frames of one trial as they arrive, written to the database in chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from station.storage import Store


@dataclass
class TrialSamples:
    """What has been read of one trial so far (lists of arrays, concatenated when needed)
    and how much of it is in the database."""

    t_parts: list[np.ndarray] = field(default_factory=list)
    counts_parts: list[np.ndarray] = field(default_factory=list)
    invalid_parts: list[np.ndarray] = field(default_factory=list)
    loads_parts: list[np.ndarray] = field(default_factory=list)
    t0_ns: int | None = None
    last_t_ns: int | None = None
    #: Frames already in the database.
    written: int = 0

    def __len__(self) -> int:
        return sum(len(p) for p in self.t_parts)

    def append(self, arrays: dict[str, np.ndarray]) -> None:
        if not len(arrays["t_ns"]):
            return
        if self.t0_ns is None:
            self.t0_ns = int(arrays["t_ns"][0])
        self.t_parts.append(arrays["t_ns"])
        self.counts_parts.append(arrays["counts"])
        self.invalid_parts.append(arrays["invalid"])
        self.loads_parts.append(arrays["loads_n"])
        self.last_t_ns = int(arrays["t_ns"][-1])

    def t_ns(self) -> np.ndarray:
        return np.concatenate(self.t_parts) if self.t_parts else np.zeros(0, dtype=np.int64)

    def loads_n(self) -> np.ndarray:
        return np.concatenate(self.loads_parts)

    def invalid(self) -> np.ndarray:
        return np.concatenate(self.invalid_parts)

    def truncate(self, end_t_ns: int) -> None:
        """Drop frames after the end of the trial (a fast source may have delivered more)."""
        t = self.t_ns()
        keep = int(np.searchsorted(t, end_t_ns, side="right"))
        self.t_parts = [t[:keep]]
        self.counts_parts = [np.concatenate(self.counts_parts)[:keep]]
        self.invalid_parts = [self.invalid()[:keep]]
        self.loads_parts = [self.loads_n()[:keep]]
        self.last_t_ns = int(t[keep - 1]) if keep else self.t0_ns

    def flush(self, store: Store, trial_id: int) -> int:
        """Write the frames not yet in the database as one chunk; return the frames written in all."""
        total = len(self)
        if self.written > total:  # the trial's end was found after later frames were written
            assert self.last_t_ns is not None
            store.truncate_samples(trial_id, end_t_ns=self.last_t_ns)
            self.written = total
        if total > self.written:
            t = self.t_ns()[self.written:]
            c = np.concatenate(self.counts_parts)[self.written:]
            i = self.invalid()[self.written:]
            store.append_samples(trial_id, t, c, i)
            self.written = total
        return self.written
