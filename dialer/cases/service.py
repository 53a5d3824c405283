"""Cases, their parties and phone numbers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.auth.models import Role, User
from dialer.cases import repository
from dialer.cases.models import Bucket, Case, NumberKind, Party, PhoneNumber
from dialer.cases.schemas import CaseCreate, CaseDetail, CaseUpdate, NumberIn, NumberOut, NumberUpdate, PartyIn, PartyOut
from dialer.clients import repository as clients
from dialer.clients.models import Client
from dialer.kit.errors import Conflict, InvalidInput, NotFound
from dialer.kit.phones import PhoneNumberError, parse_phone
from dialer.kit.queries import required


def default_region(client: Client) -> str:
    """The country a national-form number is read in: the region of the client's language tag."""
    _, _, region = client.language.partition("-")
    return region.upper() or "CN"


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:] if len(value) > 7 else "*" * len(value)


async def create_case(session: AsyncSession, *, data: CaseCreate, actor: Principal, now: dt.datetime) -> Case:
    client = await clients.get(session, data.client_id)
    if (
        await session.execute(
            select(Case.id).where(Case.client_id == client.id, Case.account_ref == data.account_ref)
        )
    ).first():
        raise Conflict(f"account_ref: '{data.account_ref}' already exists for client {client.code}", field="account_ref")
    if data.assigned_agent_id is not None:
        await _require_agent(session, data.assigned_agent_id)
    case = Case(
        client_id=client.id, account_ref=data.account_ref, product=data.product, currency=data.currency,
        principal=data.principal, interest_fees=data.interest_fees, total_owed=data.total_owed,
        overdue_days=data.overdue_days, overdue_as_of=now.astimezone(ZoneInfo(client.default_time_zone)).date(),
        bucket=Bucket.for_days(data.overdue_days), team=data.team, assigned_agent_id=data.assigned_agent_id,
    )
    session.add(case)
    await session.flush()
    for index, party in enumerate(data.parties):
        await _add_party(session, case=case, client=client, data=party, field=f"parties.{index}")
    await audit.record(session, action="case.create", actor=actor, entity="case", entity_id=case.id,
                       account_ref=case.account_ref, client_id=client.id)
    return case


async def get_case(session: AsyncSession, case_id: int, principal: Principal) -> Case:
    case = await repository.find_case(session, case_id, principal)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


async def case_detail(session: AsyncSession, case_id: int, principal: Principal) -> CaseDetail:
    case = await get_case(session, case_id, principal)
    parties = [
        _party_out(party, numbers, principal)
        for party, numbers in await repository.parties_with_numbers(session, [case.id])
    ]
    return CaseDetail(**_case_fields(case), parties=parties)


async def update_case(session: AsyncSession, *, case_id: int, data: CaseUpdate, actor: Principal) -> Case:
    case = await get_case(session, case_id, actor)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("assigned_agent_id") is not None:
        await _require_agent(session, changes["assigned_agent_id"])
    for field, value in changes.items():
        setattr(case, field, value)
    if "overdue_days" in changes:
        case.bucket = Bucket.for_days(case.overdue_days)
    await audit.record(session, action="case.update", actor=actor, entity="case", entity_id=case.id,
                       **{k: str(v) if v is not None else None for k, v in changes.items()})
    return case


async def add_party(session: AsyncSession, *, case_id: int, data: PartyIn, actor: Principal) -> PartyOut:
    case = await get_case(session, case_id, actor)
    client = await clients.get(session, case.client_id)
    if data.role.value == "debtor":
        raise InvalidInput("role: a case has exactly one debtor; add third parties here", field="role")
    party = await _add_party(session, case=case, client=client, data=data, field="")
    await audit.record(session, action="party.create", actor=actor, entity="party", entity_id=party.id, case_id=case.id)
    return await party_out(session, party.id, actor)


async def party_out(session: AsyncSession, party_id: int, principal: Principal) -> PartyOut:
    party = await session.get(Party, party_id)
    if party is None or await repository.find_case(session, party.case_id, principal) is None:
        raise NotFound(f"party {party_id} not found")
    numbers = await repository.numbers_of(session, party.id)
    return _party_out(party, numbers, principal)


