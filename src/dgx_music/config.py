"""One settings object for the whole service, validated at start.

Sources, highest priority first: keyword arguments (the CLI's ``--data-dir`` and friends),
environment variables ``DGX_MUSIC_*``, the TOML config file, the defaults below. The config file
is ``$XDG_CONFIG_HOME/dgx-music/config.toml`` unless ``DGX_MUSIC_CONFIG_FILE`` names another.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "DGX_MUSIC_"
CONFIG_FILE_ENV = ENV_PREFIX + "CONFIG_FILE"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dgx-music"


def default_config_file() -> Path:
    explicit = os.environ.get(CONFIG_FILE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dgx-music" / "config.toml"


class SettingsError(ValueError):
    """Settings that cannot work; the message names each offending setting."""


def digest_api_key(key: str) -> str:
    """The SHA-256 hex digest an API key is known by once it has been read.

    A plain hash, not a slow password hash: the keys ``dgx-music keys add`` makes carry 256
    random bits, so there is nothing to guess, and every request must be checked cheaply.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def _split_list(value: Any) -> Any:
    """A list setting from the environment: a JSON array, or words split on commas."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [part.strip() for part in text.split(",") if part.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, frozen=True
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="jobs database, library")
    library_dir: Path | None = Field(
        default=None, description="audio files (default data_dir/library)"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL (default SQLite file in data_dir)"
    )
    default_engine: str = Field(
        default="auto", min_length=1, description="auto: musicgen when its weights are on disk"
    )
    default_duration: float = Field(default=30.0, gt=0, le=3600, description="seconds")
    output_format: str = Field(default="wav", pattern="^(wav|flac)$")
    bit_depth: str = Field(default="24", pattern="^(16|24|32f)$")
    loudness_lufs: float = Field(default=-16.0, ge=-40, le=-5)
    true_peak_dbtp: float = Field(default=-1.0, ge=-12, le=0)
    fade_in: float = Field(default=0.01, ge=0, le=10, description="seconds")
    fade_out: float = Field(default=0.5, ge=0, le=30, description="seconds")
    soundfont: Path | None = Field(default=None, description="SF2/SF3 for the symbolic engine")
    musicgen_model: str = Field(
        default="facebook/musicgen-small",
        min_length=1,
        description="Hugging Face model id or a local checkpoint directory",
    )
    models_dir: Path | None = Field(
        default=None, description="Hugging Face cache for model weights (default: HF_HUB_CACHE)"
    )
    musicgen_device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    musicgen_dtype: str = Field(default="auto", pattern="^(auto|float32|float16|bfloat16)$")
    musicgen_quantize: str = Field(
        default="none",
        pattern="^(none|int8)$",
        description="int8: EXPERIMENTAL, lossy dynamic quantisation of Linear layers (CPU only)",
    )
    musicgen_idle_unload: float = Field(
        default=600.0, ge=0, le=86_400, description="seconds idle before the model is unloaded"
    )
    musicgen_context: float = Field(
        default=10.0, gt=0, le=25, description="seconds kept as the prompt of the next window"
    )
    musicgen_max_batch: int = Field(
        default=4, ge=1, le=64, description="prompts decoded together in one forward pass"
    )
    engine_plugins: dict[str, str] = Field(
        default_factory=dict, description="extra engines: name → 'module:Class'"
    )
    max_prompt_length: int = Field(default=1000, ge=1, le=2000)
    max_attempts: int = Field(default=3, ge=1, le=100)
    lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    heartbeat_seconds: float = Field(default=10.0, gt=0, le=600)
    poll_interval: float = Field(default=0.5, gt=0, le=60, description="seconds between claims")
    worker_priority: Literal["normal", "low", "idle"] = Field(
        default="low",
        description="CPU priority of the threads that run jobs. low: nice 10, the API and "
        "other interactive work go first; idle: only CPU time nothing else wants (Linux "
        "SCHED_IDLE: the API never waits for a render, but any busy program pauses "
        "generation); normal: unchanged",
    )
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    sqlite_busy_timeout: float = Field(default=30.0, gt=0, le=600, description="seconds")
    api_max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        le=16 * 2**20,
        description="largest request body the API reads, uploads aside (bytes); larger: 413",
    )
    api_max_upload_bytes: int = Field(
        default=100 * 2**20,
        ge=1024,
        le=2**31,
        description="largest audio file POST /analyze accepts (bytes); larger: 413",
    )
    api_conversion_cache_bytes: int = Field(
        default=2 * 2**30,
        ge=0,
        le=2**50,
        description="how much converted audio (?format=, ?sample_rate=) is kept; the least "
        "recently served conversions go first",
    )
    api_max_batch: int = Field(
        default=50, ge=1, le=1000, description="requests in one POST /generate/batch"
    )
    api_event_interval: float = Field(
        default=0.5,
        ge=0.05,
        le=10,
        description="seconds between looks at the job store behind each progress event stream",
    )
    api_keepalive_seconds: float = Field(
        default=15.0,
        ge=1,
        le=300,
        description="seconds of silence after which an event stream sends a keep-alive comment",
    )
    allow_insecure_bind: bool = Field(
        default=False,
        description="let `serve` listen on a non-loopback address without API keys",
    )
    api_keys: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="API keys (comma-separated in the environment); held only as SHA-256 "
        "digests once read. Keys made by `dgx-music keys add` live in api_keys_file instead",
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="`name:sha256-hex` lines written by `dgx-music keys` "
        "(default data_dir/api-keys)",
    )
    api_generate_rate_per_minute: int = Field(
        default=10,
        ge=0,
        le=100_000,
        description="generations per minute per API key (or client address without keys); "
        "a batch of N counts as N; 0: unlimited",
    )
    api_request_rate_per_minute: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="requests of any kind per minute per API key or client address, health "
        "checks aside; 0: unlimited",
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="addresses or CIDR networks of reverse proxies whose X-Forwarded-For is "
        "believed (comma-separated in the environment)",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _digest_keys(cls, value: Any) -> Any:
        """Plain keys become digests here, so the settings object never holds a key."""
        keys = _split_list(value)
        if not isinstance(keys, list | tuple):
            return keys
        if not all(isinstance(key, str) for key in keys):
            raise ValueError("API keys must be strings")
        short = [index for index, key in enumerate(keys) if len(key.strip()) < 16]
        if short:
            raise ValueError(
                "an API key must have at least 16 characters (`dgx-music keys add` makes "
                f"strong ones); too short: key {short[0] + 1}"
            )
        return tuple(digest_api_key(key.strip()) for key in keys)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        networks = []
        for entry in value:
            try:
                networks.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return tuple(networks)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=default_config_file())
        return (init_settings, env_settings, toml)

    @model_validator(mode="after")
    def _heartbeat_fits_in_lease(self) -> Settings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError(
                "heartbeat_seconds must be shorter than lease_seconds, or every lease expires"
            )
        return self

    @property
    def library_root(self) -> Path:
        return self.library_dir or self.data_dir / "library"

    @property
    def api_keys_path(self) -> Path:
        return self.api_keys_file or self.data_dir / "api-keys"

    @property
    def cache_root(self) -> Path:
        """Derived files that can be made again at any time (format conversions)."""
        return self.data_dir / "cache"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'dgx-music.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the settings, turning pydantic's report into one line per setting."""
    config_file = default_config_file()
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{ENV_PREFIX}{name.upper()}: {message}" if name else message)
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read config file {config_file}: {exc}") from None


def setting_sources(settings: Settings, overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """Where each effective value came from, for ``dgx-music config``."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    config_file = default_config_file()
    file_keys: set[str] = set()
    if config_file.is_file():
        import tomllib

        with config_file.open("rb") as handle:
            file_keys = set(tomllib.load(handle))
    env_keys = {key.upper() for key in os.environ}
    sources = {}
    for name in type(settings).model_fields:
        if name in overrides:
            sources[name] = "command line"
        elif f"{ENV_PREFIX}{name.upper()}" in env_keys:
            sources[name] = f"env {ENV_PREFIX}{name.upper()}"
        elif name in file_keys:
            sources[name] = f"file {config_file}"
        else:
            sources[name] = "default"
    return sources
