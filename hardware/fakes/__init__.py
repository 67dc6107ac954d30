"""Fakes of Pi-only modules, at the lowest level, so the driver code above them runs for real.

:mod:`hardware.fakes.rpi_gpio` is a stand-in for the ``RPi.GPIO`` module wired to simulated
HX711 chips; :func:`install_fake_gpio` puts it into ``sys.modules`` as ``RPi`` / ``RPi.GPIO``.
:class:`VirtualClock` is simulated time for the board and the driver under test, so tests
do not depend on the machine's speed.
"""

from hardware.fakes.clock import CompensatedClock, VirtualClock
from hardware.fakes.rpi_gpio import (
    POWER_DOWN_NS,
    FakeBoard,
    FakeHX711,
    default_chips,
    install_fake_gpio,
    uninstall_fake_gpio,
)

__all__ = [
    "POWER_DOWN_NS",
    "CompensatedClock",
    "FakeBoard",
    "FakeHX711",
    "VirtualClock",
    "default_chips",
    "install_fake_gpio",
    "uninstall_fake_gpio",
]
