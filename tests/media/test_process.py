"""The media process end to end: two UDP phones, a real process, the control socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from dialer.settings import REPO_ROOT
from dialer.telephony.media import MediaClient, MediaError, MediaEvent, MediaUnavailable
from dialer.telephony.media.g711 import Codec, decode_frame
from dialer.telephony.media.rtp import parse, simple_packet

from .conftest import MediaProcess, Phone, connect, talk, wait_for
from .tones import AGENT_HZ, PARTY_HZ, PROMPT_HZ, dominant, has_tone, read_channels, samples_of, tone

MakePhone = Callable[..., Awaitable[Phone]]
WRONG_PORT = 9  # what a NAT'd phone's SDP may claim: nothing listens there


async def _call(client: MediaClient, agent: Phone, party: Phone, *, call: str = "c1",
                agent_port: int | None = None) -> tuple[int, int]:
    """Allocate both legs and give their remotes; the agent's SDP names a wrong port unless told."""
    agent_leg = await client.allocate(call, "agent")
    party_leg = await client.allocate(call, "party")
    await client.set_remote(call, "agent", ip="127.0.0.1", port=agent_port or WRONG_PORT, codec="PCMA", pt=8,
                            te_pt=101)
    await client.set_remote(call, "party", ip="127.0.0.1", port=party.port, codec="PCMA", pt=8, te_pt=101)
    return agent_leg.port, party_leg.port


def _heard(phone: Phone) -> list[int]:
    """Everything the phone received, decoded (audio packets only)."""
    pcm = b"".join(decode_frame(parse(p)[1], Codec.PCMA) for p in phone.received if p[1] & 0x7F == 8)
    return samples_of(pcm)


def _prompt(path: Path, seconds: float = 0.5) -> Path:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(tone(PROMPT_HZ, int(8000 * seconds)))
    return path


async def test_given_a_bridged_call_when_both_phones_talk_then_each_hears_the_other_latched_and_recorded(
        client: MediaClient, phones: MakePhone, tmp_path: Path) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    events: list[MediaEvent] = []
    client.listeners.append(events.append)
    agent_port, party_port = await _call(client, agent, party)
    await client.record("c1", str(tmp_path / "c1.wav"))
    await client.bridge("c1")

    await talk([(agent, agent_port), (party, party_port)], frames=100)
    await wait_for(lambda: len(agent.received) == 100 and len(party.received) == 100, "relayed audio")

    assert dominant(_heard(party)) == AGENT_HZ
    assert dominant(_heard(agent)) == PARTY_HZ  # reached the agent's real port, not the one in its SDP
    await wait_for(lambda: any(e.kind == "latched" and e.leg == "agent" for e in events), "a latched event")
    latched = next(e for e in events if e.kind == "latched")
    assert (latched.call, latched.data["port"]) == ("c1", agent.port)
    [state] = await client.query()
    assert state.legs["agent"].destination == ("127.0.0.1", agent.port) and state.legs["agent"].latched
    assert state.legs["agent"].packets_in == 100 and state.legs["party"].packets_in == 100

    result = await client.stop("c1")
    assert result.packets == {"agent_in": 100, "agent_out": 100, "party_in": 100, "party_out": 100}
    assert result.recording is not None and result.recording.path == str(tmp_path / "c1.wav")
    assert result.recording.bytes == os.path.getsize(tmp_path / "c1.wav")
    channels, rate = read_channels(tmp_path / "c1.wav")
    assert rate == 8000 and len(channels) == 2
    assert dominant(channels[0]) == AGENT_HZ
    assert dominant(channels[1]) == PARTY_HZ
    assert await client.query() == []


