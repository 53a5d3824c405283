"""Legs and calls: the RTP sockets and the relay between them.

A ``Leg`` is the datagram protocol of one RTP socket. Per packet it: counts it, latches the
destination to the first source it hears from (symmetric RTP: a NAT'd phone is answered where it
really sends from), forwards the packet untouched to the bridged peer (rewritten only when the two
legs negotiated different codecs or payload type numbers), and hands audio payloads to the call's
recording channel. Nothing else happens per packet.

Sources are not policed: after latching, packets from any address are still relayed (as rtpengine
does by default), so a phone whose NAT mapping changes mid-call is not cut off; the destination
only moves on the first packet or a new ``remote``.

Receiving goes through uvloop's datagram transport; sending goes straight to a duplicate of the
socket (``sender``): ``socket.sendto`` is measurably cheaper than the transport's ``sendto`` with an
address, and a datagram the kernel will not take at once is dropped (counted), never queued —
late audio is worse than lost audio.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from .g711 import TRANSCODE, Codec
from .player import Player
from .recorder import Channel, Recorder
from .rtp import SIMPLE_FIRST_BYTE, RtpError, payload_bounds

Address = tuple[str, int]
Rewrite = Callable[[bytes], bytes]
LatchListener = Callable[["Leg", Address], None]

_monotonic = time.monotonic


@dataclass(frozen=True, slots=True)
class Remote:
    """What the leg's far end said in SDP: where it receives and what it sends."""

    address: Address
    codec: Codec
    payload_type: int
    event_payload_type: int | None


class Leg(asyncio.DatagramProtocol):
    """One RTP socket of a call (``name`` is "agent" or "party")."""

    def __init__(self, call_id: str, name: str, port: int, rtp: socket.socket, rtcp: socket.socket,
                 on_latch: LatchListener) -> None:
        self.call_id = call_id
        self.name = name
        self.port = port
        self.sender = socket.socket(rtp.family, socket.SOCK_DGRAM, fileno=os.dup(rtp.fileno()))
        self.sender.setblocking(False)
        self.rtcp = rtcp
        self.on_latch = on_latch
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: Remote | None = None
        self.destination: Address | None = None
        self.latched = False
        self.audio: dict[int, Codec] = {0: Codec.PCMU, 8: Codec.PCMA}
        self.peer: Leg | None = None
        self.rewrite: Rewrite | None = None
        self.channel: Channel | None = None
        self.player: Player | None = None
        self.packets_in = 0
        self.packets_out = 0
        self.malformed = 0
        self.send_failed = 0
        self.created = _monotonic()
        self.last_rx: float | None = None
        self.idle_reported = False

    # -- asyncio.DatagramProtocol -----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:  # the hot path
        if len(data) < 12 or data[0] & 0xC0 != 0x80:
            self.malformed += 1
            return
        self.packets_in += 1
        self.last_rx = _monotonic()
        if not self.latched:
            self._latch((addr[0], addr[1]))
        peer = self.peer
        if peer is not None:
            destination = peer.destination
            if destination is not None:
                rewrite = self.rewrite
                try:
                    peer.sender.sendto(data if rewrite is None else rewrite(data), destination)
                except OSError:
                    peer.send_failed += 1
                else:
                    peer.packets_out += 1
        channel = self.channel
        if channel is not None:
            codec = self.audio.get(data[1] & 0x7F)
            if codec is not None:
                if data[0] == SIMPLE_FIRST_BYTE:
                    channel.push(data[12:], codec)
                else:
                    try:
                        start, end = payload_bounds(data)
                    except RtpError:
                        return
                    channel.push(data[start:end], codec)

    def error_received(self, exc: Exception) -> None:
        """ICMP errors (port unreachable while a phone is not yet listening) are expected: ignore."""

    # -- control ----------------------------------------------------------------------------
    def set_remote(self, remote: Remote) -> None:
        """The far end's SDP: send there until the first packet says otherwise (latching re-armed)."""
        self.remote = remote
        self.destination = remote.address
        self.latched = False
        audio = {0: Codec.PCMU, 8: Codec.PCMA, remote.payload_type: remote.codec}
        if remote.event_payload_type is not None:
            audio.pop(remote.event_payload_type, None)
        self.audio = audio

    def _latch(self, source: Address) -> None:
        self.latched = True
        if source != self.destination:
            self.destination = source
            self.on_latch(self, source)

    def send(self, packet: bytes) -> None:
        """Send a packet of our own (a prompt) to the leg's current destination."""
        if self.destination is not None:
            try:
                self.sender.sendto(packet, self.destination)
            except OSError:
                self.send_failed += 1
            else:
                self.packets_out += 1

    def idle_s(self, now: float) -> float:
        """Seconds since the last packet (if none came: since the leg was made, or since the bridge)."""
        return now - (self.last_rx if self.last_rx is not None else self.created)

    def close(self) -> None:
        self.peer = None
        self.channel = None
        self.player = None
        if self.transport is not None:
            self.transport.close()
        self.sender.close()
        self.rtcp.close()


def make_rewrite(source: Leg, target: Leg) -> Rewrite | None:
    """What must change on packets from ``source`` so ``target``'s far end understands them.

    ``None`` (pass through untouched) unless both legs' SDP is known and they differ in codec,
    audio payload type or telephone-event payload type. A changed codec is transcoded A-law ↔
    µ-law by table; payload type numbers are rewritten, the marker bit kept.
    """
    src, dst = source.remote, target.remote
    if src is None or dst is None:
        return None
    types: dict[int, int] = {}
    if src.payload_type != dst.payload_type:
        types[src.payload_type] = dst.payload_type
    if (src.event_payload_type is not None and dst.event_payload_type is not None
            and src.event_payload_type != dst.event_payload_type):
        types[src.event_payload_type] = dst.event_payload_type
    table = TRANSCODE[src.codec, dst.codec] if src.codec != dst.codec else None
    if not types and table is None:
        return None
    audio_type = src.payload_type

    def rewrite(packet: bytes) -> bytes:
        payload_type = packet[1] & 0x7F
        out = bytearray(packet)
        if table is not None and payload_type == audio_type:
            try:
                start, end = payload_bounds(packet)
            except RtpError:
                return packet
            out[start:end] = packet[start:end].translate(table)
        if payload_type in types:
            out[1] = (packet[1] & 0x80) | types[payload_type]
        return bytes(out)

    return rewrite


class Call:
    """A call's legs, whether they are bridged, and its recording."""

    def __init__(self, call_id: str) -> None:
        self.id = call_id
        self.legs: dict[str, Leg] = {}
        self.bridged = False
        self.recorder: Recorder | None = None
        self.created = _monotonic()

    def bridge(self) -> None:
        """Relay agent ↔ party (both legs must exist)."""
        agent, party = self.legs["agent"], self.legs["party"]
        agent.peer, party.peer = party, agent
        self.bridged = True
        self.refresh_rewrites()

    def refresh_rewrites(self) -> None:
        """Recompute the per-direction rewrites after a leg's SDP changed."""
        if self.bridged:
            agent, party = self.legs["agent"], self.legs["party"]
            agent.rewrite = make_rewrite(agent, party)
            party.rewrite = make_rewrite(party, agent)
