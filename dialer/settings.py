"""Settings from the environment (prefix ``DIALER_``) and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
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
    login_max_failures_per_user: int = Field(
        default=5, ge=3, le=100,
        description="Failed logins for one username within 15 minutes that lock it (5 min, doubling at each lockout)")
    login_max_failures_per_source: int = Field(
        default=20, ge=3, le=10_000,
        description="Failed logins from one address within 15 minutes that lock it; an office behind one address "
                    "holds many agents, so at least the per-user limit")
    board_long_call_s: int = Field(
        default=15 * 60, ge=30, le=24 * 3600, description="The supervisor board flags a call longer than this")
    board_long_wrap_up_s: int = Field(
        default=3 * 60, ge=10, le=24 * 3600, description="The supervisor board flags a wrap-up longer than this")
    board_long_not_ready_s: int = Field(
        default=15 * 60, ge=30, le=24 * 3600, description="The supervisor board flags a not-ready longer than this")
    board_long_idle_s: int = Field(
        default=2 * 60, ge=10, le=24 * 3600,
        description="The supervisor board flags an agent ready this long while a running campaign of their team has "
                    "cases to call (the engine should have dialed for them)")
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
    carrier: Literal["auto", "twilio", "sip"] = Field(
        default="auto", description="auto: Twilio when an account is set, else none; sip: the SIP trunk path")
    # --- SIP (DIALER_CARRIER=sip): the edge (Kamailio), the B2BUA, the trunk, the media processes ---
    sip_domain: str = Field(default="dialer.local", description="The seats' SIP domain and digest realm (Kamailio)")
    sip_edge_host: str = Field(default="127.0.0.1", description="Where Kamailio listens (SIP over UDP)")
    sip_edge_port: int = Field(default=5060, ge=1, le=65535)
    sip_b2bua_host: str = Field(default="127.0.0.1", description="Where the dialer's B2BUA listens (SIP over UDP)")
    sip_b2bua_port: int = Field(default=5070, ge=1, le=65535)
    sip_trunk_host: str | None = Field(default=None, description="The carrier's SIP trunk (host or IP)")
    sip_trunk_port: int = Field(default=5060, ge=1, le=65535)
    sip_trunk_transport: Literal["udp"] = "udp"
    sip_trunk_username: str | None = Field(default=None, description="Digest user the trunk challenges for")
    sip_trunk_password: SecretStr | None = None
    sip_trunk_realm: str | None = Field(default=None, description="Answer only this realm's challenges (unset: any)")
    sip_caller_id: str | None = Field(default=None, description="The agency's number on the trunk (E.164)")
    sip_number_format: Literal["e164", "e164_digits", "national"] = Field(
        default="e164", description="How the trunk wants the called number: +8613…, 8613… or 013…/13…")
    sip_media_ip: str = Field(default="127.0.0.1", description="The media processes' advertised RTP address")
    sip_rtp_port_min: int = Field(default=20000, ge=1024, le=65535)
    sip_rtp_port_max: int = Field(default=29999, ge=1024, le=65535)
    sip_media_processes: int = Field(default=1, ge=1, le=64, description="Media processes (one per core)")
    sip_callback_secret: SecretStr | None = Field(
        default=None, description="Signs the SIP carrier's callbacks to the webhooks; generated into data_dir when unset")
    run_dialer: bool = Field(default=True, description="Run the progressive engine (when a carrier is configured).")
    recording_capture_every_s: float = Field(default=30.0, gt=0, le=3600,
                                             description="How often finished recordings are fetched into storage.")
    recording_storage: Literal["local", "s3"] = Field(
        default="local", description="Where recordings live: data_dir/recordings, or an S3-compatible bucket")
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible server's URL; unset: AWS")
    s3_region: str = "us-east-1"
    s3_bucket: str | None = None
    s3_prefix: str = Field(default="", description="Objects are <prefix>/sha256/<hex>")
    s3_access_key_id: str | None = Field(default=None, description="Unset: credentials from AWS_* / instance role")
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["path", "virtual"] = "path"
    s3_connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    s3_read_timeout_s: float = Field(default=30.0, gt=0, le=600)
    s3_request_timeout_s: float = Field(default=300.0, gt=0, le=3600, description="A whole request, streamed body too")
    s3_max_retries: int = Field(default=3, ge=0, le=10)
    s3_retry_timeout_s: float = Field(default=60.0, gt=0, le=300)
    run_webhooks: bool = Field(default=True, description="Deliver webhooks out (the integrations' events) in this "
                                                         "process; replicas share the work")
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60, description="How long a receiver has to answer")
    webhook_link_ttl_s: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600,
                                    description="How long a recording's link in an event stays valid")
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

    @property
    def caller_id(self) -> str | None:
        """The agency's number on the configured carrier's calls."""
        return self.sip_caller_id if self.carrier == "sip" else self.twilio_caller_id

    @model_validator(mode="after")
    def _s3_bucket_needed(self) -> Settings:
        if self.recording_storage == "s3" and not self.s3_bucket:
            raise ValueError("recording_storage=s3 needs s3_bucket (DIALER_S3_BUCKET)")
        return self

    @model_validator(mode="after")
    def _source_limit_covers_a_user(self) -> Settings:
        if self.login_max_failures_per_source < self.login_max_failures_per_user:
            raise ValueError(
                f"login_max_failures_per_source ({self.login_max_failures_per_source}) must be at least "
                f"login_max_failures_per_user ({self.login_max_failures_per_user}): many users share an address")
        return self

    @field_validator("sip_rtp_port_max")
    @classmethod
    def _port_range(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("sip_rtp_port_min", 20000)
        if value - low < 3:
            raise ValueError(f"sip_rtp_port_max ({value}) must leave at least 4 ports above sip_rtp_port_min ({low})")
        return value