async def test_given_relayed_packets_then_they_pass_byte_for_byte_dtmf_included_and_dtmf_is_not_recorded(
        client: MediaClient, phones: MakePhone, tmp_path: Path) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    agent_port, party_port = await _call(client, agent, party)
    await client.record("c1", str(tmp_path / "c1.wav"))
    await client.bridge("c1")
    sent = [simple_packet(101, 500 + n, 8000, 0xABCDEF, bytes([5, 0x0A if n < 9 else 0x8A]) + (160 * (n + 1)).to_bytes(2, "big"),
                          marker=n == 0) for n in range(12)]
    audio = party.frame()
    for packet in sent:
        agent.send(packet, agent_port)
        await asyncio.sleep(0.02)
    party.send(audio, party_port)
    await wait_for(lambda: len(party.received) == 12 and len(agent.received) == 1, "the relayed packets")

    assert party.received == sent  # RFC 4733 events: payload type, SSRC, sequence, marker untouched
    assert agent.received == [audio]
    result = await client.stop("c1")
    assert result.recording is not None
    channels, _ = read_channels(result.recording.path)
    assert not any(channels[0]), "telephone-events are not audio: the agent channel is silent"


async def test_given_early_media_before_the_bridge_then_it_is_recorded_in_channel_2_and_not_relayed(
        client: MediaClient, phones: MakePhone, tmp_path: Path) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    agent_port, party_port = await _call(client, agent, party)
    await client.record("c1", str(tmp_path / "c1.wav"))

    await talk([(party, party_port)], frames=60)  # ringback / announcement from the far end
    [state] = await client.query()
    assert not state.bridged and state.legs["party"].packets_in == 60

    result = await client.stop("c1")
    assert agent.received == [] and party.received == []
    assert result.recording is not None
    channels, _ = read_channels(result.recording.path)
    assert dominant(channels[1]) == PARTY_HZ
    assert not has_tone(channels[0], PARTY_HZ) and not any(channels[0])


async def test_given_a_prompt_played_to_the_agent_then_only_the_agent_hears_it_in_proper_rtp(
        client: MediaClient, phones: MakePhone, tmp_path: Path) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    await _call(client, agent, party, agent_port=(await phones(AGENT_HZ)).port)
    await client.set_remote("c1", "agent", ip="127.0.0.1", port=agent.port, codec="PCMA", pt=8, te_pt=101)
    events: list[MediaEvent] = []
    client.listeners.append(events.append)

    duration = await client.play("c1", "agent", str(_prompt(tmp_path / "whisper.wav", 0.5)))
    await wait_for(lambda: any(e.kind == "played" for e in events), "the played event")

    assert duration == pytest.approx(0.5)
    assert [(e.call, e.leg, e.data["completed"]) for e in events if e.kind == "played"] == [("c1", "agent", True)]
    assert party.received == []
    headers = [parse(p)[0] for p in agent.received]
    assert len(headers) == 25
    assert [h.marker for h in headers] == [True] + [False] * 24
    assert {h.payload_type for h in headers} == {8} and len({h.ssrc for h in headers}) == 1
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in zip(headers, headers[1:]))
    assert all((b.timestamp - a.timestamp) % 2**32 == 160 for a, b in zip(headers, headers[1:]))
    assert dominant(_heard(agent)) == PROMPT_HZ


async def test_given_a_prompt_playing_when_bridged_then_it_stops_and_relaying_begins(
        client: MediaClient, phones: MakePhone, tmp_path: Path) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    agent_port, party_port = await _call(client, agent, party)
    await client.set_remote("c1", "agent", ip="127.0.0.1", port=agent.port, codec="PCMA", pt=8, te_pt=101)
    events: list[MediaEvent] = []
    client.listeners.append(events.append)
    await client.play("c1", "agent", str(_prompt(tmp_path / "long.wav", 30)))
    await wait_for(lambda: len(agent.received) >= 3, "the prompt's first packets")

    await client.bridge("c1")
    await wait_for(lambda: any(e.kind == "played" for e in events), "the played event")
    with pytest.raises(MediaError) as refused:
        await client.play("c1", "agent", str(tmp_path / "long.wav"))
    prompt_packets = len(agent.received)
    await talk([(party, party_port)], frames=20)
    await wait_for(lambda: len(agent.received) >= prompt_packets + 20, "the party's audio")

    assert refused.value.code == "bridged"
    assert [e.data["completed"] for e in events if e.kind == "played"] == [False]
    assert dominant(_heard(agent)[-160 * 20:]) == PARTY_HZ


