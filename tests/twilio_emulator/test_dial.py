"""<Dial> to a number or an agent's client: child legs with their own callbacks, the whisper
``url`` played to the answering party first, the action URL with DialCallStatus, inbound calls."""

from __future__ import annotations

import httpx

from twilio_emulator.testing import has_status

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"
SCENARIO = {
    "default": {"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 8},
    "numbers": {
        "client:agent-7": {"behaviour": "answer", "ring_seconds": 1, "hangup_first": "caller"},
        "client:agent-8": {"behaviour": "no_answer"},
        "+8613800000003": {"behaviour": "busy"},
    },
}


def test_given_agent_answers_then_whisper_plays_to_agent_before_bridge(twilio_emulator_factory, client_for,
                                                                       twilio_receiver):
    em = twilio_emulator_factory(SCENARIO)
    rx = twilio_receiver
    rx.twiml["/voice"] = ("<Response><Dial action='/dialed' timeout='20' record='record-from-answer-dual'"
                          " recordingStatusCallback='/rec'><Client url='/whisper' statusCallback='/agent-status'"
                          " statusCallbackEvent='initiated ringing answered completed'>agent-7</Client></Dial></Response>")
    rx.twiml["/whisper"] = "<Response><Say language='zh-CN'>债务人，工商银行委托，请表明身份。</Say></Response>"
    rx.twiml["/dialed"] = "<Response><Hangup/></Response>"
    parent = client_for(em).calls.create(to=DEBTOR, from_=AGENCY, url=rx.url_for("/voice"))

    [dialed] = rx.wait_for("/dialed", lambda got: len(got) == 1)

    assert dialed.signed_by(em.auth_token)
    assert dialed.params["DialCallStatus"] == "completed" and dialed.params["CallSid"] == parent.sid
    child_sid = dialed.params["DialCallSid"]
    [whisper] = rx.at("/whisper")
    assert whisper.params["CallSid"] == child_sid and whisper.params["To"] == "client:agent-7"
    assert whisper.params["ParentCallSid"] == parent.sid
    agent = rx.wait_for("/agent-status", has_status("completed"))
    assert [r.params["CallStatus"] for r in agent] == ["initiated", "ringing", "in-progress", "completed"]
    child = client_for(em).calls(child_sid).fetch()
    assert child.direction == "outbound-dial" and child.parent_call_sid == parent.sid
    [rec] = rx.wait_for("/rec", lambda got: len(got) == 1)
    assert rec.params["RecordingSource"] == "DialVerb" and rec.params["RecordingChannels"] == "2"
    assert rec.params["CallSid"] == parent.sid


def test_given_agent_not_answering_then_dial_action_says_no_answer(twilio_emulator_factory, client_for,
                                                                   twilio_receiver):
    em = twilio_emulator_factory(SCENARIO)
    twilio_receiver.twiml["/voice"] = "<Response><Dial action='/dialed' timeout='5'><Client>agent-8</Client></Dial></Response>"
    client_for(em).calls.create(to=DEBTOR, from_=AGENCY, url=twilio_receiver.url_for("/voice"))

    [dialed] = twilio_receiver.wait_for("/dialed", lambda got: len(got) == 1)
    assert dialed.params["DialCallStatus"] == "no-answer"


def test_given_busy_number_without_action_then_next_verb_runs(twilio_emulator_factory, client_for, twilio_receiver):
    em = twilio_emulator_factory(SCENARIO)
    twilio_receiver.twiml["/voice"] = ("<Response><Dial><Number>+8613800000003</Number></Dial>"
                                       "<Redirect>/after</Redirect></Response>")
    client_for(em).calls.create(to=DEBTOR, from_=AGENCY, url=twilio_receiver.url_for("/voice"))

    twilio_receiver.wait_for("/after", lambda got: len(got) == 1)


def test_given_inbound_call_then_service_voice_url_answers_it(twilio_emulator_factory, twilio_receiver):
    em = twilio_emulator_factory(SCENARIO)
    twilio_receiver.twiml["/incoming"] = "<Response><Say>您好</Say><Hangup/></Response>"

    created = httpx.post(f"{em.url}/_emulator/inbound", json={
        "From": DEBTOR, "To": AGENCY, "Url": twilio_receiver.url_for("/incoming"),
        "StatusCallback": twilio_receiver.url_for("/status")})

    assert created.status_code == 201 and created.json()["direction"] == "inbound"
    [fetch] = twilio_receiver.wait_for("/incoming", lambda got: len(got) == 1)
    assert fetch.params["Direction"] == "inbound" and fetch.params["From"] == DEBTOR
    assert fetch.signed_by(em.auth_token)
    twilio_receiver.wait_for("/status", has_status("completed"))
