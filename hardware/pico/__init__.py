"""The ``pico`` backend: an RP2040 board on USB runs the HX711 PIO program (firmware in
``hardware/pico/firmware``, kept beside the host code so both import one protocol module);
:mod:`hardware.pico.backend` reads its frames."""
