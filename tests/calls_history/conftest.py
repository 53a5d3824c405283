"""A small floor with a history: two teams, their agents and supervisors, two clients' cases, and
calls of every kind written as the service writes them (each a known start, an hour apart)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.auth.models import Role, User
from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from dialer.cases.models import Case, Party, PartyRole, PhoneNumber, Relation
from dialer.notes.models import Disposition, WrapUpNote
from tests.factories import make_case, make_client, make_party, make_seat

T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in Shanghai


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@dataclass
class Floor:
    """Who is who, and the calls by name (``calls["a1_debtor"]`` is that call's id)."""

    users: dict[str, User]
    headers: dict[str, dict[str, str]]
    client_a: int
    client_b: int
    case_a: int  # team-a's case (client A): a debtor and a friend
    case_b: int  # team-b's case (client B)
    debtor_a: int
    friend_a: int
    calls: dict[str, int] = field(default_factory=dict)

    def ids(self, *names: str) -> set[int]:
        return {self.calls[n] for n in names}


def bearer(app: Any, user: User) -> dict[str, str]:
    container = app.state.container
    token, _ = container.tokens.issue(user_id=user.id, role=user.role, now=container.clock())
    return {"Authorization": f"Bearer {token}"}


async def _token_user(s: Any, username: str, role: Role, team: str | None) -> User:
    """A user who signs in with a token only (no password to hash: the fixture stays quick)."""
    user = User(username=username, display_name=username.title(), role=role, team=team, password_hash=None)
    s.add(user)
    await s.flush()
    return user


async def _number(s: Any, party_id: int) -> PhoneNumber:
    return (await s.execute(select(PhoneNumber).where(PhoneNumber.party_id == party_id))).scalars().first()


@pytest.fixture
async def floor(app, users, headers) -> Floor:
    """users["agent"] (agent-1) and agent-2 in team-a, agent-3 in team-b; users["supervisor"] leads
    team-a, boss-b team-b, boss-none no team; calls (newest last):

    - a1_debtor:   agent-1 → case A's debtor, answered, a stored and a pending recording, noted
    - a1_friend:   agent-1 → case A's friend, no answer
    - a2_busy:     agent-2 → case A's debtor, busy
    - b3_done:     agent-3 → case B's debtor (client B), answered, one pending recording
    - b_missed:    inbound to case B, nobody took it (no agent)
    - a1_inbound:  case A's debtor rang agent-1, answered
    - b3_on_a:     agent-3 (team-b) → case A (team-a), no answer: team-a's by its case, team-b's by its agent
    - a2_tie:      agent-2 → case A, failed, at the same instant as b3_on_a
    """
    async with app.state.container.sessions() as s:
        agent1, supervisor = users["agent"], users["supervisor"]
        agent2 = await _token_user(s, "agent-2", Role.AGENT, "team-a")
        agent3 = await _token_user(s, "agent-3", Role.AGENT, "team-b")
        boss_b = await _token_user(s, "boss-b", Role.SUPERVISOR, "team-b")
        boss_none = await _token_user(s, "boss-none", Role.SUPERVISOR, None)
        client_a, client_b = await make_client(s, name="银行甲"), await make_client(s, name="银行乙")
        case_a = await make_case(s, client=client_a, team="team-a", assigned_agent=agent1)
        case_b = await make_case(s, client=client_b, team="team-b", debtor_numbers=("+8613700137000",))
        debtor_a = (await s.execute(select(Party).where(Party.case_id == case_a.id))).scalar_one()
        debtor_b = (await s.execute(select(Party).where(Party.case_id == case_b.id))).scalar_one()
        friend_a = await make_party(s, case=case_a, role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND,
                                    numbers=("+8613900139000",))
        seat_a, seat_b = await make_seat(s), await make_seat(s, team="team-b")
        users_all = {"agent-1": agent1, "agent-2": agent2, "agent-3": agent3, "supervisor": supervisor,
                     "boss-b": boss_b, "boss-none": boss_none, "admin": users["admin"]}
        floor = Floor(users_all, {}, client_a.id, client_b.id, case_a.id, case_b.id, debtor_a.id, friend_a.id)

        async def call(name: str, hours: float, *, agent: User | None, case: Case, party: Party,
                       direction: Direction = Direction.OUTBOUND, state: CallState = CallState.COMPLETED,
                       outcome: CallOutcome | None = CallOutcome.ANSWERED) -> Call:
            number = await _number(s, party.id)
            started = at(hours)
            answered = outcome is CallOutcome.ANSWERED
            row = Call(
                direction=direction, carrier="twilio", state=state, outcome=outcome, client_id=case.client_id,
                case_id=case.id, party_id=party.id, number_id=number.id, agent_id=agent.id if agent else None,
                seat_id=(seat_b if agent is agent3 else seat_a).id if agent else None,
                to_e164=number.e164 if direction is Direction.OUTBOUND else "+862100000000",
                from_e164="+862100000000" if direction is Direction.OUTBOUND else number.e164,
                requested_at=started, answered_at=started + dt.timedelta(seconds=15) if answered else None,
                ended_at=started + dt.timedelta(minutes=2),
                duration_s=120 if answered else None, talk_s=105 if answered else None,
            )
            s.add(row)
            await s.flush()
            floor.calls[name] = row.id
            return row

        a1 = await call("a1_debtor", 0, agent=agent1, case=case_a, party=debtor_a)
        await call("a1_friend", 1, agent=agent1, case=case_a, party=friend_a, state=CallState.NO_ANSWER,
                   outcome=CallOutcome.NO_ANSWER)
        await call("a2_busy", 2, agent=agent2, case=case_a, party=debtor_a, state=CallState.BUSY,
                   outcome=CallOutcome.BUSY)
        b3 = await call("b3_done", 3, agent=agent3, case=case_b, party=debtor_b)
        await call("b_missed", 4, agent=None, case=case_b, party=debtor_b, direction=Direction.INBOUND,
                   state=CallState.MISSED, outcome=CallOutcome.MISSED)
        await call("a1_inbound", 5, agent=agent1, case=case_a, party=debtor_a, direction=Direction.INBOUND)
        await call("b3_on_a", 6, agent=agent3, case=case_a, party=debtor_a, state=CallState.NO_ANSWER,
                   outcome=CallOutcome.NO_ANSWER)
        await call("a2_tie", 6, agent=agent2, case=case_a, party=debtor_a, state=CallState.FAILED,
                   outcome=CallOutcome.FAILED)
        for n, (owner, status) in enumerate(((a1, RecordingStatus.STORED), (a1, RecordingStatus.PENDING),
                                             (b3, RecordingStatus.PENDING))):
            s.add(Recording(call_id=owner.id, carrier="twilio", carrier_recording_id=f"RE{n}", status=status,
                            channels=2, duration_s=100))
        s.add(WrapUpNote(call_id=a1.id, case_id=case_a.id, party_id=debtor_a.id, agent_id=agent1.id,
                         disposition=Disposition.REFUSED, contact_name="张三", contact_status="debtor_reached",
                         result="拒绝还款"))
        await s.commit()
    floor.headers = {**headers, "agent-1": headers["agent"]}
    for name in ("agent-2", "agent-3", "boss-b", "boss-none"):
        floor.headers[name] = bearer(app, users_all[name])
    return floor


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements sent to the database inside the block (every connection of ``engine``)."""
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
