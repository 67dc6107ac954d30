"""``RPi.GPIO`` for a whole station process: put ``hardware/fakes/gpio_site`` first on its
``PYTHONPATH`` and ``import RPi.GPIO`` gives :mod:`hardware.fakes.rpi_gpio` with a board of
eight default chips, powered while the file named by ``STATION_FAKE_GPIO_POWER_FILE``
says ``on`` (see :func:`hardware.fakes.rpi_gpio.install_from_env`). So ``station serve
--hardware pi`` runs our real HX711 driver in a subprocess, and the test powers the
amplifiers up and down by writing that file.
"""

import sys

from hardware.fakes import rpi_gpio

rpi_gpio.install_from_env()
sys.modules[__name__] = rpi_gpio  # the import statement hands out the fake module itself
