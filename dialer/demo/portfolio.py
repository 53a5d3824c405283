"""The demo's sample portfolio: two client banks with different policies, a few hundred cases with
debtors and third parties, some stop-contact entries and some histories near their caps."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.models import Role, User
from dialer.auth.passwords import hash_password
from dialer.cases.models import Bucket, Case, NumberKind, Party, PartyRole, PhoneNumber, Relation
from dialer.clients.models import Client, PolicyVersion
from dialer.compliance.models import Attempt, AttemptSource, StopContact, StopSource
from dialer.policy.presets import build_policy
from dialer.seats.models import Seat

PASSWORD = "demo-password"
TEAM = "demo"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
BLOCKED_CASES = 8
"""Large debts the policy refuses outright today (stopped accounts, numbers at their daily caps)."""
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
    near_cap: int


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        number = f"+86{rng.choice(('138', '139', '186', '150', '177'))}{rng.randint(0, 99_999_999):08d}"
        if number not in used:
            used.add(number)
            return number


async def seed(session: AsyncSession, *, now: dt.datetime, cases: int = 300, agents: int = 6, seed: int = 7) -> Seeded:
    rng = random.Random(seed)
    password = hash_password(PASSWORD)
    users = [User(username=f"demo-agent-{i + 1}", display_name=f"坐席{i + 1}", role=Role.AGENT, team=TEAM,
                  password_hash=password) for i in range(agents)]
    supervisor = User(username="demo-supervisor", display_name="主管", role=Role.SUPERVISOR, team=TEAM,
                      password_hash=password)
    admin = User(username="demo-admin", display_name="管理员", role=Role.ADMIN, password_hash=password)
    seats = [Seat(code=f"A-{i + 1:02d}", softphone_identity=f"client:seat-a{i + 1:02d}", team=TEAM,
                  location="一楼 A 区") for i in range(agents)]
    session.add_all([*users, supervisor, admin, *seats])
    clients = {
        "CMB": Client(code="CMB", name="招商银行", policy_version=1),
        "PAB": Client(code="PAB", name="平安银行", policy_version=1),
    }
    session.add_all(clients.values())
    await session.flush()
    presets = {"CMB": "cn-cba-2026", "PAB": "agency-default"}
    for code, client in clients.items():
        document = build_policy(presets[code], {})
        session.add(PolicyVersion(client_id=client.id, version=1, preset=presets[code], overrides={},
                                  document=document.model_dump(mode="json"), reason="demo"))
    used: set[str] = set()
    all_numbers: list[str] = []
    parties: list[tuple[Party, Case]] = []
    first_number: dict[int, PhoneNumber] = {}
    blocked: list[tuple[Case, list[Party]]] = []
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
                first_number.setdefault(party.id, number)
            parties.append((party, case))
        if n < BLOCKED_CASES:
            blocked.append((case, [debtor, *contacts]))
    await session.flush()
    for n, (case, members) in enumerate(blocked):
        case.next_follow_up_at = now - dt.timedelta(days=1)  # overdue: the queue looks at them first
        for party in members:
            if n % 2 == 0:  # the client asked us to stop contacting everyone on this account
                session.add(StopContact(client_id=case.client_id, case_id=case.id, party_id=party.id,
                                        source=StopSource.CLIENT_LIST, reason="客户名单：暂停催收（投诉处理中）"))
            else:  # every number already called as often as today allows
                for k in range(6):
                    session.add(Attempt(client_id=case.client_id, case_id=case.id, party_id=party.id,
                                        number_id=first_number[party.id].id,
                                        started_at=now - dt.timedelta(minutes=30 + 25 * k), outcome="no_answer",
                                        conversation=False, direction="outbound", source=AttemptSource.IMPORT))
    await session.flush()
    stops = near = 0
    for party, case in rng.sample(parties, k=max(1, len(parties) // 25)):  # 4%: asked not to be called
        session.add(StopContact(client_id=case.client_id, case_id=case.id, party_id=party.id,
                                source=StopSource.CLIENT_LIST if party.role is PartyRole.DEBTOR else StopSource.PARTY_REQUEST,
                                reason="客户名单：停止联系" if party.role is PartyRole.DEBTOR else "第三方要求不再来电"))
        stops += 1
    for party, case in rng.sample(parties, k=max(1, len(parties) // 8)):  # histories near their caps today
        for k in range(5 if party.role is PartyRole.DEBTOR else 2):
            session.add(Attempt(client_id=case.client_id, case_id=case.id, party_id=party.id,
                                number_id=first_number[party.id].id, started_at=now - dt.timedelta(minutes=20 + 7 * k), outcome="no_answer",
                                conversation=False, direction="outbound", source=AttemptSource.IMPORT))
        near += 1
    await session.flush()
    return Seeded(
        clients={code: c.id for code, c in clients.items()},
        agents=[(u.username, s.id) for u, s in zip(users, seats)],
        supervisor=supervisor.username, admin=admin.username, cases=cases, parties=len(parties),
        numbers=all_numbers, stops=stops, near_cap=near,
    )
