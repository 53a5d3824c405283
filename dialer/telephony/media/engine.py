"""``MediaEngine``: what the B2BUA asks of a media process, and ``MediaClient``, its implementation
over the process's control socket (the wire protocol is in the package docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Codec = Literal["PCMA", "PCMU"]
LegName = Literal["agent", "party"]


class MediaError(Exception):
    """A command the media process refused; ``code`` is the stable error code."""

    def __init__(self, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.field = field


class MediaUnavailable(MediaError):
    """The media process cannot be reached (not running, or the connection was lost mid-request)."""

    def __init__(self, detail: str) -> None:
        super().__init__("media_unavailable", detail)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a leg's RTP socket listens (goes into our SDP)."""

    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class Recording:
    """A finished call recording."""

    path: str
    bytes: int
    duration_s: float
    sha256: str


@dataclass(frozen=True, slots=True)
class StopResult:
    recording: Recording | None
    packets: dict[str, int]  # agent_in, party_in, agent_out, party_out


@dataclass(frozen=True, slots=True)
class LegState:
    name: str
    port: int
    remote: tuple[str, int] | None
    destination: tuple[str, int] | None
    latched: bool
    packets_in: int
    packets_out: int
    idle_s: float
    playing: bool


@dataclass(frozen=True, slots=True)
class CallState:
    """A live call as ``query`` reports it."""

    call: str
    bridged: bool
    recording_path: str | None
    legs: dict[str, LegState]


@dataclass(frozen=True, slots=True)
class MediaEvent:
    """An unsolicited event: ``kind`` is played, latched, rtp_timeout or record_failed."""

    kind: str
    call: str
    leg: str | None
    data: dict[str, Any]


EventListener = Callable[[MediaEvent], None]


