"""Stance Station: force plates and camera for hip-stability testing."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stance-station")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"
