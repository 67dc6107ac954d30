"""One exception root for the station.

Every error the station raises on purpose derives from :class:`StationError` and
also from the builtin it is closest to, so callers can catch either. The API maps
these classes to HTTP status codes in one place (``api/errors.py``); the CLI maps
them to exit codes.
"""

from __future__ import annotations


class StationError(Exception):
    """Root of all station errors. ``hint`` tells the user what to do."""

    http_status = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(StationError, ValueError):
    """A setting is missing or wrong; ``setting`` names it."""

    http_status = 500

    def __init__(self, setting: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"configuration error in {setting}: {message}", hint=hint)
        self.setting = setting


class InputError(StationError, ValueError):
    """User-supplied data is malformed. ``line``/``column`` locate it when known (1-based)."""

    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if line is not None:
            where = f"line {line}"
            if column is not None:
                where += f", column {column}"
            where += ": "
        super().__init__(where + message, hint=hint)
        self.line = line
        self.column = column


class NotFoundError(StationError, LookupError):
    http_status = 404


class ConflictError(StationError, RuntimeError):
    """The request does not fit the current state (e.g. a recording is already running)."""

    http_status = 409


class AuthError(StationError, PermissionError):
    """Missing or invalid credentials."""

    http_status = 401


class ForbiddenError(StationError, PermissionError):
    """Valid credentials, insufficient role."""

    http_status = 403


class HardwareError(StationError, OSError):
    """A sensor or camera misbehaves; ``channel`` names the load-cell channel when known."""

    http_status = 503

    def __init__(self, message: str, *, channel: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.channel = channel


class CalibrationError(StationError, ValueError):
    """A calibration step was refused (plate not still, fit clearly wrong, ...)."""

    http_status = 422


class StorageError(StationError, OSError):
    """The database or disk failed (locked, full, corrupt)."""

    http_status = 503
