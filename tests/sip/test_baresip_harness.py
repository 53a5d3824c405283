"""The baresip harness proven on real peers, without the dialer: it registers (digest) with a
sipp registrar, a sipp party calls it and hears it, it dials a sipp party that hangs up."""

from __future__ import annotations

import array
import asyncio
import contextlib
import math
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.kit.ports import udp_port_bound
from tests.sip.baresip import LOOPBACK, Account, Baresip, free_port
from tests.sip.tones import (
    AGENT_HZ,
    PARTY_HZ,
    SUPERVISOR_HZ,
    dominant_tones,
    mean_square,
    read_wav,
    seconds_with,
    segments_with,
    write_tone,
)

SCENARIOS = Path(__file__).parent / "scenarios"
REALM = "harness.test"


# --- sipp as the other side --------------------------------------------------------------------
@dataclass
class Sipp:
    process: asyncio.subprocess.Process
    port: int
    workdir: Path

    def log_tail(self, lines: int = 30) -> str:
        out = (self.workdir / "sipp.out").read_text(errors="replace").splitlines()[-lines:]
        errors = self.workdir / "sipp.err"
        err = errors.read_text(errors="replace").splitlines()[-lines:] if errors.exists() else []
        return "--- sipp (tail) ---\n" + "\n".join(out + ["--- sipp errors ---", *err])

    async def exit_code(self, timeout: float = 15.0) -> int:
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(self.process.wait(), timeout)
        self.process.kill()
        await self.process.wait()
        raise AssertionError(f"sipp did not finish\n{self.log_tail()}")


