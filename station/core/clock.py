"""The wall clock and how far to trust it.

A Raspberry Pi has no real-time clock: it boots with the time of the last shutdown
(fake-hwclock) or in 1970 until NTP answers, and it may jump when NTP does. So nothing
that matters may be refused or erased because of the wall clock alone:

- a year check uses :func:`year_at_least`, never below :data:`FLOOR_DATE`'s year;
- order comes from ids (SQLite rowids grow with every insert), not timestamps;
- erasing by age (purge) waits until :func:`clock_status` says the clock is synchronised.

:data:`FLOOR_DATE` is a date this version cannot run before (its release): a clock
earlier than that is certainly wrong.
"""

from __future__ import annotations

import datetime as _dt
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

#: This version was released in December 2026: a clock before this date is wrong.
FLOOR_DATE = _dt.date(2026, 12, 1)


def year_at_least(now: _dt.datetime | None = None) -> int:
    """The current year by the clock, never below :data:`FLOOR_DATE`'s (the upper bound
    of a birth year: a clock in 1970 must not refuse an athlete born in 2010)."""
    now = now or _dt.datetime.now(_dt.UTC)
    return max(now.year, FLOOR_DATE.year)


@dataclass(frozen=True)
class ClockStatus:
    """Whether the wall clock can be trusted, and why not."""

    synchronised: bool
    ntp: bool | None  # systemd's NTPSynchronized; None where timedatectl cannot tell
    before_floor: bool
    now: str

    @property
    def reason(self) -> str:
        if self.before_floor:
            return f"the clock says {self.now}, before this version's release ({FLOOR_DATE.isoformat()})"
        if self.ntp is False:
            return f"the clock ({self.now}) is not synchronised with a time server (NTP)"
        return ""


def _ntp_synchronised() -> bool | None:
    """systemd's answer (``timedatectl show -p NTPSynchronized``), or None without one
    (no timedatectl, or no systemd as init, as in a container)."""
    exe = shutil.which("timedatectl")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    answer = out.stdout.strip()
    if out.returncode != 0 or answer not in ("yes", "no"):
        return None
    return answer == "yes"


def clock_status(now: _dt.datetime | None = None, *, ntp: bool | None | Literal["ask"] = "ask") -> ClockStatus:
    """Is the wall clock synchronised? No when systemd says NTP is not synchronised, or
    when the clock is before :data:`FLOOR_DATE` (the only test where systemd cannot tell).

    ``now`` and ``ntp`` replace the clock and systemd's answer (tests).
    """
    now = now or _dt.datetime.now(_dt.UTC)
    ntp_answer = _ntp_synchronised() if isinstance(ntp, str) else ntp
    before = now.date() < FLOOR_DATE
    return ClockStatus(
        synchronised=not before and ntp_answer is not False,
        ntp=ntp_answer,
        before_floor=before,
        now=now.isoformat(timespec="seconds"),
    )
