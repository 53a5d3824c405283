"""MediaClient against a scripted control socket: ids, errors, events, a lost connection."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from dialer.telephony.media import MediaClient, MediaError, MediaEvent, MediaUnavailable
from dialer.telephony.media.ports import NoFreePort, PortPool

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable[[Script], Awaitable[str]]]:
    servers: list[asyncio.AbstractServer] = []

    async def start(script: Script) -> str:
        path = str(tmp_path / f"s{len(servers)}.sock")
        servers.append(await asyncio.start_unix_server(script, path))
        return path

    yield start
    for server in servers:
        server.close()


async def test_given_replies_out_of_order_then_each_resolves_its_own_request(serve: Callable[[Script], Awaitable[str]]
                                                                             ) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first, second = json.loads(await reader.readline()), json.loads(await reader.readline())
        writer.write(json.dumps({"event": "latched", "call": "c1", "leg": "agent", "ip": "1.2.3.4", "port": 5}).encode()
                     + b"\n")
        writer.write(json.dumps({"id": second["id"], "ok": False, "error": "unknown_call", "detail": "no call",
                                 "field": "call"}).encode() + b"\n")
        writer.write(json.dumps({"id": first["id"], "ok": True, "ip": "127.0.0.1", "port": 20000}).encode() + b"\n")
        await writer.drain()
        await reader.read()

    client = MediaClient(await serve(script))
    events: list[MediaEvent] = []
    client.listeners.append(events.append)
    await client.connect()
    allocated, stopped = await asyncio.gather(client.allocate("c1", "agent"), client.stop("c2"),
                                              return_exceptions=True)
    await client.close()

    assert (allocated.ip, allocated.port) == ("127.0.0.1", 20000)  # type: ignore[union-attr]
    assert isinstance(stopped, MediaError) and (stopped.code, stopped.field) == ("unknown_call", "call")
    assert [(e.kind, e.call, e.leg, e.data["ip"]) for e in events] == [("latched", "c1", "agent", "1.2.3.4")]


async def test_given_the_connection_drops_mid_request_then_media_unavailable_until_reconnect(
        serve: Callable[[Script], Awaitable[str]]) -> None:
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        request = json.loads(await reader.readline())
        if connections == 1:
            writer.close()  # the media process went away before answering
            return
        writer.write(json.dumps({"id": request["id"], "ok": True, "pid": 42}).encode() + b"\n")
        await writer.drain()
        await reader.read()

    client = MediaClient(await serve(script))
    await client.connect()
    with pytest.raises(MediaUnavailable):
        await client.ping()
    with pytest.raises(MediaUnavailable):
        await client.ping()
    await client.reconnect()
    assert await client.ping() == 42
    await client.close()


async def test_given_no_process_then_connect_raises_media_unavailable(tmp_path: Path) -> None:
    with pytest.raises(MediaUnavailable) as missing:
        await MediaClient(str(tmp_path / "absent.sock")).connect()
    assert missing.value.code == "media_unavailable"


def test_given_a_port_held_elsewhere_then_the_pool_skips_it_and_runs_out_cleanly() -> None:
    base = random.randrange(40000, 59000, 2)
    probe = PortPool("127.0.0.1", base, base + 59)
    port, rtp, rtcp = probe.take()  # another process, as far as the second pool is concerned
    try:
        pool = PortPool("127.0.0.1", port, port + 3)
        taken, second_rtp, second_rtcp = pool.take()
        assert taken == port + 2 and taken % 2 == 0
        with pytest.raises(NoFreePort):
            pool.take()
        second_rtp.close()
        second_rtcp.close()
        pool.give(taken)
        assert pool.free == 2
    finally:
        rtp.close()
        rtcp.close()
