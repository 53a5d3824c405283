"""The SIP carrier's settings in one value, read once from ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dialer.kit.secrets import load_or_create_secret
from dialer.settings import Settings
from dialer.telephony.sip.numbers import NumberFormat
from dialer.telephony.sip.timers import TimerConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class SipConfig:
    domain: str
    b2bua_host: str
    b2bua_port: int
    edge_host: str
    edge_port: int
    trunk_host: str | None
    trunk_port: int
    trunk_username: str | None
    trunk_password: str | None
    trunk_realm: str | None
    number_format: NumberFormat
    caller_id: str | None
    media_ip: str
    rtp_port_min: int
    rtp_port_max: int
    media_processes: int
    callback_secret: str
    run_dir: Path  # the media processes' control sockets
    recordings_dir: Path
    prompts_dir: Path
    account: str = "sip"
    seats_direct: tuple[str, int] | None = None
    """Send seats' legs here instead of the edge (tests without Kamailio)."""
    trunk_direct: bool = False
    """Send the trunk's legs straight to the trunk instead of through the edge (tests without Kamailio)."""
    timers: TimerConfig = TimerConfig()
    """RFC 3261's timer values (T1 = 500 ms, so Timer B is 32 s); tests shorten T1."""

    @property
    def trunk_next_hop(self) -> tuple[str, int]:
        if self.trunk_direct and self.trunk_host:
            return (self.trunk_host, self.trunk_port)
        return (self.edge_host, self.edge_port)

    @property
    def seat_next_hop(self) -> tuple[str, int]:
        return self.seats_direct or (self.edge_host, self.edge_port)


def callback_secret(settings: Settings) -> str:
    """What signs the SIP carrier's callbacks (and what the webhooks check them with)."""
    if settings.sip_callback_secret is not None:
        return settings.sip_callback_secret.get_secret_value()
    return load_or_create_secret(settings.data_dir / "sip_callback_secret")


def run_dir(settings: Settings) -> Path:
    """Where the media processes' control sockets are (absolute: they may run from elsewhere)."""
    return settings.data_dir.resolve() / "sip-run"


def recordings_dir(settings: Settings) -> Path:
    """Where the media processes write the calls' WAVs."""
    return settings.data_dir.resolve() / "sip-recordings"


def sip_config(settings: Settings) -> SipConfig:
    data = settings.data_dir.resolve()
    return SipConfig(
        domain=settings.sip_domain, b2bua_host=settings.sip_b2bua_host, b2bua_port=settings.sip_b2bua_port,
        edge_host=settings.sip_edge_host, edge_port=settings.sip_edge_port, trunk_host=settings.sip_trunk_host,
        trunk_port=settings.sip_trunk_port, trunk_username=settings.sip_trunk_username,
        trunk_password=settings.sip_trunk_password.get_secret_value() if settings.sip_trunk_password else None,
        trunk_realm=settings.sip_trunk_realm, number_format=settings.sip_number_format,
        caller_id=settings.sip_caller_id, media_ip=settings.sip_media_ip, rtp_port_min=settings.sip_rtp_port_min,
        rtp_port_max=settings.sip_rtp_port_max, media_processes=settings.sip_media_processes,
        callback_secret=callback_secret(settings), run_dir=run_dir(settings), recordings_dir=recordings_dir(settings),
        prompts_dir=data / "sip-prompts",
    )