@contextlib.asynccontextmanager
async def sipp(workdir: Path, scenario: str, *args: str, **variables: str) -> AsyncIterator[Sipp]:
    """sipp running ``scenarios/<scenario>`` on a free loopback port (listening when this yields),
    in ``workdir`` (its logs, and the files its scenario reads). ``variables``: ``-set name value``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    sets = [item for name, value in variables.items() for item in ("-set", name, value)]
    command = ["sipp", "-sf", str(SCENARIOS / scenario), "-i", LOOPBACK, "-mi", LOOPBACK, "-p", str(port),
               "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error", "-trace_err",
               "-error_file", str(workdir / "sipp.err"), *sets, *args]
    with (workdir / "sipp.out").open("wb") as out:
        process = await asyncio.create_subprocess_exec(*command, cwd=workdir, stdin=asyncio.subprocess.DEVNULL,
                                                       stdout=out, stderr=asyncio.subprocess.STDOUT)
    peer = Sipp(process, port, workdir)
    try:
        while not udp_port_bound(port):
            assert process.returncode is None, f"sipp exited with {process.returncode}\n{peer.log_tail()}"
            await asyncio.sleep(0.02)
        yield peer
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# --- audio helpers --------------------------------------------------------------------------------
def alaw(sample: int) -> int:
    """One 16-bit linear sample as a G.711 A-law byte."""
    value, mask = sample >> 3, 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    for segment, top in enumerate((0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)):
        if value <= top:
            shift = segment if segment >= 2 else 1
            return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask
    return 0x7F ^ mask


def write_alaw_tone(path: Path, hz: float, seconds: float, *, amplitude: float = 0.5) -> Path:
    """Raw A-law at 8 kHz (what sipp's ``rtp_stream`` plays as payload type 8)."""
    peak = amplitude * 32767
    path.write_bytes(bytes(alaw(round(peak * math.sin(2 * math.pi * hz * n / 8000)))
                           for n in range(round(seconds * 8000))))
    return path


def rms(path: Path) -> float:
    _, [samples] = read_wav(path)
    return math.sqrt(mean_square(samples))


# --- the tests ----------------------------------------------------------------------------------
async def test_given_a_digest_registrar_when_the_account_is_added_then_registered_and_unregistered_on_quit(
        tmp_path: Path) -> None:
    async with sipp(tmp_path / "registrar", "harness_registrar.xml", realm=REALM, user="agent",
                    password="secret") as registrar:
        account = Account("agent", REALM, password="secret", registrar=f"{LOOPBACK}:{registrar.port}")
        async with Baresip(tmp_path / "agent", accounts=[account]) as phone:
            registered = await phone.wait_for_event("REGISTER_OK", accountaor=account.aor)
            assert registered["param"] == "200 OK"
            assert "OK" in await phone.reginfo()
        # leaving the block quit baresip, which un-registered (the scenario's last REGISTER) and exited
        assert await registrar.exit_code() == 0, registrar.log_tail() + "\n" + phone.log_tail()
        assert phone.returncode == 0, phone.log_tail()


async def test_given_a_wrong_password_then_register_fail(tmp_path: Path) -> None:
    async with sipp(tmp_path / "registrar", "harness_registrar.xml", realm=REALM, user="agent",
                    password="secret") as registrar:
        account = Account("agent", REALM, password="wrong", registrar=f"{LOOPBACK}:{registrar.port}")
        async with Baresip(tmp_path / "agent", accounts=[account]) as phone:
            failed = await phone.wait_for_event("REGISTER_FAIL", accountaor=account.aor)
            assert "403" in failed["param"], phone.log_tail()
        assert await registrar.exit_code() == 1, registrar.log_tail()  # the scenario fails on a bad digest


async def test_given_a_party_calling_the_phone_then_auto_answered_and_each_hears_the_other(tmp_path: Path) -> None:
    party_dir = tmp_path / "party"
    party_dir.mkdir()
    write_alaw_tone(party_dir / "party.al", PARTY_HZ, 1.0)  # looped by sipp for the whole call
    async with Baresip(tmp_path / "agent", accounts=[Account("agent")]) as phone:
        async with sipp(party_dir, "harness_uac_tone.xml", f"{LOOPBACK}:{phone.sip_port}", "-s", "agent",
                        talk_ms="2000") as party:
            await phone.wait_for_event("CALL_ESTABLISHED", direction="incoming")
            await phone.wait_for_event("CALL_CLOSED")
            assert await party.exit_code() == 0, party.log_tail() + "\n" + phone.log_tail()
        heard, sent = phone.recordings()

    assert rms(heard) > 1000, f"the phone heard (near) silence\n{phone.log_tail()}"
    assert seconds_with(heard, PARTY_HZ) >= 1.0, "the phone did not hear the party's tone"
    assert seconds_with(sent, AGENT_HZ) >= 1.0, "the phone did not send its own tone"
    assert seconds_with(heard, AGENT_HZ) == 0.0


async def test_given_the_phone_dials_a_party_when_the_party_hangs_up_then_call_closed(tmp_path: Path) -> None:
    media_port = free_port(span=4)  # sipp's -rtp_echo: audio on the port, video two above
    async with Baresip(tmp_path / "agent", accounts=[Account("agent")]) as phone:
        async with sipp(tmp_path / "party", "harness_uas_bye.xml", "-mp", str(media_port), "-rtp_echo",
                        talk_ms="1500") as party:
            await phone.dial(f"sip:party@{LOOPBACK}:{party.port}")
            established = await phone.wait_for_event("CALL_ESTABLISHED", direction="outgoing")
            closed = await phone.wait_for_event("CALL_CLOSED", id=established["id"])
            assert await party.exit_code() == 0, party.log_tail() + "\n" + phone.log_tail()
        heard, _ = phone.recordings()

    assert closed["peeruri"] == f"sip:party@{LOOPBACK}:{party.port}"
    assert seconds_with(heard, AGENT_HZ) >= 0.5, "the party's echo of the phone's tone was not heard"


@pytest.mark.parametrize("span", [1, 2, 4])
def test_free_port_gives_a_span_free_for_udp_and_tcp(span: int) -> None:
    port = free_port(span)
    assert not any(udp_port_bound(p) for p in range(port, port + span))


async def test_given_a_phone_that_does_not_quit_in_time_then_stop_ends_it_anyway(tmp_path: Path) -> None:
    phone = await Baresip(tmp_path / "agent", accounts=[Account("agent")]).start()
    await phone.dial(f"sip:nobody@{LOOPBACK}:{free_port()}")  # a transaction nobody answers holds up quit

    await phone.stop(timeout=0.5)

    assert phone.returncode is not None


# --- the tone detector itself ---------------------------------------------------------------------
def tone(hz: float, seconds: float, start: int = 0) -> list[int]:
    return [round(12000 * math.sin(2 * math.pi * hz * (start + n) / 8000)) for n in range(round(seconds * 8000))]


def test_given_a_written_tone_then_8khz_mono_16bit_and_detected_throughout(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "agent.wav", AGENT_HZ, 1.0)
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()) == (8000, 1, 2, 8000)
    assert segments_with(path, AGENT_HZ) == [(0.0, 1.0)]
    assert segments_with(path, PARTY_HZ) == []


def test_given_a_two_channel_recording_then_when_each_tone_is_heard_on_each_channel(tmp_path: Path) -> None:
    left = [0] * 4000 + tone(AGENT_HZ, 1.0) + [0] * 4000  # agent: 0.5 s .. 1.5 s
    right = tone(PARTY_HZ, 1.0) + [0] * 8000  # party: 0 .. 1 s
    frames = array.array("h", (s for pair in zip(left, right) for s in pair))
    path = tmp_path / "call.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(frames.tobytes())

    assert segments_with(path, AGENT_HZ, channel=0) == [(0.5, 1.5)]
    assert segments_with(path, PARTY_HZ, channel=1) == [(0.0, 1.0)]
    assert segments_with(path, PARTY_HZ, channel=0) == []
    assert segments_with(path, AGENT_HZ) == [(0.5, 1.5)] and segments_with(path, PARTY_HZ) == [(0.0, 1.0)]


def test_given_mixed_tones_then_the_dominant_ones_strongest_first() -> None:
    mixed = [a + b // 3 for a, b in zip(tone(PARTY_HZ, 0.1), tone(SUPERVISOR_HZ, 0.1))]
    assert dominant_tones(mixed, 8000) == [PARTY_HZ]
    assert dominant_tones(mixed, 8000, min_share=0.05) == [PARTY_HZ, SUPERVISOR_HZ]
    assert dominant_tones([3] * 800, 8000) == []  # below the level: silence is no tone
