"""The recorder's channels and frames, without sockets: slots, silence, bounds, drift trim."""

from __future__ import annotations

from pathlib import Path

from dialer.telephony.media.g711 import Codec, encode_frame
from dialer.telephony.media.recorder import BUFFER_LIMIT, TRIM_AFTER, Channel, Recorder

from .tones import AGENT_HZ, PARTY_HZ, dominant, read_channels, tone


def _frames(freq: float, count: int, codec: Codec = Codec.PCMA) -> list[bytes]:
    payload = encode_frame(tone(freq, 160 * count), codec)
    return [payload[i:i + 160] for i in range(0, len(payload), 160)]


def test_given_a_burst_when_pushed_then_the_channel_keeps_only_the_newest_second() -> None:
    channel = Channel()
    for n in range(200):
        channel.push(bytes([n]) * 160, Codec.PCMA)
    assert len(channel.buffer) == BUFFER_LIMIT
    assert channel.buffer[-1] == 199 and channel.dropped == 200 * 160 - BUFFER_LIMIT


def test_given_a_lasting_reserve_when_taken_then_one_frame_is_trimmed_per_second() -> None:
    channel = Channel()
    for _ in range(10):
        channel.push(bytes(160), Codec.PCMA)
    for _ in range(TRIM_AFTER):
        channel.push(bytes(160), Codec.PCMA)
        channel.take(160)
    assert len(channel.buffer) == 9 * 160


def test_given_ulaw_into_an_alaw_channel_then_it_is_transcoded_to_the_channels_codec() -> None:
    channel = Channel()
    channel.push(_frames(AGENT_HZ, 1, Codec.PCMA)[0], Codec.PCMA)
    channel.push(_frames(AGENT_HZ, 1, Codec.PCMU)[0], Codec.PCMU)
    assert channel.codec is Codec.PCMA and len(channel.buffer) == 320


def test_given_one_side_silent_then_its_channel_is_exact_zeros_and_the_other_holds_its_tone(tmp_path: Path) -> None:
    recorder = Recorder(str(tmp_path / "r.wav"), Channel(), Channel())
    for frame in _frames(PARTY_HZ, 75):
        recorder.party.push(frame, Codec.PCMA)
        recorder.tick()
    channels, _ = read_channels(tmp_path / "r.wav")
    assert len(channels[1]) == 50 * 160, "one flush (a second) so far"
    assert recorder.close() == 44 + 75 * 640
    channels, _ = read_channels(tmp_path / "r.wav")
    assert len(channels[0]) == len(channels[1]) == 75 * 160
    assert not any(channels[0]) and dominant(channels[1]) == PARTY_HZ


def test_given_a_gap_then_that_slot_is_zeros_in_that_channel_only(tmp_path: Path) -> None:
    recorder = Recorder(str(tmp_path / "r.wav"), Channel(), Channel())
    agent, party = _frames(AGENT_HZ, 3), _frames(PARTY_HZ, 3)
    for n in range(3):
        if n != 1:
            recorder.agent.push(agent[n], Codec.PCMA)
        recorder.party.push(party[n], Codec.PCMA)
        recorder.tick()
    recorder.agent.push(agent[0][:80], Codec.PCMA)  # half a frame: the rest of the slot is silence
    recorder.tick()
    recorder.close()
    channels, _ = read_channels(tmp_path / "r.wav")
    assert not any(channels[0][160:320])
    assert dominant(channels[0][:160]) == AGENT_HZ and dominant(channels[0][320:480]) == AGENT_HZ
    assert any(channels[0][480:560]) and not any(channels[0][560:640])
    assert dominant(channels[1][:480]) == PARTY_HZ