async def test_given_mismatched_codecs_when_bridged_then_audio_is_transcoded_and_types_rewritten(
        client: MediaClient, phones: MakePhone) -> None:
    agent, party = await phones(AGENT_HZ, Codec.PCMU), await phones(PARTY_HZ)
    agent_port = (await client.allocate("c2", "agent")).port
    party_port = (await client.allocate("c2", "party")).port
    await client.set_remote("c2", "agent", ip="127.0.0.1", port=agent.port, codec="PCMU", pt=0, te_pt=96)
    await client.set_remote("c2", "party", ip="127.0.0.1", port=party.port, codec="PCMA", pt=8, te_pt=101)
    await client.bridge("c2")
    event = simple_packet(96, 1, 160, 42, bytes([1, 0x0A, 0, 160]), marker=True)
    agent.send(event, agent_port)
    await talk([(agent, agent_port), (party, party_port)], frames=20)
    await wait_for(lambda: len(party.received) == 21 and len(agent.received) == 20, "the relayed packets")

    assert party.received[0] == event[:1] + bytes([0x80 | 101]) + event[2:]
    assert {p[1] & 0x7F for p in party.received[1:]} == {8}
    assert dominant(_heard(party)) == AGENT_HZ
    assert {p[1] & 0x7F for p in agent.received} == {0}
    heard_by_agent = samples_of(b"".join(decode_frame(parse(p)[1], Codec.PCMU) for p in agent.received))
    assert dominant(heard_by_agent) == PARTY_HZ


async def test_given_bad_commands_then_specific_errors(client: MediaClient, tmp_path: Path) -> None:
    with pytest.raises(MediaError) as unknown:
        await client.bridge("nope")
    assert unknown.value.code == "unknown_call"
    await client.allocate("c1", "agent")
    with pytest.raises(MediaError) as missing_leg:
        await client.bridge("c1")
    assert (missing_leg.value.code, missing_leg.value.field) == ("unknown_leg", "leg")
    with pytest.raises(MediaError) as bad_leg:
        await client.request("allocate", call="c1", leg="supervisor-7")
    assert (bad_leg.value.code, bad_leg.value.field) == ("bad_request", "leg")
    with pytest.raises(MediaError) as bad_codec:
        await client.request("remote", call="c1", leg="agent", ip="127.0.0.1", port=4000, codec="G722", pt=9)
    assert (bad_codec.value.code, bad_codec.value.field) == ("bad_request", "codec")
    with pytest.raises(MediaError) as no_remote:
        await client.play("c1", "agent", str(tmp_path / "x.wav"))
    assert no_remote.value.code == "no_remote"
    await client.set_remote("c1", "agent", ip="127.0.0.1", port=4000, codec="PCMA", pt=8, te_pt=None)
    with pytest.raises(MediaError) as bad_prompt:
        await client.play("c1", "agent", str(tmp_path / "x.wav"))
    assert (bad_prompt.value.code, bad_prompt.value.field) == ("bad_prompt", "path")
    with pytest.raises(MediaError) as bad_cmd:
        await client.request("dance")
    assert bad_cmd.value.code == "bad_request"
    first = await client.allocate("c1", "agent")
    assert first == await client.allocate("c1", "agent"), "allocate is idempotent"


async def test_given_a_small_port_range_when_exhausted_then_no_free_port(
        media_factory: Callable[..., MediaProcess]) -> None:
    tiny = media_factory(ports=4)  # two even ports, each with its RTCP neighbour
    client = await connect(tiny)
    try:
        await client.allocate("a", "agent")
        await client.allocate("a", "party")
        with pytest.raises(MediaError) as exhausted:
            await client.allocate("b", "agent")
        assert exhausted.value.code == "no_free_port"
        await client.stop("a")
        assert (await client.allocate("b", "agent")).port in (tiny.first_port, tiny.first_port + 2)
    finally:
        await client.close()


async def test_given_the_client_goes_away_when_a_new_one_connects_then_the_call_is_still_live(
        media: MediaProcess, client: MediaClient, phones: MakePhone) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    agent_port, party_port = await _call(client, agent, party)
    await client.bridge("c1")
    await client.close()

    await talk([(agent, agent_port), (party, party_port)], frames=10)
    await wait_for(lambda: len(party.received) == 10, "relayed audio with no client connected")
    second = await connect(media)
    try:
        [state] = await second.query()
        assert state.call == "c1" and state.bridged
        assert (state.legs["agent"].packets_in, state.legs["party"].packets_out) == (10, 10)
        with pytest.raises(MediaUnavailable):
            await client.query()
        await client.reconnect()
        assert [s.call for s in await client.query()] == ["c1"]
    finally:
        await second.close()


