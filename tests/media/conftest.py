"""Media process harness: a real ``python -m dialer.telephony.media`` on a temporary control socket
and port range, a connected ``MediaClient``, and UDP "phones" (asyncio sockets) that send tone-tagged
20 ms A-law frames and keep what they receive."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dialer.settings import REPO_ROOT
from dialer.telephony.media import MediaClient
from dialer.telephony.media.g711 import Codec, encode_frame
from dialer.telephony.media.rtp import simple_packet

from .tones import tone

PATIENCE_S = 10.0  # how long a condition may take before the test fails (not a timing assertion)


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll until ``condition()`` holds; fail naming ``what`` after PATIENCE_S."""
    deadline = asyncio.get_running_loop().time() + PATIENCE_S
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class MediaProcess:
    process: subprocess.Popen[bytes]
    control: str
    first_port: int
    directory: Path

    def kill(self, signum: int = signal.SIGKILL) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=PATIENCE_S)


def start_media(directory: Path, *extra: str, ports: int = 60) -> MediaProcess:
    """A media process on ``ports`` ports from a random even base (busy ports are skipped by the pool)."""
    control = str(directory / f"media-{random.getrandbits(32):08x}.sock")
    first = random.randrange(40000, 59000, 2)
    process = subprocess.Popen(
        [sys.executable, "-m", "dialer.telephony.media", "--control", control, "--ip", "127.0.0.1",
         "--ports", f"{first}-{first + ports - 1}", "--log-level", "WARNING", *extra],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    return MediaProcess(process=process, control=control, first_port=first, directory=directory)


@pytest.fixture
def media_factory(tmp_path: Path) -> Iterator[Callable[..., MediaProcess]]:
    started: list[MediaProcess] = []

    def make(*extra: str, ports: int = 60) -> MediaProcess:
        media = start_media(tmp_path, *extra, ports=ports)
        started.append(media)
        return media

    yield make
    for media in started:
        if media.process.poll() is None:
            media.process.kill()
            media.process.wait()


@pytest.fixture
def media(media_factory: Callable[..., MediaProcess]) -> MediaProcess:
    return media_factory()


async def connect(media: MediaProcess) -> MediaClient:
    client = MediaClient(media.control)
    await wait_for(lambda: os.path.exists(media.control), "the control socket")
    for _ in range(500):
        try:
            await client.connect()
            return client
        except OSError:
            await asyncio.sleep(0.01)
        except Exception as exc:  # MediaUnavailable while the socket is being set up
            if media.process.poll() is not None:
                raise AssertionError("the media process exited") from exc
            await asyncio.sleep(0.01)
    raise AssertionError("could not connect to the media process")


@pytest.fixture
async def client(media: MediaProcess) -> AsyncIterator[MediaClient]:
    media_client = await connect(media)
    yield media_client
    await media_client.close()


class _PhoneProtocol(asyncio.DatagramProtocol):
    def __init__(self, phone: Phone) -> None:
        self.phone = phone

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.phone.received.append(data)
        self.phone.sources.add((addr[0], addr[1]))


@dataclass
class Phone:
    """A UDP endpoint playing a softphone or a trunk: sends tone frames, keeps what it hears."""

    freq: float
    codec: Codec = Codec.PCMA
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    received: list[bytes] = field(default_factory=list)
    sources: set[tuple[str, int]] = field(default_factory=set)
    sequence: int = 0
    transport: asyncio.DatagramTransport | None = None

    async def open(self) -> Phone:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: _PhoneProtocol(self),
                                                                local_addr=("127.0.0.1", 0))
        return self

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def frame(self) -> bytes:
        """The next 20 ms packet of this phone's tone."""
        start = self.sequence * 160
        packet = simple_packet(self.codec.static_pt, self.sequence, start, self.ssrc,
                               encode_frame(tone(self.freq, 160, start=start), self.codec), marker=self.sequence == 0)
        self.sequence += 1
        return packet

    def send(self, packet: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(packet, ("127.0.0.1", port))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def talk(streams: list[tuple[Phone, int]], frames: int) -> None:
    """Each phone sends ``frames`` tone frames to its port, one every 20 ms (paced like a phone)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(frames):
        for phone, port in streams:
            phone.send(phone.frame(), port)
        await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - loop.time()))


@pytest.fixture
async def phones() -> AsyncIterator[Callable[..., Awaitable[Phone]]]:
    opened: list[Phone] = []

    async def make(freq: float, codec: Codec = Codec.PCMA) -> Phone:
        phone = await Phone(freq=freq, codec=codec).open()
        opened.append(phone)
        return phone

    yield make
    for phone in opened:
        phone.close()
