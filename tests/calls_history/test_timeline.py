"""GET /v1/calls/{id}/timeline: a call run through the fake carrier and signed callbacks — dialed
under a decision, whispered, bridged, monitored and coached by a supervisor who then leaves,
recorded, ended, wrapped up with a promise — comes back whole; outside the reader's scope, 404."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from dialer.agents.models import AgentSession, AgentState
from dialer.audit.models import AuditEntry
from dialer.calls.models import Call
from dialer.calls.timeline import CARRIER_EVENTS
from dialer.cases import holds
from dialer.cases.models import Party, PhoneNumber
from dialer.kit.types import utcnow
from dialer.telephony.fake import FakeCarrier
from tests.calls_history.conftest import Floor
from tests.factories import make_case, make_client, make_seat
from webhooks.models import CarrierEvent

TOKEN = "calls-history-auth-token-0123456789"
PUBLIC = "https://dialer.example.com"
DEBTOR = "+8613800000001"
ALL_DAY = {"calling_window": {"weekdays": {d: [{"start": "00:00", "end": "24:00"}]
                                           for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}
_sequence = itertools.count()


@pytest.fixture
def settings(settings):
    """Carrier callbacks signed with Twilio's token, the service at a public URL."""
    return settings.model_copy(update={"twilio_auth_token": SecretStr(TOKEN), "public_base_url": PUBLIC,
                                       "twilio_caller_id": "+862161230000"})


async def _signed(api, path: str, params: dict[str, str]):
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    answer = await api.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code in (200, 204), answer.text
    return answer


async def _status(api, call_id: int, leg: str, sid: str, status: str, **more: str) -> None:
    await _signed(api, f"/webhooks/twilio/call-status?call_id={call_id}&leg={leg}",
                  {"CallSid": sid, "CallStatus": status, "SequenceNumber": str(next(_sequence)),
                   "To": DEBTOR, **more})


async def _joined(api, call_id: int, sid: str) -> None:
    await _signed(api, f"/webhooks/twilio/conference-status?call_id={call_id}",
                  {"ConferenceSid": "CF" + "7" * 32, "FriendlyName": f"call-{call_id}", "CallSid": sid,
                   "StatusCallbackEvent": "participant-join", "SequenceNumber": str(next(_sequence))})


async def _call(app, call_id: int) -> Call:
    async with app.state.container.sessions() as s:
        return await s.get(Call, call_id)


@pytest.fixture
async def lived(app, api, users, headers):
    """A call lived through from the dial to the wrap-up; returns (call id, number id, booth id, whisper)."""
    container = app.state.container
    carrier = FakeCarrier()
    container.use(carrier=carrier)
    agent, desk = users["agent"], headers["agent"]
    async with container.sessions() as s:
        client = await make_client(s, overrides=ALL_DAY)
        case = await make_case(s, client=client, assigned_agent=agent, debtor_numbers=(DEBTOR,))
        case.held_by_agent_id, case.held_until = agent.id, utcnow() + holds.HOLD  # handed out, as the queue does
        number = (await s.execute(select(PhoneNumber).join(Party).where(Party.case_id == case.id))).scalar_one()
        seat, booth = await make_seat(s), await make_seat(s)
        s.add(AgentSession(agent_id=agent.id, seat_id=seat.id, state=AgentState.READY))
        await s.commit()
        number_id, booth_id = number.id, booth.id

    dialed = await api.post("/v1/calls", json={"number_id": number_id}, headers=desk)  # decided; the seat rings
    assert dialed.status_code == 201, dialed.text
    call_id = dialed.json()["id"]
    agent_leg = (await _call(app, call_id)).agent_leg_call_id
    twiml = await _signed(api, f"/webhooks/twilio/voice/agent?call_id={call_id}",  # the whisper; the party rings
                          {"CallSid": agent_leg, "CallStatus": "in-progress"})
    party_leg = (await _call(app, call_id)).carrier_call_id
    assert agent_leg and party_leg
    await _status(api, call_id, "party", party_leg, "ringing")
    await _status(api, call_id, "party", party_leg, "in-progress")
    for sid, label in ((agent_leg, "agent"), (party_leg, "party")):  # the network: both legs in the room
        carrier.join_conference(f"call-{call_id}", sid, label=label)
        await _joined(api, call_id, sid)
    await container.inbox.drain()
    assert (await _call(app, call_id)).state.value == "bridged"

    boss = headers["supervisor"]
    joined = await api.post(f"/v1/calls/{call_id}/supervisors", json={"mode": "monitor", "seat_id": booth_id},
                            headers=boss)
    assert joined.status_code == 201, joined.text
    participant = joined.json()["participant_call_id"]
    switched = await api.patch(f"/v1/calls/{call_id}/supervisors/{participant}", json={"mode": "whisper"},
                               headers=boss)
    assert switched.status_code == 200, switched.text
    await _status(api, call_id, "supervisor", participant, "completed", CallDuration="20")  # they leave
    await _status(api, call_id, "party", party_leg, "completed", CallDuration="95")
    await _signed(api, f"/webhooks/twilio/recording-status?call_id={call_id}",
                  {"CallSid": party_leg, "RecordingSid": "RE" + "5" * 32, "RecordingStatus": "completed",
                   "RecordingUrl": "https://fake-carrier.invalid/recordings/RE5", "RecordingDuration": "90",
                   "RecordingChannels": "2"})
    await container.inbox.drain()
    assert (await _call(app, call_id)).state.value == "completed"

    due = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).date().isoformat()
    noted = await api.post(f"/v1/calls/{call_id}/wrap-up", headers=desk, json={
        "disposition": "promise_to_pay", "contact_status": "debtor_reached", "contact_name": "张三",
        "promise": {"amount": "15800.00", "due_date": due}})
    assert noted.status_code == 201, noted.text
    return call_id, participant, twiml.text