async def test_given_a_bridged_leg_silent_then_an_rtp_timeout_event(
        media_factory: Callable[..., MediaProcess], phones: MakePhone) -> None:
    media = media_factory("--rtp-timeout", "1")
    client = await connect(media)
    try:
        agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
        _, party_port = await _call(client, agent, party)
        await client.bridge("c1")
        events = client.events()
        await talk([(party, party_port)], frames=5)
        event = await asyncio.wait_for(anext(events), 10)
        while event.kind != "rtp_timeout":
            event = await asyncio.wait_for(anext(events), 10)
        assert (event.call, event.data["idle_s"] >= 1) == ("c1", True)
    finally:
        await client.close()


async def test_given_a_recording_when_the_process_is_killed_then_the_partial_wav_is_readable(
        media: MediaProcess, client: MediaClient, phones: MakePhone, tmp_path: Path) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    agent_port, party_port = await _call(client, agent, party)
    path = tmp_path / "crash.wav"
    await client.record("c1", str(path))
    await client.bridge("c1")
    talking = asyncio.create_task(talk([(agent, agent_port), (party, party_port)], frames=500))
    await wait_for(lambda: path.stat().st_size >= 44 + 2 * 32000, "two flushed seconds")

    media.kill(signal.SIGKILL)
    talking.cancel()
    with pytest.raises(MediaUnavailable):
        await client.query()

    with wave.open(str(path)) as file:
        frames = file.getnframes()
        assert (file.getnchannels(), file.getframerate()) == (2, 8000)
    assert frames >= 2 * 8000 and 44 + 4 * frames == path.stat().st_size
    channels, _ = read_channels(path)
    assert dominant(channels[0]) == AGENT_HZ and dominant(channels[1]) == PARTY_HZ
    if shutil.which("sox"):
        info = subprocess.run(["sox", "--i", str(path)], capture_output=True, text=True)
        assert info.returncode == 0 and "Channels       : 2" in info.stdout


async def test_given_sigterm_then_every_wav_is_finished_and_the_socket_removed(
        media: MediaProcess, client: MediaClient, phones: MakePhone, tmp_path: Path) -> None:
    agent, party = await phones(AGENT_HZ), await phones(PARTY_HZ)
    agent_port, party_port = await _call(client, agent, party)
    await client.record("c1", str(tmp_path / "term.wav"))
    await client.bridge("c1")
    await talk([(agent, agent_port), (party, party_port)], frames=30)

    assert media.kill(signal.SIGTERM) == 0
    with wave.open(str(tmp_path / "term.wav")) as file:
        assert file.getnframes() >= 30 * 160  # the part second since the last flush is written too
    assert not os.path.exists(media.control)


async def test_given_a_client_process_killed_mid_call_then_a_new_client_finds_the_call_live(
        media: MediaProcess) -> None:
    script = (
        "import asyncio, sys\n"
        "from dialer.telephony.media import MediaClient\n"
        "async def main():\n"
        f"    client = MediaClient({media.control!r})\n"
        "    await client.connect()\n"
        "    await client.allocate('k1', 'agent')\n"
        "    await client.allocate('k1', 'party')\n"
        "    await client.bridge('k1')\n"
        "    print('bridged', flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    await (await connect(media)).close()  # the process is up
    b2bua = await asyncio.create_subprocess_exec(sys.executable, "-c", script, cwd=REPO_ROOT,
                                                 stdout=asyncio.subprocess.PIPE)
    assert b2bua.stdout is not None
    assert await asyncio.wait_for(b2bua.stdout.readline(), 30) == b"bridged\n"

    b2bua.kill()
    await b2bua.wait()
    restarted = await connect(media)
    try:
        [state] = await restarted.query()
        assert (state.call, state.bridged, sorted(state.legs)) == ("k1", True, ["agent", "party"])
        assert (await restarted.stop("k1")).recording is None
    finally:
        await restarted.close()
