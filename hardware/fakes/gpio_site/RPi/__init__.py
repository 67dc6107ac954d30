"""The fake ``RPi`` package for a station process started by a test (see ``GPIO.py``)."""
