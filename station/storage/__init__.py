"""SQLite storage of athletes, trials, raw samples, calibrations and tokens."""

from station.storage.store import Store

__all__ = ["Store"]
