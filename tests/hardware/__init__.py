"""Tests of the hardware layer (simulator, HX711 backend, fakes)."""
