"""recording.stored: the receiver fetches the file from the signed link, checks its size and SHA-256,
keeps it under its checksum, and answers 2xx only then; anything less is a 5xx, so the dialer retries."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from dialer.kit.ports import free_port
from tests.archive_receiver import T0, Rig, event, recording_stored, rig, wav


@pytest.fixture
async def receiver(tmp_path) -> AsyncIterator[Rig]:
    async with rig(tmp_path) as started:
        yield started


async def test_given_a_recording_stored_when_delivered_then_the_file_is_fetched_checked_and_kept(receiver):
    audio = wav()
    receiver.media.files["RE1.wav"] = audio
    stored = recording_stored(receiver.media.link("RE1.wav"), audio)

    answer = await receiver.deliver(stored)

    digest = hashlib.sha256(audio).hexdigest()
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "stored", "webhook_id": stored["id"], "file": f"media/{digest[:2]}/{digest}.wav"}
    assert (receiver.store / answer.json()["file"]).read_bytes() == audio
    assert receiver.files() == [receiver.store / answer.json()["file"]]
    [row] = await receiver.received("recording.stored")
    assert (row["sha256"], row["file"]) == (digest, answer.json()["file"])
    assert "media_url" not in row["data"]["recording"]  # the link is a credential until it expires
    assert row["data"]["recording"]["channel_sides"] == {"1": "party", "2": "agent"}


async def test_given_a_stored_recording_when_the_event_is_retried_then_200_and_fetched_once(receiver):
    audio = wav()
    receiver.media.files["RE1.wav"] = audio
    stored = recording_stored(receiver.media.link("RE1.wav"), audio)
    assert (await receiver.deliver(stored)).json()["status"] == "stored"

    again = await receiver.deliver(stored)

    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert receiver.media.asked == {"RE1.wav": 1}
    assert len(await receiver.received()) == 1 and len(receiver.files()) == 1


async def test_given_corrupted_media_when_delivered_then_502_nothing_kept_and_a_retry_with_good_media_stores(
        receiver):
    audio = wav()
    corrupted = bytearray(audio)
    corrupted[100] ^= 0xFF
    receiver.media.files["RE1.wav"] = bytes(corrupted)
    stored = recording_stored(receiver.media.link("RE1.wav"), audio)

    answer = await receiver.deliver(stored)

    assert (answer.status_code, answer.json()["error"]) == (502, "media_mismatch")
    assert await receiver.received() == [] and receiver.files() == []

    receiver.media.files["RE1.wav"] = audio
    receiver.clock.now = T0 + timedelta(minutes=5)  # the dialer's retry: same webhook-id, signed anew
    retried = await receiver.deliver(stored)

    assert (retried.status_code, retried.json()["status"]) == (200, "stored")
    assert (receiver.store / retried.json()["file"]).read_bytes() == audio
    assert [row["webhook_id"] for row in await receiver.received()] == [stored["id"]]


@pytest.mark.parametrize("served", [b"extra bytes", None], ids=["longer", "shorter"])
async def test_given_media_of_another_size_when_delivered_then_502_and_nothing_kept(receiver, served):
    audio = wav()
    receiver.media.files["RE1.wav"] = audio + served if served else audio[:-10]

    answer = await receiver.deliver(recording_stored(receiver.media.link("RE1.wav"), audio))

    assert (answer.status_code, answer.json()["error"]) == (502, "media_mismatch")
    assert await receiver.received() == [] and receiver.files() == []


async def test_given_an_expired_link_when_delivered_then_502_and_nothing_kept(receiver):
    audio = wav()
    receiver.media.files["RE1.wav"] = audio
    receiver.media.refuse = True

    answer = await receiver.deliver(recording_stored(receiver.media.link("RE1.wav"), audio))

    assert (answer.status_code, answer.json()["error"]) == (502, "media_refused")
    assert await receiver.received() == [] and receiver.files() == []


async def test_given_the_media_server_down_when_delivered_then_503_and_nothing_kept(receiver):
    audio = wav()
    nobody = f"http://127.0.0.1:{free_port()}/recordings/RE1.wav?expires=1&signature=TOKEN"

    answer = await receiver.deliver(recording_stored(nobody, audio))

    assert (answer.status_code, answer.json()["error"]) == (503, "media_unreachable")
    assert "TOKEN" not in answer.text
    assert await receiver.received() == [] and receiver.files() == []


async def test_given_two_events_with_the_same_audio_when_delivered_then_one_file_and_two_records(receiver):
    audio = wav()
    receiver.media.files.update({"RE1.wav": audio, "RE2.wav": audio})
    first = recording_stored(receiver.media.link("RE1.wav"), audio, recording_id=1)
    second = recording_stored(receiver.media.link("RE2.wav"), audio, recording_id=2)

    answers = [await receiver.deliver(first), await receiver.deliver(second)]

    assert [a.json()["status"] for a in answers] == ["stored", "stored"]
    assert answers[0].json()["file"] == answers[1].json()["file"]
    assert len(receiver.files()) == 1
    assert [row["data"]["recording"]["id"] for row in await receiver.received("recording.stored")] == [1, 2]


@pytest.mark.parametrize(("change", "reason"), [
    ({"media_url": None}, "media_url"),
    ({"media_url": "/relative/RE1.wav"}, "media_url"),
    ({"sha256": "abc"}, "sha256"),
    ({"size_bytes": None}, "size_bytes"),
])
async def test_given_a_recording_stored_without_what_a_check_needs_when_delivered_then_400(receiver, change, reason):
    audio = wav()
    stored = recording_stored(receiver.media.link("RE1.wav"), audio)
    stored["data"]["recording"].update(change)

    answer = await receiver.deliver(stored)

    assert (answer.status_code, answer.json()["error"]) == (400, "bad_payload") and reason in answer.json()["detail"]
    assert await receiver.received() == [] and receiver.media.asked == {}


async def test_given_several_recording_events_when_delivered_then_each_recorded_without_a_download(receiver):
    for type in ("recording.missing", "recording.purged", "recording.hold_changed", "call.wrapped_up"):
        answer = await receiver.deliver(event(type, {"recording": {"id": 9}}))
        assert (answer.status_code, answer.json()["status"]) == (200, "recorded")

    assert receiver.media.asked == {} and receiver.files() == []
    assert len(await receiver.received()) == 4
