"""The SIP path's commands (registered on the `dialer` command line by ``dialer.cli``):

* ``dialer sip-edge``: Kamailio, the SIP edge, in the foreground;
* ``dialer sip-media [--index N]``: one media process (run one per core);
* ``dialer sip-up``: everything on one machine — the edge, the media processes and the service
  with ``DIALER_CARRIER=sip`` (the B2BUA runs in the service);
* ``dialer seat-sip-password SEAT``: set, rotate or generate a seat's SIP password.
"""

from __future__ import annotations

import asyncio
import getpass
import subprocess
import sys
import time
from typing import Annotated

import typer

from dialer.settings import Settings

MEDIA_READY_S = 10.0


def media_ports(settings: Settings, index: int) -> tuple[int, int]:
    """Process ``index``'s share of the RTP range (an even-sized slice each)."""
    count = settings.sip_media_processes
    if not 0 <= index < count:
        raise typer.BadParameter(f"--index must be within 0..{count - 1} (DIALER_SIP_MEDIA_PROCESSES={count})")
    size = (settings.sip_rtp_port_max - settings.sip_rtp_port_min + 1) // count
    size -= size % 2
    if size < 4:
        raise typer.BadParameter(f"the RTP range {settings.sip_rtp_port_min}-{settings.sip_rtp_port_max} is too "
                                 f"small for {count} media processes")
    first = settings.sip_rtp_port_min + index * size
    first += first % 2
    return first, first + size - 1


def media_command(settings: Settings, index: int) -> list[str]:
    from dialer.telephony.sip.config import run_dir
    from dialer.telephony.sip.media_link import socket_path

    sockets = run_dir(settings)
    sockets.mkdir(parents=True, exist_ok=True)
    first, last = media_ports(settings, index)
    return [sys.executable, "-m", "dialer.telephony.media", "--control", str(socket_path(sockets, index)),
            "--ip", settings.sip_media_ip, "--ports", f"{first}-{last}", "--log-level", settings.log_level.upper()]


def register(app: typer.Typer, *, settings: type[Settings] = Settings) -> None:
    @app.command("sip-edge")
    def sip_edge() -> None:
        """Run the SIP edge (Kamailio: registrar for the seats' softphones, routing to the B2BUA and
        the trunk) in the foreground, with the config rendered from the settings."""
        from dialer.telephony.sip.edge.process import run_edge

        raise typer.Exit(run_edge(settings()))

    @app.command("sip-media")
    def sip_media(
        index: Annotated[int, typer.Option(min=0, help="Which media process (0..DIALER_SIP_MEDIA_PROCESSES-1): "
                                                       "its control socket and its share of the RTP ports")] = 0,
    ) -> None:
        """Run one media process (RTP relay, two-channel recorder, prompt player); one per core."""
        from dialer.telephony.media.process import main as media_main

        raise typer.Exit(media_main(media_command(settings(), index)[3:]))

    @app.command("sip-up")
    def sip_up(
        host: Annotated[str | None, typer.Option(help="Bind address of the service (default DIALER_HOST)")] = None,
        port: Annotated[int | None, typer.Option(help="Port of the service (default DIALER_PORT)")] = None,
    ) -> None:
        """The SIP path on one machine: Kamailio, the media processes and the service (with the B2BUA),
        until Ctrl+C. Seats' softphones register to the edge (DIALER_SIP_EDGE_HOST:PORT) with the
        password set by `dialer seat-sip-password`."""
        import uvicorn

        from dialer.app import create_app
        from dialer.kit.migrations import upgrade_database
        from dialer.telephony.sip.config import run_dir
        from dialer.telephony.sip.edge.process import start_kamailio
        from dialer.telephony.sip.media_link import socket_path

        config = settings().model_copy(update={"carrier": "sip"})
        if config.auto_migrate:  # the edge reads the seats' credentials from the migrated database
            asyncio.run(upgrade_database(config.database_url, config.migrations_dir))
        edge = start_kamailio(config, config.data_dir / "sip-edge")
        media = [subprocess.Popen(media_command(config, i)) for i in range(config.sip_media_processes)]
        try:
            deadline = time.monotonic() + MEDIA_READY_S
            sockets = [socket_path(run_dir(config), i) for i in range(len(media))]
            while not all(path.exists() for path in sockets):
                if time.monotonic() > deadline or any(p.poll() is not None for p in media):
                    raise typer.Exit(_media_failed(media))
                time.sleep(0.05)
            typer.echo(f"SIP edge on udp:{edge.host}:{edge.port} (domain {config.sip_domain}), "
                       f"{len(media)} media process(es), B2BUA on udp:{config.sip_b2bua_host}:{config.sip_b2bua_port}")
            uvicorn.run(create_app(config), host=host or config.host, port=port or config.port,
                        log_level=config.log_level.lower())
        finally:
            for process in media:
                process.terminate()
            for process in media:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            edge.stop()

    @app.command("seat-sip-password")
    def seat_sip_password(
        seat: Annotated[str, typer.Argument(help="The seat's code")],
        generate: Annotated[bool, typer.Option("--generate", help="Generate a strong password and print it once")] = False,
    ) -> None:
        """Set or rotate a SIP seat's password (asked for twice), or generate one. Only its HA1
        digests are stored; the edge reads them from the database at once."""
        from dialer.cli import _run
        from dialer.seats.cli import set_seat_sip_password

        password = None
        if not generate:
            password = getpass.getpass("SIP password: ")
            if password != getpass.getpass("again: "):
                typer.echo("error: the two passwords differ", err=True)
                raise typer.Exit(2)
        _run(set_seat_sip_password(settings(), seat, password=password, generate=generate, out=typer.echo))


def _media_failed(media: list[subprocess.Popen[bytes]]) -> int:
    codes = [p.poll() for p in media]
    typer.echo(f"error: the media processes did not come up (exit codes {codes})", err=True)
    return 1

