"""Per-call conferences: the agent joins by TwiML, the debtor and a supervisor through the
Participants API; monitor (muted), whisper (coaching) and barge (unmuted); conference events."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from twilio_emulator.testing import has_status

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"
SCENARIO = {
    "default": {"behaviour": "answer", "ring_seconds": 1, "hangup_first": "caller"},
    "numbers": {"client:agent-9": {"behaviour": "no_answer"}},
}
ROOM = "case-42-call-1"


def _events(rx) -> list[str]:
    return [r.params["StatusCallbackEvent"] for r in rx.at("/conf")]


@pytest.fixture
def em(twilio_emulator_factory):
    return twilio_emulator_factory(SCENARIO)


@pytest.fixture
def api(em, client_for):
    return client_for(em)


@pytest.fixture
def agent_in_room(api, twilio_receiver):
    """The agent's softphone is called and put in the room; returns the agent's call sid."""
    twilio_receiver.twiml["/agent"] = (
        "<Response><Dial><Conference statusCallback='/conf' statusCallbackEvent='start end join leave mute hold modify'"
        f" endConferenceOnExit='true' participantLabel='agent'>{ROOM}</Conference></Dial></Response>"
    )
    call = api.calls.create(to="client:agent-7", from_=AGENCY, url=twilio_receiver.url_for("/agent"),
                            status_callback=twilio_receiver.url_for("/agent-status"))
    twilio_receiver.wait_for("/conf", lambda got: "participant-join" in [r.params["StatusCallbackEvent"] for r in got])
    return call.sid


def _add_debtor(api, rx):
    participant = api.conferences(ROOM).participants.create(
        from_=AGENCY, to=DEBTOR, label="debtor", status_callback=rx.url_for("/debtor-status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"], end_conference_on_exit=True)
    rx.wait_for("/conf", lambda got: any(r.params["StatusCallbackEvent"] == "conference-start" for r in got))
    return participant


def test_given_agent_and_debtor_then_conference_starts_and_events_are_signed(em, api, twilio_receiver, agent_in_room):
    debtor = _add_debtor(api, twilio_receiver)

    assert debtor.call_sid.startswith("CA") and debtor.label == "debtor" and debtor.status == "queued"
    assert debtor.conference_sid.startswith("CF") and len(debtor.conference_sid) == 34
    assert _events(twilio_receiver)[:3] == ["participant-join", "participant-join", "conference-start"]
    got = twilio_receiver.at("/conf")
    assert [int(r.params["SequenceNumber"]) for r in got] == list(range(len(got)))
    assert all(r.signed_by(em.auth_token) and r.params["FriendlyName"] == ROOM for r in got)
    assert got[0].params["CallSid"] == agent_in_room and got[0].params["ParticipantLabel"] == "agent"
    [conf] = api.conferences.list(friendly_name=ROOM, status="in-progress")
    assert conf.sid == debtor.conference_sid and conf.status == "in-progress"
    assert {p.label for p in api.conferences(conf.sid).participants.list()} == {"agent", "debtor"}
    assert api.conferences(conf.sid).participants("debtor").fetch().status == "connected"


def test_given_supervisor_then_monitor_whisper_and_barge(api, twilio_receiver, agent_in_room):
    debtor = _add_debtor(api, twilio_receiver)
    room = api.conferences(debtor.conference_sid)

    supervisor = room.participants.create(from_=AGENCY, to="client:supervisor-1", label="supervisor", muted=True)
    twilio_receiver.wait_for("/conf", lambda got: _events(twilio_receiver).count("participant-join") == 3)
    assert room.participants("supervisor").fetch().muted is True

    whisper = room.participants("supervisor").update(coaching=True, call_sid_to_coach=agent_in_room, muted=False)
    assert whisper.coaching is True and whisper.call_sid_to_coach == agent_in_room and whisper.muted is False

    barge = room.participants(supervisor.call_sid).update(coaching=False)
    assert barge.coaching is False and barge.call_sid_to_coach is None and barge.muted is False

    assert room.participants("debtor").update(hold=True).hold is True
    assert room.participants("debtor").update(hold=False).hold is False

    twilio_receiver.wait_for("/conf", lambda got: _events(twilio_receiver).count("participant-modify") == 2)
    twilio_receiver.wait_for("/conf", lambda got: "participant-unhold" in _events(twilio_receiver))
    assert {"participant-unmute", "participant-hold"} <= set(_events(twilio_receiver))
    modify = [r for r in twilio_receiver.at("/conf") if r.params["StatusCallbackEvent"] == "participant-modify"]
    assert modify[0].params["Coaching"] == "true" and modify[0].params["CallSidToCoach"] == agent_in_room
    assert [p.label for p in room.participants.list(coaching=True)] == []


def test_given_whisper_target_not_in_room_then_16028(api, twilio_receiver, agent_in_room):
    debtor = _add_debtor(api, twilio_receiver)
    with pytest.raises(TwilioRestException) as err:
        api.conferences(debtor.conference_sid).participants("debtor").update(
            coaching=True, call_sid_to_coach="CA" + "0" * 32)
    assert err.value.status == 400 and err.value.code == 16028


def test_given_agent_hangs_up_then_conference_ends_and_everyone_leaves(api, twilio_receiver, agent_in_room):
    debtor = _add_debtor(api, twilio_receiver)

    api.calls(agent_in_room).update(status="completed")

    twilio_receiver.wait_for("/conf", lambda got: "conference-end" in _events(twilio_receiver))
    end = twilio_receiver.at("/conf")[-1].params
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end["CallSidEndingConference"] == agent_in_room
    assert _events(twilio_receiver).count("participant-leave") == 2
    twilio_receiver.wait_for("/debtor-status", has_status("completed"))
    conf = api.conferences(debtor.conference_sid).fetch()
    assert conf.status == "completed" and conf.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    assert api.calls(debtor.call_sid).fetch().status == "completed"
    with pytest.raises(TwilioRestException) as err:
        api.conferences(conf.sid).participants("debtor").fetch()
    assert err.value.code == 20404


def test_given_participant_removed_then_its_call_ends_and_room_goes_on(api, twilio_receiver, agent_in_room):
    debtor = _add_debtor(api, twilio_receiver)
    room = api.conferences(debtor.conference_sid)
    supervisor = room.participants.create(from_=AGENCY, to="client:supervisor-1", label="supervisor", muted=True)
    twilio_receiver.wait_for("/conf", lambda got: _events(twilio_receiver).count("participant-join") == 3)

    assert room.participants("supervisor").delete() is True

    assert api.calls(supervisor.call_sid).fetch().status == "completed"
    assert {p.label for p in room.participants.list()} == {"agent", "debtor"}
    assert room.fetch().status == "in-progress"


def test_given_agent_not_answering_then_participant_leaves_with_call_status(api, twilio_receiver):
    created = api.conferences("case-43").participants.create(
        from_=AGENCY, to="client:agent-9", label="agent", timeout=5,
        conference_status_callback=twilio_receiver.url_for("/conf"),
        conference_status_callback_event=["start", "end", "join", "leave"])

    twilio_receiver.wait_for("/conf", lambda got: "conference-end" in _events(twilio_receiver))
    leave = next(r.params for r in twilio_receiver.at("/conf") if r.params["StatusCallbackEvent"] == "participant-leave")
    assert leave["ParticipantCallStatus"] == "no-answer" and leave["CallSid"] == created.call_sid
    assert api.calls(created.call_sid).fetch().status == "no-answer"


def test_given_conference_ended_via_api_then_reason_says_so(api, twilio_receiver, agent_in_room):
    debtor = _add_debtor(api, twilio_receiver)
    ended = api.conferences(debtor.conference_sid).update(status="completed")
    assert ended.status == "completed" and ended.reason_conference_ended == "conference-ended-via-api"
    twilio_receiver.wait_for("/agent-status", has_status("completed"))


def test_given_unknown_conference_sid_then_404(api):
    with pytest.raises(TwilioRestException) as err:
        api.conferences("CF" + "0" * 32).fetch()
    assert err.value.status == 404 and err.value.code == 20404
