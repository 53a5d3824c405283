"""The demo's sample portfolio: two client banks with different policies, a few hundred cases with
debtors and third parties, some stop-contact entries, and some parties at or one attempt from the
policy's caps today (on cases whose promise is due today, so the work queue reaches them first and
a demo of a minute shows the caps at work)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.models import Role, User
from dialer.auth.passwords import hash_password
from dialer.cases.models import Bucket, Case, NumberKind, Party, PartyRole, PhoneNumber, Relation
from dialer.clients.models import Client, PolicyVersion
from dialer.compliance.models import Attempt, AttemptSource, StopContact, StopSource
from dialer.kit.zones import AGENCY_ZONE
from dialer.notes.models import PromiseToPay
from dialer.policy.presets import build_policy
from dialer.seats.models import Seat, SeatCarrier
from dialer.seats.sip_credentials import set_generated_sip_password, sip_account

PASSWORD = "demo-password"
TEAM = "demo"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
BLOCKED_CASES = 8
"""The largest debts, which the policy refuses outright today: on every other one the client asked
us to stop contacting the account; on the rest every party is at a cap (see :func:`_at_cap`). Each
has a promise due today, so the work queue asks about them first and sets them aside."""
DEBTOR_NUMBER_DAILY_CAP = 6
DEBTOR_CONVERSATION_DAILY_CAP = 3
THIRD_PARTY_HOURLY_CAP = 2
"""The caps of both demo clients' presets (cn-cba-2026 and agency-default) that the history meets."""
CLIENT_ZONE = ZoneInfo(AGENCY_ZONE)
"""Both clients' default time zone: their caps count attempts per local day there."""
RELATIONS = (Relation.SPOUSE, Relation.PARENT, Relation.SIBLING, Relation.COLLEAGUE, Relation.FRIEND)


@dataclass(frozen=True, slots=True)
class Seeded:
    clients: dict[str, int]
    agents: list[tuple[str, int]]  # (username, seat id)
    supervisor: str
    admin: str
    cases: int
    parties: int
    numbers: list[str]
    stops: int
    at_cap: list[int]  # parties at a cap today: the policy refuses them until the cap frees
    near_cap: list[int]  # parties one attempt from a cap today: one more call is allowed, then none
    promises_due: int  # cases whose promise is due today (the work queue's first tier)
    seat_codes: list[str]
    sip_passwords: dict[str, str] = field(default_factory=dict)  # SIP seats: SIP user → password


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        number = f"+86{rng.choice(('138', '139', '186', '150', '177'))}{rng.randint(0, 99_999_999):08d}"
        if number not in used:
            used.add(number)
            return number