async def add_number(session: AsyncSession, *, party_id: int, data: NumberIn, actor: Principal) -> PhoneNumber:
    party = await session.get(Party, party_id)
    if party is None or await repository.find_case(session, party.case_id, actor) is None:
        raise NotFound(f"party {party_id} not found")
    case = await required(session, Case, party.case_id)
    client = await clients.get(session, case.client_id)
    existing = await repository.numbers_of(session, party.id)
    number = _number(party, data, default_region(client), len(existing), field="number")
    if any(n.e164 == number.e164 for n in existing):
        raise Conflict(f"number: {number.e164} is already on party {party.id}", field="number")
    session.add(number)
    await session.flush()
    await audit.record(session, action="number.create", actor=actor, entity="phone_number", entity_id=number.id,
                       party_id=party.id)
    return number


async def update_number(
    session: AsyncSession, *, number_id: int, data: NumberUpdate, actor: Principal, now: dt.datetime
) -> PhoneNumber:
    number = await session.get(PhoneNumber, number_id)
    if number is None:
        raise NotFound(f"phone number {number_id} not found")
    party = await required(session, Party, number.party_id)
    if await repository.find_case(session, party.case_id, actor) is None:
        raise NotFound(f"phone number {number_id} not found")
    changes = data.model_dump(exclude_unset=True)
    if changes.get("valid") is True and actor.role is Role.AGENT:
        raise InvalidInput("valid: only a supervisor or admin may mark a number valid again", field="valid")
    if changes.get("valid") is False:
        number.invalid_marked_at = now
    elif changes.get("valid") is True:
        number.invalid_reason = None
        number.invalid_marked_at = None
    for field, value in changes.items():
        setattr(number, field, value)
    await audit.record(session, action="number.update", actor=actor, entity="phone_number", entity_id=number.id,
                       **{k: str(v) for k, v in changes.items()})
    return number


async def _require_agent(session: AsyncSession, user_id: int) -> None:
    user = await session.get(User, user_id)
    if user is None or user.role is not Role.AGENT or not user.active:
        raise InvalidInput(f"assigned_agent_id: user {user_id} is not an active agent", field="assigned_agent_id")


async def _add_party(session: AsyncSession, *, case: Case, client: Client, data: PartyIn, field: str) -> Party:
    party = Party(
        case_id=case.id, role=data.role, relation=data.relation, name=data.name, id_number=data.id_number,
        debt_related=data.debt_related, time_zone=data.time_zone, address=data.address,
    )
    session.add(party)
    await session.flush()
    prefix = f"{field}." if field else ""
    seen: set[str] = set()
    for position, number_in in enumerate(data.numbers):
        number = _number(party, number_in, default_region(client), position, field=f"{prefix}numbers.{position}.number")
        if number.e164 in seen:
            raise InvalidInput(f"{prefix}numbers.{position}.number: {number.e164} listed twice", field=f"{prefix}numbers.{position}.number")
        seen.add(number.e164)
        session.add(number)
    await session.flush()
    return party


def _number(party: Party, data: NumberIn, region: str, position: int, *, field: str) -> PhoneNumber:
    try:
        parsed = parse_phone(data.number, region)
    except PhoneNumberError as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from None
    zone = data.time_zone or (parsed.time_zones[0] if len(parsed.time_zones) == 1 else None)
    return PhoneNumber(
        party_id=party.id, e164=parsed.e164, region=parsed.region, time_zone=zone, position=position,
        kind=data.kind or NumberKind(parsed.kind),
    )


def _case_fields(case: Case) -> dict:
    return {name: getattr(case, name) for name in CaseDetail.model_fields if name != "parties"}


def _party_out(party: Party, numbers: list[PhoneNumber], principal: Principal) -> PartyOut:
    out = PartyOut.model_validate(party)
    out.numbers = [NumberOut.model_validate(n) for n in numbers]
    if principal.role is Role.AGENT:
        out.id_number = mask_id_number(out.id_number)
    return out
