"""Station configuration: one documented source.

Values come, in increasing priority, from the defaults below, a TOML file (path in
``STATION_CONFIG``, default ``station.toml`` in the working directory if present),
environment variables ``STATION_<NAME>`` (nested: ``STATION_PINS__SCK=5``), and
finally command-line flags passed as overrides to :func:`load_settings`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from station.core.errors import ConfigError

# BCM numbers of the GPIO pins usable on the 40-pin header.
_VALID_BCM = range(2, 28)


class HX711Pins(BaseModel):
    """BCM pin map of the eight HX711 boards (one per load cell), in channel order
    left_fl, left_fr, left_bl, left_br, right_fl, right_fr, right_bl, right_br."""

    dout: list[int] = Field(default=[5, 6, 13, 19, 26, 16, 20, 21], min_length=8, max_length=8)
    sck: int = 17  # one shared clock line for all eight chips
    rate: int | None = None  # optional pin wired to the RATE inputs (high = 80 SPS)

    @model_validator(mode="after")
    def _check_pins(self) -> HX711Pins:
        pins = [*self.dout, self.sck] + ([self.rate] if self.rate is not None else [])
        bad = [p for p in pins if p not in _VALID_BCM]
        if bad:
            raise ValueError(f"BCM pin(s) {bad} do not exist on the header (use 2-27)")
        if len(set(pins)) != len(pins):
            raise ValueError(f"a pin is used twice: dout={self.dout}, sck={self.sck}, rate={self.rate}")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STATION_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    hardware: Literal["sim", "pi", "pico"] = "sim"
    camera: Literal["sim", "picamera2", "none"] = "sim"
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    sample_rate_hz: Literal[10, 80] = 80
    pins: HX711Pins = HX711Pins()
    # hardware = "pico": the board's serial port (best /dev/serial/by-id/...); unset = the
    # first MicroPython RP2040 board found by its USB id
    pico_port: str | None = None
    geometry_file: Path | None = None
    sim_seed: int = 1
    camera_width: int = Field(default=640, ge=160, le=1920)
    camera_height: int = Field(default=480, ge=120, le=1080)
    camera_fps: int = Field(default=30, ge=10, le=60)
    loopback_without_token: bool = True
    cors_origins: list[str] = []
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    @field_validator("geometry_file")
    @classmethod
    def _geometry_readable(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"file {v} does not exist or is not readable")
        return v

    @property
    def db_path(self) -> Path:
        return self.data_dir / "station.sqlite3"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("STATION_CONFIG", "station.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; raise :class:`ConfigError` naming the first bad setting.

    ``overrides`` with value ``None`` are ignored, so CLI flags can be passed through.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    config_file = os.environ.get("STATION_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigError("STATION_CONFIG", f"file {config_file} does not exist")
    try:
        return Settings(**clean)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        setting = "STATION_" + "__".join(loc).upper() if loc else "settings"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        raise ConfigError(setting, msg) from None
    except Exception as exc:  # e.g. a TOML syntax error
        raise ConfigError(os.environ.get("STATION_CONFIG", "station.toml"), str(exc)) from None