async def seed(session: AsyncSession, *, now: dt.datetime, cases: int = 300, agents: int = 6, seed: int = 7,
               sip_domain: str | None = None, policy_overrides: dict[str, Any] | None = None) -> Seeded:
    """``sip_domain``: the seats are SIP seats (``sip:seat-a01@<domain>``) with generated SIP
    passwords (returned in ``Seeded.sip_passwords``); else Twilio softphones (``client:seat-a01``).
    ``policy_overrides``: merged into both clients' presets."""
    rng = random.Random(seed)
    password = hash_password(PASSWORD)
    users = [User(username=f"demo-agent-{i + 1}", display_name=f"坐席{i + 1}", role=Role.AGENT, team=TEAM,
                  password_hash=password) for i in range(agents)]
    supervisor = User(username="demo-supervisor", display_name="主管", role=Role.SUPERVISOR, team=TEAM,
                      password_hash=password)
    admin = User(username="demo-admin", display_name="管理员", role=Role.ADMIN, password_hash=password)
    if sip_domain is None:
        seats = [Seat(code=f"A-{i + 1:02d}", softphone_identity=f"client:seat-a{i + 1:02d}", team=TEAM,
                      location="一楼 A 区") for i in range(agents)]
    else:
        seats = [Seat(code=f"A-{i + 1:02d}", softphone_identity=f"sip:seat-a{i + 1:02d}@{sip_domain}",
                      carrier=SeatCarrier.SIP, team=TEAM, location="一楼 A 区") for i in range(agents)]
    session.add_all([*users, supervisor, admin, *seats])
    clients = {
        "CMB": Client(code="CMB", name="招商银行", policy_version=1),
        "PAB": Client(code="PAB", name="平安银行", policy_version=1),
    }
    session.add_all(clients.values())
    await session.flush()
    sip_passwords: dict[str, str] = {}
    if sip_domain is not None:
        for seat in seats:
            _, sip_passwords[sip_account(seat).username] = await set_generated_sip_password(
                session, seat.id, actor=None, now=now)
    presets = {"CMB": "cn-cba-2026", "PAB": "agency-default"}
    for code, client in clients.items():
        document = build_policy(presets[code], policy_overrides or {})
        session.add(PolicyVersion(client_id=client.id, version=1, preset=presets[code],
                                  overrides=policy_overrides or {}, document=document.model_dump(mode="json"),
                                  reason="demo"))
    used: set[str] = set()
    all_numbers: list[str] = []
    parties: list[tuple[Party, Case]] = []
    numbers_of: dict[int, list[PhoneNumber]] = {}
    accounts: list[tuple[Case, list[Party]]] = []  # each case with its debtor first
    for n in range(cases):
        client = clients["CMB" if n % 2 else "PAB"]
        days = rng.choice((15, 25, 40, 55, 75, 120, 200))
        owed = Decimal(rng.randrange(2_000_00, 90_000_00)) / 100
        if n < BLOCKED_CASES:  # the largest debts, which the queue reaches first, are the blocked ones
            days, owed = 200, Decimal(99_000_00 - n * 1_000_00) / 100
        case = Case(client_id=client.id, account_ref=f"{client.code}-{n + 1:05d}", product="信用卡",
                    total_owed=owed, principal=(owed * Decimal("0.85")).quantize(Decimal("0.01")),
                    interest_fees=(owed * Decimal("0.15")).quantize(Decimal("0.01")),
                    overdue_days=days, overdue_as_of=now.date(), bucket=Bucket.for_days(days), team=TEAM)
        session.add(case)
        await session.flush()
        debtor = Party(case_id=case.id, role=PartyRole.DEBTOR, relation=Relation.SELF, name=_name(rng))
        contacts = [Party(case_id=case.id, role=PartyRole.THIRD_PARTY, relation=rng.choice(RELATIONS), name=_name(rng))
                    for _ in range(rng.randint(1, 2))]
        session.add_all([debtor, *contacts])
        await session.flush()
        for party in (debtor, *contacts):
            count = 2 if party is debtor and rng.random() < 0.4 else 1
            for position in range(count):
                e164 = _mobile(rng, used)
                all_numbers.append(e164)
                number = PhoneNumber(party_id=party.id, e164=e164, kind=NumberKind.MOBILE, region="CN",
                                     position=position)
                session.add(number)
                numbers_of.setdefault(party.id, []).append(number)
            parties.append((party, case))
        accounts.append((case, [debtor, *contacts]))
    await session.flush()
    at_cap: list[int] = []
    near_cap: list[int] = []
    for n, (case, members) in enumerate(accounts[:BLOCKED_CASES]):
        case.next_follow_up_at = now - dt.timedelta(days=1)  # overdue
        _promise_due_today(session, case, members[0], now)  # with the largest debts: the queue's very first
        if n % 2 == 0:  # the client asked us to stop contacting everyone on this account
            for party in members:
                session.add(StopContact(client_id=case.client_id, case_id=case.id, party_id=party.id,
                                        source=StopSource.CLIENT_LIST, reason="客户名单：暂停催收（投诉处理中）"))
        else:  # every party already called (or spoken to) as often as the policy allows for now
            _at_cap(session, case, members, numbers_of, now, conversations=n % 4 == 3)
            at_cap += [party.id for party in members]
    near = rng.sample(accounts[BLOCKED_CASES:], k=min(len(accounts) - BLOCKED_CASES, max(2, cases // 30)))
    for case, members in near:  # one more call allowed to each party today, then no more
        _promise_due_today(session, case, members[0], now)
        _near_cap(session, case, members, numbers_of, now)
        near_cap += [party.id for party in members]
    await session.flush()
    stops = 0
    for party, case in rng.sample(parties, k=max(1, len(parties) // 25)):  # 4%: asked not to be called
        session.add(StopContact(client_id=case.client_id, case_id=case.id, party_id=party.id,
                                source=StopSource.CLIENT_LIST if party.role is PartyRole.DEBTOR else StopSource.PARTY_REQUEST,
                                reason="客户名单：停止联系" if party.role is PartyRole.DEBTOR else "第三方要求不再来电"))
        stops += 1
    await session.flush()
    return Seeded(
        clients={code: c.id for code, c in clients.items()},
        agents=[(u.username, s.id) for u, s in zip(users, seats)],
        supervisor=supervisor.username, admin=admin.username, cases=cases, parties=len(parties),
        numbers=all_numbers, stops=stops, at_cap=at_cap, near_cap=near_cap,
        promises_due=len(accounts[:BLOCKED_CASES]) + len(near),
        seat_codes=[s.code for s in seats], sip_passwords=sip_passwords,
    )


def earlier_today(now: dt.datetime, count: int, *, latest: dt.timedelta) -> list[dt.datetime]:
    """``count`` instants spread from the opening of the calling window (08:00 in the clients'
    zone) to ``latest`` before ``now``, all within the clients' local day, earliest first."""
    local = now.astimezone(CLIENT_ZONE)
    midnight = dt.datetime.combine(local.date(), dt.time(0, 0), tzinfo=CLIENT_ZONE)
    opening = midnight + dt.timedelta(hours=8)
    last = max(now - latest, midnight)
    first = opening if opening < last else midnight
    step = (last - first) / (count - 1) if count > 1 else dt.timedelta(0)
    return [(first + step * k).astimezone(dt.UTC) for k in range(count)]


def within_the_hour(now: dt.datetime, count: int) -> list[dt.datetime]:
    """``count`` instants in the last half hour (20 and 8 minutes ago for two): the oldest leaves
    the hourly window 40 minutes from ``now``, after a demo's simulated shift."""
    return [now - dt.timedelta(minutes=20 - 12 * k) for k in range(count)]


def _attempts(session: AsyncSession, case: Case, party: Party, number: PhoneNumber, times: list[dt.datetime], *,
              conversation: bool = False) -> None:
    for at in times:
        session.add(Attempt(client_id=case.client_id, case_id=case.id, party_id=party.id, number_id=number.id,
                            started_at=at, outcome="answered" if conversation else "no_answer",
                            conversation=conversation, direction="outbound", source=AttemptSource.IMPORT))


def _at_cap(session: AsyncSession, case: Case, members: list[Party], numbers_of: dict[int, list[PhoneNumber]],
            now: dt.datetime, *, conversations: bool) -> None:
    """Every party of the case at a cap today: the debtor either called on every number as often as
    a day allows, or already spoken to as often as a day allows; each third party called as often as
    an hour allows (the cap frees 40 minutes from now)."""
    debtor, *contacts = members
    if conversations:
        _attempts(session, case, debtor, numbers_of[debtor.id][0],
                  earlier_today(now, DEBTOR_CONVERSATION_DAILY_CAP, latest=dt.timedelta(minutes=30)), conversation=True)
    else:
        for number in numbers_of[debtor.id]:
            _attempts(session, case, debtor, number,
                      earlier_today(now, DEBTOR_NUMBER_DAILY_CAP, latest=dt.timedelta(minutes=30)))
    for party in contacts:
        _attempts(session, case, party, numbers_of[party.id][0], within_the_hour(now, THIRD_PARTY_HOURLY_CAP))


def _near_cap(session: AsyncSession, case: Case, members: list[Party], numbers_of: dict[int, list[PhoneNumber]],
              now: dt.datetime) -> None:
    """Every party of the case one attempt from a cap today: each of the debtor's numbers called one
    time fewer than a day allows, each third party once in the last hour."""
    debtor, *contacts = members
    for number in numbers_of[debtor.id]:
        _attempts(session, case, debtor, number,
                  earlier_today(now, DEBTOR_NUMBER_DAILY_CAP - 1, latest=dt.timedelta(minutes=30)))
    for party in contacts:
        _attempts(session, case, party, numbers_of[party.id][0], within_the_hour(now, THIRD_PARTY_HOURLY_CAP - 1))


def _promise_due_today(session: AsyncSession, case: Case, debtor: Party, now: dt.datetime) -> None:
    """A promise the debtor made last week, due today: the case is in the work queue's first tier
    (where the party was called earlier today, those were its due-day reminders)."""
    session.add(PromiseToPay(case_id=case.id, party_id=debtor.id, amount=case.total_owed,
                             due_date=now.astimezone(CLIENT_ZONE).date(),
                             created_at=now - dt.timedelta(days=7)))