class EventStream:
    """Events from the moment ``events()`` was called (not from the first ``anext``), so nothing
    emitted in between is missed; ends when the connection ends or on ``close``."""

    def __init__(self, streams: set[EventStream]) -> None:
        self._streams = streams
        self._queue: asyncio.Queue[MediaEvent | None] = asyncio.Queue()
        streams.add(self)

    def put(self, event: MediaEvent | None) -> None:
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._streams.discard(self)
        self._queue.put_nowait(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> MediaEvent:
        event = await self._queue.get()
        if event is None:
            self._streams.discard(self)
            raise StopAsyncIteration
        return event


class MediaEngine(Protocol):
    """A media process as the B2BUA sees it. Every method raises ``MediaError`` (with the code)
    when refused and ``MediaUnavailable`` when the process cannot be reached."""

    async def allocate(self, call: str, leg: LegName) -> Endpoint:
        """An RTP port for the leg (the same again if it has one)."""
        ...

    async def set_remote(self, call: str, leg: LegName, *, ip: str, port: int, codec: Codec, pt: int,
                         te_pt: int | None) -> None:
        """The leg's far end from its SDP; the first packet received re-points it (symmetric RTP)."""
        ...

    async def play(self, call: str, leg: LegName, path: str) -> float:
        """Play an 8 kHz mono 16-bit WAV to that leg only; returns its duration in seconds. A
        ``played`` event follows when it ends."""
        ...

    async def stop_play(self, call: str, leg: LegName) -> bool:
        """Stop the leg's prompt; whether one was playing."""
        ...

    async def bridge(self, call: str) -> None:
        """Relay agent ↔ party, untouched; prompts stop."""
        ...

    async def record(self, call: str, path: str) -> None:
        """Start the call's two-channel WAV (agent, party), flushed every second."""
        ...

    async def stop(self, call: str) -> StopResult:
        """End the call: sockets closed, WAV finished and checksummed."""
        ...

    async def query(self) -> list[CallState]:
        """Every live call (reconciliation after a B2BUA restart)."""
        ...

    def events(self) -> AsyncIterator[MediaEvent]:
        """The process's events from now on, as they arrive."""
        ...


class MediaClient:
    """``MediaEngine`` over a media process's Unix control socket.

    Requests carry ids; replies resolve the waiting futures, so any number of coroutines may
    call at once. Events go to ``listeners`` and to every ``events()`` iterator. When the
    connection drops, pending and later requests raise ``MediaUnavailable`` until ``reconnect``;
    the media process keeps its calls meanwhile.
    """

    def __init__(self, path: str, *, timeout_s: float = 10.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.listeners: list[EventListener] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._streams: set[EventStream] = set()
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        """Open the connection (raises ``MediaUnavailable``)."""
        try:
            reader, writer = await asyncio.open_unix_connection(self.path, limit=1 << 24)
        except OSError as exc:
            raise MediaUnavailable(f"{self.path}: {exc}") from exc
        self._writer = writer
        self._reader_task = asyncio.create_task(self._read(reader), name=f"media-client {self.path}")

    async def reconnect(self) -> None:
        """Drop the connection (if any) and open a new one."""
        await self.close()
        await self.connect()

    async def close(self) -> None:
        writer, task = self._writer, self._reader_task
        self._writer = self._reader_task = None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_pending("connection closed")

    async def __aenter__(self) -> MediaClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send one command; its reply's fields (raises ``MediaError`` / ``MediaUnavailable``)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise MediaUnavailable(f"not connected to {self.path}")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            writer.write(json.dumps({"id": request_id, "cmd": cmd, **fields}).encode() + b"\n")
            await writer.drain()
            reply = await asyncio.wait_for(future, self.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise MediaUnavailable(f"{cmd}: {type(exc).__name__} {exc}") from exc
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise MediaError(str(reply.get("error")), str(reply.get("detail", "")), reply.get("field"))
        return reply

    # -- MediaEngine --------------------------------------------------------------------------
    async def allocate(self, call: str, leg: LegName) -> Endpoint:
        reply = await self.request("allocate", call=call, leg=leg)
        return Endpoint(ip=reply["ip"], port=reply["port"])

    async def set_remote(self, call: str, leg: LegName, *, ip: str, port: int, codec: Codec, pt: int,
                         te_pt: int | None) -> None:
        await self.request("remote", call=call, leg=leg, ip=ip, port=port, codec=codec, pt=pt, te_pt=te_pt)

    async def play(self, call: str, leg: LegName, path: str) -> float:
        reply = await self.request("play", call=call, leg=leg, path=path)
        return float(reply["duration_s"])

    async def stop_play(self, call: str, leg: LegName) -> bool:
        reply = await self.request("stop_play", call=call, leg=leg)
        return bool(reply["stopped"])

    async def bridge(self, call: str) -> None:
        await self.request("bridge", call=call)

    async def record(self, call: str, path: str) -> None:
        await self.request("record", call=call, path=path)

    async def stop(self, call: str) -> StopResult:
        reply = await self.request("stop", call=call)
        recording = reply.get("recording")
        return StopResult(
            recording=None if recording is None else Recording(
                path=recording["path"], bytes=recording["bytes"], duration_s=recording["duration_s"],
                sha256=recording["sha256"]),
            packets=dict(reply["packets"]),
        )

    async def query(self) -> list[CallState]:
        reply = await self.request("query")
        return [_call_state(item) for item in reply["calls"]]

    async def ping(self) -> int:
        """The media process's pid."""
        return int((await self.request("ping"))["pid"])

    def events(self) -> EventStream:
        return EventStream(self._streams)

    # -- internals ----------------------------------------------------------------------------
    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                message = json.loads(line)
                if "event" in message:
                    self._dispatch(message)
                    continue
                future = self._pending.get(message.get("id"))
                if future is not None and not future.done():
                    future.set_result(message)
        except (OSError, ValueError):
            pass
        finally:
            self._fail_pending("connection to the media process lost")
            for stream in list(self._streams):
                stream.close()
            if self._writer is not None:
                self._writer.close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        event = MediaEvent(kind=str(message["event"]), call=str(message.get("call", "")),
                           leg=message.get("leg"), data=message)
        for listener in list(self.listeners):
            listener(event)
        for stream in list(self._streams):
            stream.put(event)

    def _fail_pending(self, detail: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(MediaUnavailable(detail))
        self._pending.clear()


def _call_state(item: dict[str, Any]) -> CallState:
    legs = {
        name: LegState(
            name=name, port=leg["port"],
            remote=None if leg["remote"] is None else (leg["remote"][0], leg["remote"][1]),
            destination=None if leg["destination"] is None else (leg["destination"][0], leg["destination"][1]),
            latched=leg["latched"], packets_in=leg["packets_in"], packets_out=leg["packets_out"],
            idle_s=leg["idle_s"], playing=leg["playing"])
        for name, leg in item["legs"].items()
    }
    recording = item.get("recording")
    return CallState(call=item["call"], bridged=item["bridged"],
                     recording_path=None if recording is None else recording["path"], legs=legs)
