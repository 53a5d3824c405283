"""TwiML for the two legs, and the bridge seen through conference events."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from dialer.calls.models import Call, CallState, Direction
from dialer.cases.models import Party, PartyRole, Relation
from tests.factories import make_case, make_client, make_party
from tests.webhooks.conftest import PUBLIC, TWILIO_TOKEN


async def _call(app, *, third_party: bool = False, state: CallState = CallState.DIALING) -> Call:
    async with app.state.container.sessions() as s:
        client = await make_client(s, name="招商银行")
        case = await make_case(s, client=client, debtor_name="张三")
        party = (await s.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
        if third_party:
            party = await make_party(s, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.SPOUSE, name="李四",
                                     numbers=("+8613900139000",))
        call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id="CA" + "1" * 32, state=state,
                    client_id=client.id, case_id=case.id, party_id=party.id, agent_leg_call_id="CA" + "2" * 32)
        s.add(call)
        await s.commit()
        return call


async def _post(api, path, params=None, *, signed=True):
    params = params or {"CallSid": "CA" + "2" * 32, "CallStatus": "in-progress"}
    headers = {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)} if signed else {}
    return await api.post(path, data=params, headers=headers)


async def test_given_agent_leg_answers_then_whisper_in_chinese_then_agent_starts_the_conference(app, api):
    call = await _call(app)
    response = await _post(api, f"/webhooks/twilio/voice/agent?call_id={call.id}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    say, dial = list(root)
    assert say.tag == "Say" and say.get("language") == "cmn-CN"
    assert "债务人" in say.text and "张三" in say.text and "受招商银行委托的" in say.text
    conference = dial.find("Conference")
    assert conference.text == f"call-{call.id}"
    assert conference.get("startConferenceOnEnter") == "true" and conference.get("endConferenceOnExit") == "true"
    assert conference.get("statusCallback") == f"{PUBLIC}/webhooks/twilio/conference-status?call_id={call.id}"
    async with app.state.container.sessions() as s:
        saved = await s.get(Call, call.id)
    assert saved.whisper_text == say.text and saved.conference_name == f"call-{call.id}"


async def test_given_third_party_then_whisper_forbids_disclosure(app, api):
    call = await _call(app, third_party=True)
    root = ET.fromstring((await _post(api, f"/webhooks/twilio/voice/agent?call_id={call.id}")).text)
    assert "配偶" in root.find("Say").text and "不得透露任何债务信息" in root.find("Say").text


async def test_given_party_answers_then_waits_silently_and_cannot_start_the_conference(app, api):
    call = await _call(app)
    root = ET.fromstring((await _post(api, f"/webhooks/twilio/voice/party?call_id={call.id}")).text)
    assert root.find("Say") is None
    conference = root.find("Dial/Conference")
    assert conference.get("startConferenceOnEnter") == "false" and conference.get("waitUrl") == ""


async def test_given_ended_or_unknown_call_then_hang_up(app, api):
    call = await _call(app, state=CallState.CANCELED)
    for path in (f"/webhooks/twilio/voice/agent?call_id={call.id}", "/webhooks/twilio/voice/party?call_id=999999"):
        assert ET.fromstring((await _post(api, path)).text)[0].tag == "Hangup"


async def test_given_unsigned_twiml_request_then_403(app, api):
    call = await _call(app)
    assert (await _post(api, f"/webhooks/twilio/voice/agent?call_id={call.id}", signed=False)).status_code == 403


async def test_given_both_legs_join_the_conference_then_call_bridged_once(app, api):
    call = await _call(app, state=CallState.ANSWERED)
    path = f"/webhooks/twilio/conference-status?call_id={call.id}"
    base = {"ConferenceSid": "CF" + "3" * 32, "FriendlyName": f"call-{call.id}", "StatusCallbackEvent": "participant-join"}
    await _post(api, path, {**base, "CallSid": "CA" + "2" * 32, "SequenceNumber": "1"})
    await app.state.container.inbox.drain()
    async with app.state.container.sessions() as s:
        assert (await s.get(Call, call.id)).state is CallState.ANSWERED, "one leg in is not a bridge"
    await _post(api, path, {**base, "CallSid": "CA" + "1" * 32, "SequenceNumber": "2"})
    await _post(api, path, {**base, "CallSid": "CA" + "1" * 32, "SequenceNumber": "2"})  # redelivered
    await app.state.container.inbox.drain()
    async with app.state.container.sessions() as s:
        bridged = await s.get(Call, call.id)
    assert bridged.state is CallState.BRIDGED and bridged.bridged_at is not None
