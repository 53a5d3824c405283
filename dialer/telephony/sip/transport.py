"""SIP over UDP (RFC 3261 §18) on an asyncio datagram endpoint.

Incoming datagrams are parsed and handed to one receiver with their source address; the top Via
of an incoming request gets ``received``/``rport`` (§18.2.1, RFC 3581) so its responses find the
way back (§18.2.2). What does not parse is dropped, except a request whose start line and
transaction headers are readable: that one is answered 400 with the parse error as the reason."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any, Protocol, cast

from .message import Request, Response, SipParseError, make_response, parse

log = logging.getLogger(__name__)

Address = tuple[str, int]
Message = Request | Response
Receiver = Callable[[Message, Address], None]

DEFAULT_PORT = 5060
_TRANSACTION_HEADERS = re.compile(rb"^(via|v|from|f|to|t|call-id|i|cseq)\s*:", re.IGNORECASE)


class SipTransport(Protocol):
    """What the transaction layer needs from a transport."""

    @property
    def local_address(self) -> Address: ...

    def send(self, message: Message | bytes, address: Address | None = None) -> None:
        """Send one message; a response without an address goes where its top Via says."""
        ...

    def set_receiver(self, receiver: Receiver) -> None: ...


def response_address(response: Response) -> Address:
    """Where a response goes over UDP (§18.2.2 with RFC 3581): the top Via's ``received`` (else
    its sent-by host) and its ``rport`` value (else the sent-by port, else 5060)."""
    via = response.top_via
    host = via.params.get("received") or via.host
    rport = via.params.get("rport")
    port = int(rport) if rport else (via.port or DEFAULT_PORT)
    return host, port


def stamp_received(request: Request, source: Address) -> None:
    """Record on the top Via where the request really came from (§18.2.1, RFC 3581 §4)."""
    via = request.top_via
    host, port = source
    if "rport" in via.params:
        via.params["rport"] = str(port)
        via.params["received"] = host
    elif via.host != host:
        via.params["received"] = host
    else:
        return
    request.headers.remove_first("Via")
    request.headers.prepend("Via", via.encode())


def bad_request_answer(data: bytes, error: SipParseError) -> Request | None:
    """The request to answer 400 to, rebuilt from the start line and the transaction headers
    alone, or None when even those do not parse (or the datagram is a response)."""
    head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    lines = head.split(b"\n")
    if not lines or not lines[0].rstrip().endswith(b"SIP/2.0"):
        return None
    kept = [lines[0].rstrip()] + [line.rstrip() for line in lines[1:] if _TRANSACTION_HEADERS.match(line)]
    try:
        message = parse(b"\r\n".join(kept) + b"\r\nContent-Length: 0\r\n\r\n")
    except (SipParseError, ValueError):
        return None
    return message if isinstance(message, Request) and message.method != "ACK" else None


class UdpTransport(asyncio.DatagramProtocol):
    """A bound UDP socket speaking SIP. Build it with ``await UdpTransport.bind(host, port)``."""

    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._receiver: Receiver | None = None
        self._local: Address = ("0.0.0.0", 0)

    @classmethod
    async def bind(cls, host: str = "127.0.0.1", port: int = 0) -> UdpTransport:
        """Listen on ``host:port`` (port 0: any free port; read it from ``local_address``)."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(cls, local_addr=(host, port))
        return protocol

    @property
    def local_address(self) -> Address:
        return self._local

    def set_receiver(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def send(self, message: Message | bytes, address: Address | None = None) -> None:
        """Send a message (or raw bytes). Raises ``OSError`` when the socket refuses at once."""
        if self._transport is None or self._transport.is_closing():
            raise OSError("the SIP transport is closed")
        if address is None:
            if not isinstance(message, Response):
                raise ValueError("only a response can be sent without an address")
            address = response_address(message)
        data = message if isinstance(message, bytes) else message.encode()
        self._transport.sendto(data, address)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # asyncio.DatagramProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # selector transports do not subclass it
        host, port = transport.get_extra_info("sockname")[:2]
        self._local = (host, port)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        source = (str(addr[0]), int(addr[1]))
        if not data.strip():
            return  # keep-alive (RFC 5626 §3.5.1 CRLF)
        try:
            message = parse(data)
        except (SipParseError, ValueError) as error:
            self._reject(data, source, error)
            return
        if isinstance(message, Request):
            try:
                stamp_received(message, source)
            except (SipParseError, ValueError) as error:
                log.debug("SIP request from %s:%s with an unreadable Via dropped: %s", *source, error)
                return
        if self._receiver is not None:
            self._receiver(message, source)

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP UDP socket error: %s", exc)

    def _reject(self, data: bytes, source: Address, error: Exception) -> None:
        parse_error = error if isinstance(error, SipParseError) else SipParseError(str(error))
        request = bad_request_answer(data, parse_error)
        if request is None:
            log.debug("unparseable SIP datagram from %s:%s dropped: %s", *source, error)
            return
        log.debug("malformed SIP request from %s:%s answered 400: %s", *source, error)
        reason = " ".join(str(error).split())[:120] or "Bad Request"
        try:
            stamp_received(request, source)
            self.send(make_response(request, 400, reason))
        except (OSError, ValueError) as send_error:
            log.debug("could not answer the malformed request: %s", send_error)
