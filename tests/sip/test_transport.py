"""SIP over UDP on loopback: where requests really came from (received/rport), where responses go
(§18.2.2), and what happens to datagrams that do not parse."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest

from dialer.telephony.sip.message import Headers, Request, Response, make_response, parse
from dialer.telephony.sip.transport import Address, Message, UdpTransport, response_address

HOST = "127.0.0.1"


@pytest.fixture
async def transport() -> AsyncIterator[UdpTransport]:
    bound = await UdpTransport.bind(HOST, 0)
    yield bound
    bound.close()


@pytest.fixture
def peer() -> socket.socket:
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind((HOST, 0))
    raw.settimeout(5)
    return raw


def receiving(transport: UdpTransport) -> asyncio.Queue[tuple[Message, Address]]:
    queue: asyncio.Queue[tuple[Message, Address]] = asyncio.Queue()
    transport.set_receiver(lambda message, source: queue.put_nowait((message, source)))
    return queue


async def recv(raw: socket.socket) -> bytes:
    data: bytes = await asyncio.get_running_loop().run_in_executor(None, raw.recv, 65535)
    return data


def options(via: str) -> bytes:
    return (f"OPTIONS sip:dialer@{HOST} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n"
            "From: <sip:probe@example.com>;tag=p1\r\nTo: <sip:dialer@example.com>\r\n"
            "Call-ID: probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


async def test_given_port_zero_then_the_transport_is_bound_to_a_free_port(transport: UdpTransport) -> None:
    host, port = transport.local_address
    assert host == HOST and port > 0


async def test_given_a_request_asking_for_rport_then_received_and_rport_record_its_source(
        transport: UdpTransport, peer: socket.socket) -> None:
    queue = receiving(transport)
    peer.sendto(options("SIP/2.0/UDP 10.9.9.9:5060;rport;branch=z9hG4bKa"), transport.local_address)

    message, source = await asyncio.wait_for(queue.get(), 5)

    assert source == peer.getsockname()
    assert isinstance(message, Request)
    via = message.top_via
    assert via.received == HOST and via.rport == source[1]
    assert response_address(make_response(message, 200)) == source


async def test_given_a_via_naming_another_host_then_received_is_added_without_rport(
        transport: UdpTransport, peer: socket.socket) -> None:
    queue = receiving(transport)
    peer.sendto(options("SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bKb"), transport.local_address)

    message, _ = await asyncio.wait_for(queue.get(), 5)

    assert isinstance(message, Request)
    assert message.top_via.received == HOST and "rport" not in message.top_via.params
    assert response_address(make_response(message, 200)) == (HOST, 5070)


async def test_given_a_response_without_an_address_then_it_goes_where_its_via_says(
        transport: UdpTransport, peer: socket.socket) -> None:
    host, port = peer.getsockname()
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP 10.9.9.9;received={host};rport={port};branch=z9hG4bKc")
    headers.add("From", "<sip:a@example.com>;tag=a")
    headers.add("To", "<sip:b@example.com>;tag=b")
    headers.add("Call-ID", "c-1")
    headers.add("CSeq", "1 OPTIONS")
    transport.send(Response(200, "OK", headers))

    answer = parse(await recv(peer))
    assert isinstance(answer, Response) and answer.status == 200


async def test_given_a_request_that_parses_enough_to_answer_then_it_gets_a_400_with_the_parse_error(
        transport: UdpTransport, peer: socket.socket) -> None:
    queue = receiving(transport)
    bad = options("SIP/2.0/UDP 10.9.9.9:5060;rport;branch=z9hG4bKd").replace(
        b"Max-Forwards: 70", b"Max-Forwards: 70\r\nContact: <sip:broken")
    peer.sendto(bad, transport.local_address)

    answer = parse(await recv(peer))

    assert isinstance(answer, Response) and answer.status == 400
    assert "Contact" in answer.reason
    assert answer.call_id == "probe-1" and answer.to.tag is None
    assert queue.empty()


async def test_given_garbage_then_it_is_dropped_with_a_debug_line(
        transport: UdpTransport, peer: socket.socket, caplog: pytest.LogCaptureFixture) -> None:
    queue = receiving(transport)
    caplog.set_level(logging.DEBUG, logger="dialer.telephony.sip.transport")
    peer.sendto(b"\x00\x01 not sip at all\r\n\r\n", transport.local_address)
    peer.sendto(options("SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKe"), transport.local_address)

    message, _ = await asyncio.wait_for(queue.get(), 5)  # the good one after the garbage

    assert isinstance(message, Request) and message.top_via.branch == "z9hG4bKe"
    assert any("dropped" in record.getMessage() for record in caplog.records)
    assert queue.empty()


async def test_given_raw_bytes_and_an_address_then_they_are_sent_as_they_are(
        transport: UdpTransport, peer: socket.socket) -> None:
    transport.send(b"\r\n\r\n", peer.getsockname())
    assert await recv(peer) == b"\r\n\r\n"


async def test_given_a_closed_transport_then_sending_raises_oserror(transport: UdpTransport) -> None:
    transport.close()
    await asyncio.sleep(0)
    with pytest.raises(OSError):
        transport.send(b"x", (HOST, 9))
