"""Settings: environment variables (``SHANCHENG_*``) over an optional ``shancheng.toml``.

The defaults keep ``shancheng demo`` server-free: data in ``./data``, an SQLite file there,
no MQTT broker needed. Pass one :class:`Settings` to the CLI and the API; nothing reads the
environment behind their back.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

TOML_FILE = "shancheng.toml"


class Settings(BaseSettings):
    """Where shancheng keeps its data and which services it talks to.

    Attributes
    ----------
    data_dir
        Folder holding cities (``<data_dir>/<city>``) and the embedded database.
    database_url
        SQLAlchemy URL; default an SQLite file in ``data_dir``.
    mqtt_url
        Broker for lifeline telemetry, ``mqtt://host:port``.
    mqtt_share_group
        The MQTT 5 shared subscription ``shancheng lifelines ingest`` joins, so several
        ingesters split the messages (empty: a plain subscription). Every ingester of one
        deployment uses the same group; two deployments on one broker use two groups.
    city
        Name of the city folder under ``data_dir`` to work on (``demo`` by default).
    walk_speed_km_h
        Flat-ground walking speed of the default profile.
    api_host, api_port
        Where ``shancheng serve`` listens.
    cases_token_ttl_h
        Hours a login token stays valid.
    cases_rate_per_min, cases_rate_burst
        Reports a client (API key, user or address) may send per minute, and in one burst;
        ``cases_rate_per_min = 0`` switches the limit off.
    cases_rate_redis_url
        Redis holding the rate-limit buckets (``redis://127.0.0.1:6379/0``), shared by every
        server worker; unset: each worker keeps its own buckets in memory (no server needed).
    cases_duplicate_radius_m, cases_duplicate_window_h
        A report this close to an open case of its category, reported within this many
        hours, is linked to that case instead of opening a new one (0 m: never).
    cases_max_photo_bytes
        Largest photo accepted.
    api_max_body_bytes
        Largest request body of a route that takes no photos (JSON, forms); a larger one is
        refused with 413 before it is read. Routes that take photos allow their photos
        (``cases_max_photo_bytes`` each, base64 in JSON) plus this much.
    cases_anonymous_photo_bytes_per_day
        Photo bytes an anonymous client (one address) may store in 24 hours.
    cases_holidays_file
        A holiday table (TOML, the shape of the packaged ``cases/holidays_cn.toml``) that
        replaces the packaged public holidays and make-up days of the working calendar; unset:
        the packaged table (2025 and 2026).
    open311_jurisdiction_id
        The ``jurisdiction_id`` Open311 clients may send (any other is a 404).
    cases_classifier_warmup
        Train the category classifier when the server starts (in the background) rather than
        on the first request that needs it.
    cases_async_intake
        Store Open311 reports from the event loop on PostgreSQL (psycopg's asynchronous
        pool) instead of a session in a worker thread; off only to compare the two.
    serve_mqtt
        ``shancheng serve`` also runs the lifelines MQTT ingester (on ``mqtt_url``) in the server
        process, so readings from the broker raise alarms that ``/stream/lifelines`` shows live.
    web_dist
        Folder of the built dashboard (``index.html`` and assets) served at ``/ui/``.
    """

    model_config = SettingsConfigDict(env_prefix="SHANCHENG_", toml_file=TOML_FILE, extra="forbid")

    data_dir: Path = Path("data")
    database_url: str | None = None
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_share_group: str = Field(default="shancheng", max_length=64, pattern=r"^[^/+#]*$")
    city: str = "demo"
    walk_speed_km_h: float = Field(default=5.0, gt=0, le=20)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8311, ge=1, le=65535)
    cases_token_ttl_h: float = Field(default=8.0, gt=0, le=24 * 30)
    cases_rate_per_min: float = Field(default=60.0, ge=0)
    cases_rate_burst: int = Field(default=20, ge=1)
    cases_rate_redis_url: str | None = None
    cases_duplicate_radius_m: float = Field(default=50.0, ge=0, le=1000)
    cases_duplicate_window_h: float = Field(default=72.0, ge=0)
    cases_max_photo_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    api_max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    cases_anonymous_photo_bytes_per_day: int = Field(default=20 * 1024 * 1024, ge=0)
    cases_holidays_file: Path | None = None
    open311_jurisdiction_id: str = "shancheng.demo"
    cases_classifier_warmup: bool = True
    cases_async_intake: bool = True
    serve_mqtt: bool = False
    web_dist: Path = Path("web/dist")

    @field_validator("city")
    @classmethod
    def _city_is_a_folder_name(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value.startswith("."):
            msg = f"must be a plain folder name such as 'demo', got {value!r}"
            raise ValueError(msg)
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if not value.startswith(("mqtt://", "mqtts://")):
            msg = f"must start with mqtt:// or mqtts://, got {value!r}"
            raise ValueError(msg)
        return value

    @property
    def city_dir(self) -> Path:
        """Folder of the current city."""
        return self.data_dir / self.city

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'shancheng.sqlite'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - not used
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - not used
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then the environment, then ``shancheng.toml``."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))
