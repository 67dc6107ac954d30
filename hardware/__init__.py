"""Hardware backends behind small interfaces (see :mod:`hardware.base`)."""
