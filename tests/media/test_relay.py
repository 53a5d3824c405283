"""Legs without a network: latching, forwarding, rewriting, recording hand-off, prompt packets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from dialer.telephony.media.g711 import TRANSCODE, Codec
from dialer.telephony.media.player import Player
from dialer.telephony.media.recorder import Channel
from dialer.telephony.media.relay import Address, Call, Leg, Remote
from dialer.telephony.media.rtp import parse, simple_packet


class _Sender:
    """Stands in for a leg's socket: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Address]] = []

    def sendto(self, data: bytes, address: Address) -> int:
        self.sent.append((data, address))
        return len(data)


@pytest.fixture
def call() -> Iterator[Call]:
    sockets: list[socket.socket] = []
    latches: list[tuple[str, Address]] = []

    def leg(name: str) -> Leg:
        rtp, rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sockets.extend((rtp, rtcp))
        made = Leg("c", name, 0, rtp, rtcp, lambda leg, source: latches.append((leg.name, source)))
        made.sender.close()
        made.sender = _Sender()  # type: ignore[assignment]
        return made

    made = Call("c")
    made.legs = {"agent": leg("agent"), "party": leg("party")}
    yield made
    for sock in sockets:
        sock.close()


def _remote(port: int, codec: Codec = Codec.PCMA, pt: int = 8, te_pt: int | None = 101) -> Remote:
    return Remote(address=("127.0.0.1", port), codec=codec, payload_type=pt, event_payload_type=te_pt)


def _sent(leg: Leg) -> list[tuple[bytes, Address]]:
    sender = leg.sender
    assert isinstance(sender, _Sender)
    return sender.sent


def test_given_a_remote_when_the_first_packet_comes_from_elsewhere_then_the_leg_latches_once(call: Call) -> None:
    agent, party = call.legs["agent"], call.legs["party"]
    agent.set_remote(_remote(4000))
    party.set_remote(_remote(5000))
    call.bridge()
    packet = simple_packet(8, 1, 160, 7, bytes(160))

    agent.datagram_received(packet, ("10.0.0.9", 31000))
    agent.datagram_received(packet, ("10.0.0.66", 666))  # a later stranger does not move it
    party.datagram_received(packet, ("127.0.0.1", 5000))

    assert agent.destination == ("10.0.0.9", 31000) and agent.latched
    assert _sent(party) == [(packet, ("127.0.0.1", 5000))] * 2
    assert _sent(agent) == [(packet, ("10.0.0.9", 31000))]
    agent.set_remote(_remote(4002))  # a re-INVITE re-arms latching
    assert agent.destination == ("127.0.0.1", 4002) and not agent.latched


def test_given_not_bridged_then_nothing_is_forwarded_but_audio_is_kept_for_the_recording(call: Call) -> None:
    party = call.legs["party"]
    party.set_remote(_remote(5000))
    party.channel = Channel()
    party.datagram_received(simple_packet(8, 1, 160, 7, b"\x01" * 160), ("127.0.0.1", 5000))
    party.datagram_received(simple_packet(101, 2, 160, 7, b"\x05\x0a\x00\xa0"), ("127.0.0.1", 5000))
    party.datagram_received(b"\x00\x01junk", ("127.0.0.1", 5000))
    assert _sent(call.legs["agent"]) == [] and bytes(party.channel.buffer) == b"\x01" * 160
    assert (party.packets_in, party.malformed) == (2, 1)


def test_given_the_same_sdp_on_both_legs_then_packets_pass_untouched(call: Call) -> None:
    call.legs["agent"].set_remote(_remote(4000))
    call.legs["party"].set_remote(_remote(5000))
    call.bridge()
    assert call.legs["agent"].rewrite is None and call.legs["party"].rewrite is None


def test_given_different_codecs_and_event_types_then_only_what_differs_is_rewritten(call: Call) -> None:
    agent, party = call.legs["agent"], call.legs["party"]
    agent.set_remote(_remote(4000, Codec.PCMU, 0, 96))
    party.set_remote(_remote(5000, Codec.PCMA, 8, 101))
    call.bridge()
    audio = simple_packet(0, 9, 1440, 0xCAFE, bytes(range(160)), marker=True)
    event = simple_packet(96, 10, 1440, 0xCAFE, b"\x01\x8a\x03\x20")

    agent.datagram_received(audio, ("127.0.0.1", 4000))
    agent.datagram_received(event, ("127.0.0.1", 4000))

    (out_audio, _), (out_event, _) = _sent(party)
    header, payload = parse(out_audio)
    assert (header.payload_type, header.marker, header.sequence, header.ssrc) == (8, True, 9, 0xCAFE)
    assert payload == bytes(range(160)).translate(TRANSCODE[Codec.PCMU, Codec.PCMA])
    assert out_event == event[:1] + bytes([101]) + event[2:]


def test_given_a_player_then_packets_carry_its_own_ssrc_sequence_timestamp_and_a_first_marker() -> None:
    sent: list[bytes] = []
    player = Player((b"\xd5" * 160,) * 3, 8, sent.append)
    assert [player.tick() for _ in range(3)] == [False, False, True]
    headers = [parse(packet)[0] for packet in sent]
    assert [h.marker for h in headers] == [True, False, False]
    assert len({h.ssrc for h in headers}) == 1 and headers[0].ssrc == player.ssrc
    assert [(h.sequence - headers[0].sequence) % 65536 for h in headers] == [0, 1, 2]
    assert [(h.timestamp - headers[0].timestamp) % 2**32 for h in headers] == [0, 160, 320]
