"""The media process: ``python -m dialer.telephony.media --control SOCK --ip IP --ports 20000-20999``.

Runs uvloop and nothing but media. SIGTERM or SIGINT finishes every WAV (sizes patched, file
closed), closes every socket and removes the control socket; SIGKILL leaves each WAV valid up to
its last one-second flush.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
from collections.abc import Sequence

from .control import ControlServer
from .ports import PortPool
from .service import MediaService

log = logging.getLogger("dialer.telephony.media")


def _port_range(text: str) -> tuple[int, int]:
    try:
        first_text, last_text = text.split("-", 1)
        first, last = int(first_text), int(last_text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("FIRST-LAST, e.g. 20000-20999") from exc
    if not 1024 <= first < last <= 65535:
        raise argparse.ArgumentTypeError("need 1024 <= FIRST < LAST <= 65535")
    return first, last


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError("an IPv4 or IPv6 address") from exc


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dialer-sip-media", description="RTP relay, recorder and prompt player.")
    parser.add_argument("--control", required=True, help="path of the control Unix socket to create")
    parser.add_argument("--ip", type=_ip, required=True, help="address the RTP sockets bind to")
    parser.add_argument("--advertise-ip", type=_ip, default=None,
                        help="address given to the B2BUA for SDP (default: --ip)")
    parser.add_argument("--ports", type=_port_range, default=(20000, 20999), help="RTP port range FIRST-LAST")
    parser.add_argument("--rtp-timeout", type=float, default=30.0,
                        help="seconds of silence on a bridged leg before an rtp_timeout event (default 30)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGTERM/SIGINT, then finish every call cleanly."""
    first, last = args.ports
    media = MediaService(ports=PortPool(args.ip, first, last), advertised_ip=args.advertise_ip or args.ip,
                         rtp_timeout_s=args.rtp_timeout)
    control = ControlServer(media, args.control)
    media.emit = control.broadcast
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    media.start()
    await control.start()
    log.info("media process ready: control %s, RTP %s ports %d-%d", args.control, args.ip, first, last)
    try:
        await stopping.wait()
    finally:
        media.close()
        await control.close()
        log.info("media process stopped")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (``dialer sip-media`` calls this with its arguments)."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        log.warning("uvloop is not installed: the standard loop is about three times slower per packet")
        run = asyncio.run
    else:
        run = uvloop.run
    try:
        run(serve(args))
    except (RuntimeError, OSError) as exc:
        log.error("media process cannot start: %s", exc)
        return 1
    return 0