async def test_given_a_call_lived_through_when_its_page_is_read_then_every_part_is_there(app, api, users, headers,
                                                                                         lived):
    call_id, participant, twiml = lived

    answer = await api.get(f"/v1/calls/{call_id}/timeline", headers=headers["supervisor"])

    assert answer.status_code == 200, answer.text
    page = answer.json()
    call = page["call"]
    assert (call["id"], call["state"], call["outcome"], call["duration_s"]) == (call_id, "completed", "answered", 95)
    assert call["agent"]["id"] == users["agent"].id and call["party"]["role"] == "debtor"
    assert call["bridged_at"] and call["dialing_at"] and call["disposition"] == "promise_to_pay"
    assert page["whisper_text"] and page["whisper_text"] in twiml  # what the agent heard

    saved = await _call(app, call_id)
    decision = page["decision"]
    assert decision["id"] == saved.decision_id and decision["allowed"] is True and decision["dry_run"] is False
    assert decision["policy_version"] == 1 and decision["rule_results"]

    assert [n["disposition"] for n in page["notes"]] == ["promise_to_pay"]
    assert [(p["amount"], p["status"], p["note_id"]) for p in page["promises"]] == [
        ("15800.00", "pending", page["notes"][0]["id"])]

    [recording] = page["recordings"]
    assert (recording["status"], recording["channels"], recording["channel_sides"]) == (
        "pending", 2, {"1": "party", "2": "agent"})
    rid = recording["id"]
    assert recording["links"] == {"metadata": f"/v1/recordings/{rid}", "media": f"/v1/recordings/{rid}/media",
                                  "signed_link": f"/v1/recordings/{rid}/link"}

    events = page["events"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    kinds = [(e["source"], e["kind"]) for e in events]
    for expected in [("compliance", "allowed"), ("state", "requested"), ("state", "dialing"), ("state", "ringing"),
                     ("state", "answered"), ("state", "bridged"), ("state", "completed"),
                     ("carrier", "conference_status"), ("carrier", "recording_status"),
                     ("supervisor", "joined"), ("supervisor", "mode_switched"), ("supervisor", "left"),
                     ("recording", "noted"), ("note", "wrap_up"), ("promise", "promise_made")]:
        assert expected in kinds, f"{expected} missing from {kinds}"
    assert kinds.count(("carrier", "call_status")) == 4  # ringing, in-progress, the supervisor's end, completed
    supervisor = users["supervisor"]
    by_kind = {e["kind"]: e for e in events if e["source"] == "supervisor"}
    assert by_kind["joined"]["actor"]["id"] == supervisor.id and by_kind["joined"]["detail"]["mode"] == "monitor"
    assert by_kind["mode_switched"]["detail"]["mode"] == "whisper"
    assert by_kind["left"]["actor"]["id"] == supervisor.id
    assert by_kind["left"]["detail"] == {"participant_call_id": participant, "status": "completed"}
    assert kinds.index(("supervisor", "joined")) < kinds.index(("supervisor", "mode_switched")) \
        < kinds.index(("supervisor", "left")) < kinds.index(("state", "completed"))
    ended = next(e for e in events if e["kind"] == "completed")
    assert ended["detail"]["outcome"] == "answered"
    assert DEBTOR not in json.dumps(events)  # the callbacks' statuses, not who the legs were


async def test_given_the_calls_agent_then_their_page_too_and_it_is_not_audited(app, api, headers, lived):
    call_id, _, _ = lived
    async with app.state.container.sessions() as s:
        before = len((await s.execute(select(AuditEntry.id))).all())
    answer = await api.get(f"/v1/calls/{call_id}/timeline", headers=headers["agent"])

    assert answer.status_code == 200 and answer.json()["call"]["id"] == call_id
    assert [r["links"] for r in answer.json()["recordings"]] == [None]  # the recordings endpoints refuse agents
    async with app.state.container.sessions() as s:  # as GET /v1/calls/{id}: reading a call is not audited
        assert len((await s.execute(select(AuditEntry.id))).all()) == before


SCOPE = [
    pytest.param("agent-1", "a1_debtor", 200, id="an agent: own call"),
    pytest.param("agent-1", "a2_busy", 404, id="an agent: a teammate's call"),
    pytest.param("agent-3", "a1_debtor", 404, id="an agent: another team's call"),
    pytest.param("supervisor", "a2_busy", 200, id="a supervisor: a call of the team"),
    pytest.param("supervisor", "b3_on_a", 200, id="a supervisor: another team's agent on the team's case"),
    pytest.param("supervisor", "b3_done", 404, id="a supervisor: another team's call"),
    pytest.param("supervisor", "b_missed", 404, id="a supervisor: another team's missed call"),
    pytest.param("boss-b", "b_missed", 200, id="a supervisor: the team's missed call (no agent)"),
    pytest.param("boss-none", "a1_debtor", 404, id="a supervisor without a team"),
    pytest.param("admin", "b3_done", 200, id="an admin: any call"),
]


@pytest.mark.parametrize(("who", "which", "status"), SCOPE)
async def test_given_a_reader_when_reading_a_call_page_then_only_inside_their_scope(api, floor: Floor, who, which,
                                                                                    status):
    answer = await api.get(f"/v1/calls/{floor.calls[which]}/timeline", headers=floor.headers[who])

    assert answer.status_code == status, answer.text
    if status == 404:  # the same answer as an unknown id
        unknown = await api.get("/v1/calls/999999/timeline", headers=floor.headers[who])
        assert unknown.status_code == 404
        assert answer.json()["error"] == unknown.json()["error"] == "not_found"


async def test_given_a_factory_call_when_its_page_is_read_then_the_list_row_and_the_recordings_agree(api,
                                                                                                     floor: Floor):
    call_id = floor.calls["a1_debtor"]
    listed = next(i for i in (await api.get("/v1/calls", headers=floor.headers["admin"])).json()["items"]
                  if i["id"] == call_id)

    page = (await api.get(f"/v1/calls/{call_id}/timeline", headers=floor.headers["admin"])).json()

    assert {k: page["call"][k] for k in listed} == listed
    assert sorted(r["status"] for r in page["recordings"]) == ["pending", "stored"]
    assert page["decision"] is None and page["promises"] == [] and page["whisper_text"] is None
    assert [n["disposition"] for n in page["notes"]] == ["refused"]


def test_given_the_inbox_table_then_the_columns_the_page_reads_are_its_own():
    """The page reads the webhooks' table without importing webhooks: the names and types it
    declares must be the table's."""
    table = CarrierEvent.__table__
    for column in CARRIER_EVENTS.columns:
        assert column.name in table.c, column.name
        assert type(column.type) is type(table.c[column.name].type), column.name
