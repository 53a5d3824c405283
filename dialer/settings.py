"""Settings from the environment (prefix ``DIALER_``) and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialer.kit.zones import AGENCY_ZONE, check_zone

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIALER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./dialer.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file or postgresql+asyncpg://...",
    )
    data_dir: Path = Field(default=Path("./.dialer"), description="Local state: secret key file, recordings.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs bearer tokens. When unset, a random key is generated once into data_dir/secret_key.",
    )
    token_ttl_minutes: int = Field(default=12 * 60, ge=1, le=7 * 24 * 60)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="URL the carrier reaches us at.")
    migrations_dir: Path = Field(default=REPO_ROOT / "alembic")
    auto_migrate: bool = Field(default=True, description="Apply migrations when the service starts.")
    run_scheduler: bool = Field(
        default=True, description="Run the scheduled jobs in this process (off when `dialer worker` runs them)."
    )
    twilio_account_sid: str | None = Field(default=None, description="Twilio account (or the emulator's); unset: no carrier")
    twilio_auth_token: SecretStr | None = Field(default=None, description="Signs Twilio's webhooks; authenticates REST")
    twilio_api_key: str | None = Field(default=None, description="API key SID (alternative to the auth token for REST)")
    twilio_api_secret: SecretStr | None = None
    twilio_api_base_url: str = Field(default="https://api.twilio.com", description="Twilio, or the local emulator's URL")
    twilio_caller_id: str | None = Field(default=None, description="The agency's number calls come from (E.164)")
    twilio_calls_per_second: float = Field(default=1.0, gt=0, le=100)
    twilio_max_concurrent_requests: int = Field(default=10, ge=1, le=200)
    twilio_request_timeout_s: float = Field(default=10.0, gt=0, le=60)
    run_dialer: bool = Field(default=True, description="Run the progressive engine (when a carrier is configured).")
    recording_capture_every_s: float = Field(default=30.0, gt=0, le=3600,
                                             description="How often finished recordings are fetched into storage.")
    default_time_zone: str = Field(
        default=AGENCY_ZONE, description="The zone the daily statistics count a day in unless the request names one.")
    company_name: str = Field(default="催收服务公司", description="The agency's own name, stated on every call.")
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("database_url must be sqlite+aiosqlite:///… or postgresql+asyncpg://…")
        return value

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)
