"""The control socket: newline-delimited JSON over a Unix stream socket (protocol in the package docstring).

Any number of clients may connect; each request gets exactly one reply on the connection it came
on, in order; events go to every connected client. A client that disconnects ends nothing: calls
live until ``stop`` (or the process ends), so a restarted B2BUA reconnects and asks ``query``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import CommandError, bad_request
from .g711 import Codec
from .relay import Remote
from .service import LEGS, MediaService

log = logging.getLogger(__name__)

MAX_LINE = 1 << 20
MAX_CLIENT_BACKLOG = 4 << 20  # bytes of unread events after which a client is dropped

Request = dict[str, Any]
Handler = Callable[[MediaService, Request], Awaitable[dict[str, Any]] | dict[str, Any]]


def _text(request: Request, field: str, *, allowed: tuple[str, ...] | None = None) -> str:
    value = request.get(field)
    if not isinstance(value, str) or not value:
        raise bad_request(field, "required, a non-empty string")
    if allowed is not None and value not in allowed:
        raise bad_request(field, f"one of {', '.join(allowed)}")
    return value


def _port(request: Request, field: str) -> int:
    value = request.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise bad_request(field, "required, an integer 1..65535")
    return value


def _payload_type(request: Request, field: str) -> int:
    value = request.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 127:
        raise bad_request(field, "required, an integer 0..127")
    return value


def _optional_payload_type(request: Request, field: str) -> int | None:
    return None if request.get(field) is None else _payload_type(request, field)


def _remote(request: Request) -> Remote:
    ip = _text(request, "ip")
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError as exc:
        raise bad_request("ip", "an IPv4 or IPv6 address") from exc
    codec = Codec(_text(request, "codec", allowed=tuple(c.value for c in Codec)))
    payload_type = _payload_type(request, "pt")
    event_type = _optional_payload_type(request, "te_pt")
    if event_type == payload_type:
        raise bad_request("te_pt", "must differ from pt")
    return Remote(address=(ip, _port(request, "port")), codec=codec, payload_type=payload_type,
                  event_payload_type=event_type)


def _call(request: Request) -> str:
    return _text(request, "call")


def _leg(request: Request) -> str:
    return _text(request, "leg", allowed=LEGS)


COMMANDS: dict[str, Handler] = {
    "ping": lambda media, r: {"pid": os.getpid()},
    "allocate": lambda media, r: media.allocate(_call(r), _leg(r)),
    "remote": lambda media, r: media.set_remote(_call(r), _leg(r), _remote(r)),
    "play": lambda media, r: media.play(_call(r), _leg(r), _text(r, "path")),
    "stop_play": lambda media, r: media.stop_play(_call(r), _leg(r)),
    "bridge": lambda media, r: media.bridge(_call(r)),
    "record": lambda media, r: media.record(_call(r), _text(r, "path")),
    "stop": lambda media, r: media.stop(_call(r)),
    "query": lambda media, r: media.query(),
}


async def handle(media: MediaService, request: Request) -> dict[str, Any]:
    """One request's reply (never raises for a bad request)."""
    request_id = request.get("id")
    try:
        command = request.get("cmd")
        handler = COMMANDS.get(command) if isinstance(command, str) else None
        if handler is None:
            raise bad_request("cmd", f"one of {', '.join(COMMANDS)}")
        result = handler(media, request)
        if not isinstance(result, dict):
            result = await result
        return {"id": request_id, "ok": True, **result}
    except CommandError as exc:
        return exc.reply(request_id)
    except Exception as exc:  # a bug must not kill the process and its other calls
        log.exception("media command %r failed", request.get("cmd"))
        return {"id": request_id, "ok": False, "error": "internal", "detail": f"{type(exc).__name__}: {exc}"}


class ControlServer:
    """The Unix socket server; ``broadcast`` is the service's ``emit``."""

    def __init__(self, media: MediaService, path: str) -> None:
        self.media = media
        self.path = path
        self._clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen on ``path``; a stale socket file is replaced, a live one (another process) refused."""
        if os.path.exists(self.path):
            try:
                _, writer = await asyncio.open_unix_connection(self.path)
            except OSError:
                os.unlink(self.path)
            else:
                writer.close()
                raise RuntimeError(f"another process is serving the control socket {self.path}")
        self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_LINE)
        os.chmod(self.path, 0o660)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._clients):
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def broadcast(self, event: dict[str, Any]) -> None:
        """Send an event line to every client (a client far behind on reading is dropped)."""
        if not self._clients:
            return
        line = _encode(event)
        for writer in list(self._clients):
            if writer.transport.get_write_buffer_size() > MAX_CLIENT_BACKLOG:
                log.warning("dropping a control client that does not read its events")
                self._clients.discard(writer)
                writer.close()
                continue
            writer.write(line)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(_encode(CommandError("bad_request", f"line longer than {MAX_LINE} bytes").reply(None)))
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                try:
                    request = json.loads(line)
                except ValueError:
                    request = None
                if not isinstance(request, dict):
                    reply: dict[str, Any] = CommandError("bad_request", "a line must be one JSON object").reply(None)
                else:
                    reply = await handle(self.media, request)
                writer.write(_encode(reply))
        except ConnectionError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"
