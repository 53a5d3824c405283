"""One contract, two engines: the real media process (through MediaClient) and FakeMediaEngine.
What the B2BUA relies on must hold for both, so unit tests on the fake mean something."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from dialer.telephony.media import MediaEngine, MediaError, MediaEvent
from dialer.telephony.media.fake import FakeMediaEngine

from .conftest import MediaProcess, connect
from .tones import PROMPT_HZ, tone


@pytest.fixture(params=["process", "fake"])
async def engine(request: pytest.FixtureRequest, media_factory: Callable[..., MediaProcess]
                 ) -> AsyncIterator[MediaEngine]:
    if request.param == "fake":
        yield FakeMediaEngine()
        return
    client = await connect(media_factory())
    yield client
    await client.close()


def _prompt(path: Path) -> str:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(tone(PROMPT_HZ, 8000 * 5))
    return str(path)


async def _next(events: AsyncIterator[MediaEvent], kind: str) -> MediaEvent:
    while (event := await asyncio.wait_for(anext(events), 10)).kind != kind:
        pass
    return event


async def test_given_a_call_then_allocate_is_idempotent_per_leg_and_ports_are_even(engine: MediaEngine) -> None:
    agent = await engine.allocate("c1", "agent")
    party = await engine.allocate("c1", "party")
    assert agent == await engine.allocate("c1", "agent")
    assert agent.port != party.port and agent.port % 2 == 0 and party.port % 2 == 0
    [state] = await engine.query()
    assert (state.call, sorted(state.legs), state.bridged) == ("c1", ["agent", "party"], False)


async def test_given_no_such_call_then_unknown_call(engine: MediaEngine) -> None:
    for attempt in (engine.bridge("nope"), engine.stop("nope"), engine.record("nope", "/tmp/x.wav")):
        with pytest.raises(MediaError) as refused:
            await attempt
        assert refused.value.code == "unknown_call"


async def test_given_a_prompt_playing_when_bridged_then_played_not_completed_and_no_more_prompts(
        engine: MediaEngine, tmp_path: Path) -> None:
    await engine.allocate("c1", "agent")
    await engine.allocate("c1", "party")
    await engine.set_remote("c1", "agent", ip="127.0.0.1", port=9, codec="PCMA", pt=8, te_pt=101)
    events = engine.events()  # listening from here on
    await engine.play("c1", "agent", _prompt(tmp_path / "p.wav"))
    await engine.bridge("c1")

    played = await _next(events, "played")
    assert (played.call, played.leg, played.data["completed"]) == ("c1", "agent", False)
    with pytest.raises(MediaError) as refused:
        await engine.play("c1", "agent", str(tmp_path / "p.wav"))
    assert refused.value.code == "bridged"


async def test_given_a_recording_when_stopped_then_it_is_reported_and_the_call_is_gone(
        engine: MediaEngine, tmp_path: Path) -> None:
    await engine.allocate("c1", "agent")
    await engine.record("c1", str(tmp_path / "c1.wav"))
    with pytest.raises(MediaError) as twice:
        await engine.record("c1", str(tmp_path / "c1.wav"))
    result = await engine.stop("c1")
    assert twice.value.code == "already_recording"
    assert result.recording is not None and result.recording.path == str(tmp_path / "c1.wav")
    assert len(result.recording.sha256) == 64 and set(result.packets) == {"agent_in", "agent_out", "party_in",
                                                                          "party_out"}
    assert await engine.query() == []
