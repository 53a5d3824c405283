"""Recordings: created when a recorded call ends, announced to the recording status callback,
served as a real WAV (dual-channel when asked), listed, deleted."""

from __future__ import annotations

import io
import wave

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"
SCENARIO = {"default": {"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 12}}
TALK = "<Response><Pause length='600'/></Response>"


def _recorded_call(api, rx, **kwargs):
    rx.twiml["/voice"] = TALK
    call = api.calls.create(to=DEBTOR, from_=AGENCY, url=rx.url_for("/voice"), record=True,
                            recording_status_callback=rx.url_for("/rec"), **kwargs)
    [done] = rx.wait_for("/rec", lambda got: len(got) == 1)
    return call, done


def _wav(content: bytes) -> wave.Wave_read:
    return wave.open(io.BytesIO(content), "rb")


@pytest.fixture
def em(twilio_emulator_factory):
    return twilio_emulator_factory(SCENARIO)


@pytest.fixture
def api(em, client_for):
    return client_for(em)


def test_given_dual_channel_recording_when_call_ends_then_callback_and_stereo_wav(em, api, twilio_receiver):
    call, done = _recorded_call(api, twilio_receiver, recording_channels="dual")

    params = done.params
    assert done.signed_by(em.auth_token)
    assert params["RecordingSid"].startswith("RE") and len(params["RecordingSid"]) == 34
    assert params["RecordingStatus"] == "completed" and params["RecordingChannels"] == "2"
    assert params["CallSid"] == call.sid and params["RecordingSource"] == "OutboundAPI"
    duration = int(params["RecordingDuration"])
    assert 12 <= duration <= 20
    rec = api.recordings(params["RecordingSid"]).fetch()
    assert rec.channels == 2 and rec.status == "completed" and rec.call_sid == call.sid and rec.duration == str(duration)
    media = httpx.get(params["RecordingUrl"], auth=(em.account_sid, em.auth_token))
    assert media.status_code == 200 and media.headers["content-type"] == "audio/x-wav"
    with _wav(media.content) as audio:
        assert audio.getnchannels() == 2 and audio.getsampwidth() == 2 and audio.getframerate() == 8000
        assert audio.getnframes() == duration * 8000
    wav = httpx.get(params["RecordingUrl"] + ".wav", params={"RequestedChannels": 1},
                    auth=(em.account_sid, em.auth_token))
    with _wav(wav.content) as audio:
        assert audio.getnchannels() == 1


def test_given_default_channels_then_mono_recording(api, twilio_receiver, em):
    _, done = _recorded_call(api, twilio_receiver)
    assert done.params["RecordingChannels"] == "1"
    media = httpx.get(done.params["RecordingUrl"], auth=(em.account_sid, em.auth_token))
    with _wav(media.content) as audio:
        assert audio.getnchannels() == 1


def test_given_media_without_credentials_then_401_unless_scenario_allows(twilio_emulator_factory, client_for,
                                                                         twilio_receiver):
    strict = twilio_emulator_factory(SCENARIO)
    _, done = _recorded_call(client_for(strict), twilio_receiver)
    refused = httpx.get(done.params["RecordingUrl"])
    assert refused.status_code == 401 and refused.json()["code"] == 20003

    open_media = twilio_emulator_factory(SCENARIO, media_requires_auth=False)
    twilio_receiver.reset()
    _, done = _recorded_call(client_for(open_media), twilio_receiver)
    assert httpx.get(done.params["RecordingUrl"]).status_code == 200


def test_given_unanswered_call_then_no_recording(twilio_emulator_factory, client_for, twilio_receiver):
    em = twilio_emulator_factory({"default": {"behaviour": "busy"}})
    api = client_for(em)
    call = api.calls.create(to=DEBTOR, from_=AGENCY, twiml="<Response/>", record=True,
                            status_callback=twilio_receiver.url_for("/status"),
                            recording_status_callback=twilio_receiver.url_for("/rec"))
    twilio_receiver.wait_for("/status", lambda got: len(got) == 1)
    assert api.calls(call.sid).recordings.list() == []
    assert twilio_receiver.at("/rec") == []


def test_given_recordings_then_listed_per_call_and_deletable(api, twilio_receiver):
    call, done = _recorded_call(api, twilio_receiver, recording_channels="dual")
    sid = done.params["RecordingSid"]

    assert [r.sid for r in api.calls(call.sid).recordings.list()] == [sid]
    assert [r.sid for r in api.recordings.list(call_sid=call.sid)] == [sid]
    assert api.recordings(sid).delete() is True
    with pytest.raises(TwilioRestException) as err:
        api.recordings(sid).fetch()
    assert err.value.code == 20404


def test_given_record_verb_then_action_gets_the_recording(em, api, twilio_receiver):
    twilio_receiver.twiml["/voice"] = (
        "<Response><Say>请在提示音后留言</Say><Record action='/recorded' maxLength='5'"
        " recordingStatusCallback='/rec'/></Response>")
    twilio_receiver.twiml["/recorded"] = "<Response><Hangup/></Response>"
    api.calls.create(to=DEBTOR, from_=AGENCY, url=twilio_receiver.url_for("/voice"))

    [action] = twilio_receiver.wait_for("/recorded", lambda got: len(got) == 1)
    assert action.signed_by(em.auth_token)
    assert 5 <= int(action.params["RecordingDuration"]) <= 8 and action.params["Digits"] == ""
    [done] = twilio_receiver.wait_for("/rec", lambda got: len(got) == 1)
    assert done.params["RecordingSource"] == "RecordVerb" and done.params["RecordingSid"] == action.params["RecordingSid"]
