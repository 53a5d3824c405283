"""Plain async factories with keyword defaults. They flush, never commit."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.models import Role, User
from dialer.auth.passwords import hash_password
from dialer.cases.models import Bucket, Case, NumberKind, Party, PartyRole, PhoneNumber, Relation
from dialer.clients.models import Client, PolicyVersion
from dialer.seats.models import Seat

_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


async def make_client(
    session: AsyncSession, *, code: str | None = None, name: str = "招商示例银行",
    preset: str = "agency-default", overrides: dict[str, Any] | None = None, **fields: Any,
) -> Client:
    from dialer.policy.presets import build_policy

    document = build_policy(preset, overrides or {})
    client = Client(code=code or f"BANK{_n()}", name=name, policy_version=1, **fields)
    session.add(client)
    await session.flush()
    session.add(
        PolicyVersion(
            client_id=client.id, version=1, preset=preset, overrides=overrides or {},
            document=document.model_dump(mode="json"), reason="created",
        )
    )
    await session.flush()
    return client


async def make_user(
    session: AsyncSession, *, username: str | None = None, role: Role = Role.AGENT,
    password: str = "correct horse battery", team: str | None = "team-a", active: bool = True,
) -> User:
    name = username or f"{role.value}{_n()}"
    user = User(
        username=name, display_name=name.title(), role=role, team=team,
        password_hash=hash_password(password), active=active,
    )
    session.add(user)
    await session.flush()
    return user


async def make_seat(session: AsyncSession, *, code: str | None = None, team: str | None = "team-a") -> Seat:
    n = _n()
    seat = Seat(code=code or f"S{n:03d}", softphone_identity=f"client:seat-{n:03d}", team=team)
    session.add(seat)
    await session.flush()
    return seat


async def make_case(
    session: AsyncSession, *, client: Client | None = None, account_ref: str | None = None,
    total_owed: Decimal = Decimal("15800.00"), overdue_days: int = 45, debtor_name: str = "张三",
    debtor_numbers: tuple[str, ...] = ("+8613800138000",), assigned_agent: User | None = None,
    team: str | None = "team-a", **fields: Any,
) -> Case:
    client = client or await make_client(session)
    case = Case(
        client_id=client.id, account_ref=account_ref or f"ACC{_n():06d}", total_owed=total_owed,
        principal=total_owed, overdue_days=overdue_days, overdue_as_of=dt.date(2026, 11, 24),
        bucket=Bucket.for_days(overdue_days), assigned_agent_id=assigned_agent.id if assigned_agent else None,
        team=team, **fields,
    )
    session.add(case)
    await session.flush()
    await make_party(session, case=case, name=debtor_name, numbers=debtor_numbers)
    return case


async def make_party(
    session: AsyncSession, *, case: Case, name: str = "李四", role: PartyRole = PartyRole.DEBTOR,
    relation: Relation | None = None, numbers: tuple[str, ...] = (), time_zone: str | None = None,
    debt_related: bool = False,
) -> Party:
    party = Party(
        case_id=case.id, role=role, name=name, time_zone=time_zone, debt_related=debt_related,
        relation=relation or (Relation.SELF if role is PartyRole.DEBTOR else Relation.OTHER),
    )
    session.add(party)
    await session.flush()
    for position, e164 in enumerate(numbers):
        session.add(PhoneNumber(party_id=party.id, e164=e164, kind=NumberKind.MOBILE, position=position))
    await session.flush()
    return party
