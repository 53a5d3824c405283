"""Finding a client, a case, a party or a phone number by the names people use: a client's code
or name, a case's account reference, a number as written (E.164 or national), a party's name on a
case. Every miss is a :class:`NotFound` and every ambiguity an :class:`InvalidInput` naming the
field and listing the candidates, so the person can say which one they meant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.cases.models import Case, Party, PartyRole, PhoneNumber
from dialer.cases.service import default_region
from dialer.clients.models import Client
from dialer.kit.errors import InvalidInput, NotFound
from dialer.kit.phones import PhoneNumberError, parse_phone

SHOWN = 10
"""At most this many candidates are listed in an error's text (all of them in its ``candidates``)."""


@dataclass(frozen=True, slots=True)
class Match:
    """A party (and, when found by a number, that number) with what a person recognises it by."""

    client_code: str
    account_ref: str
    case_id: int
    party_id: int
    party_name: str
    role: PartyRole
    number_id: int | None = None
    e164: str | None = None

    def label(self) -> str:
        """``ACC-1 (BANK1): 王芳, third party (party 12, number 31)``."""
        ids = f"party {self.party_id}" + (f", number {self.number_id}" if self.number_id is not None else "")
        return f"{self.account_ref} ({self.client_code}): {self.party_name}, {_role(self.role)} ({ids})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client_code, "account_ref": self.account_ref, "case_id": self.case_id,
            "party_id": self.party_id, "party_name": self.party_name, "role": self.role.value,
            "number_id": self.number_id, "e164": self.e164,
        }


def _role(role: PartyRole) -> str:
    return role.value.replace("_", " ")


def _listing(matches: Sequence[Match]) -> str:
    shown = "; ".join(m.label() for m in matches[:SHOWN])
    return shown + (f"; and {len(matches) - SHOWN} more" if len(matches) > SHOWN else "")


def _ambiguous(field: str, what: str, matches: Sequence[Match], hint: str) -> InvalidInput:
    return InvalidInput(f"{field}: {what} matches {len(matches)} parties: {_listing(matches)}; {hint}",
                        field=field, candidates=[m.as_dict() for m in matches])


async def find_client(session: AsyncSession, ref: str) -> Client:
    """The client with this id (all digits), code or else name."""
    text = ref.strip()
    if text.isdigit() and len(text) <= 18:
        by_id = await session.get(Client, int(text))
        if by_id is not None:
            return by_id
    by_code = (await session.execute(select(Client).where(Client.code == text))).scalar_one_or_none()
    if by_code is not None:
        return by_code
    named = (await session.execute(select(Client).where(Client.name == text).order_by(Client.id))).scalars().all()
    if len(named) > 1:
        codes = ", ".join(c.code for c in named)
        raise InvalidInput(f"client: '{text}' is the name of {len(named)} clients ({codes}); give the code",
                           field="client", candidates=[c.code for c in named])
    if not named:
        raise NotFound(f"client '{text}' not found (give its code, id or name)", field="client")
    return named[0]


async def case_by_account(session: AsyncSession, account_ref: str, *, client: Client | None = None) -> Case:
    """The case with this account reference (at ``client`` when given: references are unique per client)."""
    text = account_ref.strip()
    query = select(Case, Client.code).join(Client, Client.id == Case.client_id).where(Case.account_ref == text)
    if client is not None:
        query = query.where(Case.client_id == client.id)
    rows = (await session.execute(query.order_by(Case.id))).all()
    if not rows:
        at = f" at client {client.code}" if client is not None else ""
        raise NotFound(f"account: no case with account reference '{text}'{at}", field="account")
    if len(rows) > 1:
        codes = [code for _, code in rows]
        raise InvalidInput(f"account: '{text}' is an account at {len(rows)} clients ({', '.join(codes)}); "
                           "give the client (--client) to choose", field="account", candidates=codes)
    return rows[0][0]


async def _matches(session: AsyncSession, case: Case) -> list[Match]:
    """The parties of a case, in the order they were added."""
    rows = (
        await session.execute(
            select(Party.id, Party.name, Party.role, Client.code)
            .join(Case, Case.id == Party.case_id).join(Client, Client.id == Case.client_id)
            .where(Party.case_id == case.id).order_by(Party.id)
        )
    ).all()
    return [Match(client_code=code, account_ref=case.account_ref, case_id=case.id, party_id=party_id,
                  party_name=name, role=role) for party_id, name, role, code in rows]


async def debtor_of(session: AsyncSession, case: Case) -> Match:
    """The case's debtor."""
    debtors = [m for m in await _matches(session, case) if m.role is PartyRole.DEBTOR]
    if not debtors:
        raise NotFound(f"account: case {case.account_ref} has no debtor", field="account")
    if len(debtors) > 1:
        raise _ambiguous("account", f"the debtor of {case.account_ref}", debtors,
                         "give the party's name (--party-name) or id (--party)")
    return debtors[0]


async def party_by_name(session: AsyncSession, case: Case, name: str) -> Match:
    """The party of ``case`` with this name (spaces around it and letter case aside)."""
    wanted = name.strip().casefold()
    if not wanted:
        raise InvalidInput("party_name: empty name", field="party_name")
    parties = await _matches(session, case)
    named = [m for m in parties if m.party_name.strip().casefold() == wanted]
    if not named:
        known = ", ".join(f"{m.party_name} ({_role(m.role)})" for m in parties) or "none"
        raise NotFound(f"party_name: no party named '{name.strip()}' on account {case.account_ref}; "
                       f"its parties: {known}", field="party_name")
    if len(named) > 1:
        raise _ambiguous("party_name", f"'{name.strip()}' on account {case.account_ref}", named,
                         "give the party's id (--party)")
    return named[0]


async def number_by_phone(
    session: AsyncSession, raw: str, *, client: Client | None = None, case: Case | None = None,
    party_id: int | None = None,
) -> Match:
    """The phone number of a party written as a person writes it: E.164, or national form read in
    the region of the case's client (else of ``client``, else CN). ``client``, ``case`` and
    ``party_id`` narrow the search; a number several parties share is an :class:`InvalidInput`
    listing them."""
    if case is not None and (client is None or client.id != case.client_id):
        client = await session.get(Client, case.client_id)
    region = default_region(client) if client is not None else "CN"
    try:
        e164 = parse_phone(raw, region).e164
    except PhoneNumberError as exc:
        raise InvalidInput(f"phone: {exc}", field="phone") from None
    query = (
        select(PhoneNumber.id, Party.id, Party.name, Party.role, Case.id, Case.account_ref, Client.code)
        .join(Party, Party.id == PhoneNumber.party_id).join(Case, Case.id == Party.case_id)
        .join(Client, Client.id == Case.client_id)
        .where(PhoneNumber.e164 == e164)
    )
    scope = ""
    if client is not None:
        query, scope = query.where(Case.client_id == client.id), f" at client {client.code}"
    if case is not None:
        query, scope = query.where(Party.case_id == case.id), f" on account {case.account_ref}"
    if party_id is not None:
        query = query.where(Party.id == party_id)
    rows = (await session.execute(query.order_by(PhoneNumber.id))).all()
    matches = [
        Match(client_code=code, account_ref=account_ref, case_id=case_id, party_id=pid, party_name=name, role=role,
              number_id=number_id, e164=e164)
        for number_id, pid, name, role, case_id, account_ref, code in rows
    ]
    if not matches:
        whose = "that party" if party_id is not None else "any party"
        raise NotFound(f"phone: {e164} is not a number of {whose}{scope}", field="phone")
    if len(matches) > 1:
        hint = ("give the party's name (--party-name) or the number's id (--number)" if case is not None
                else "give the case's account (--account) to choose, or the number's id (--number)")
        raise _ambiguous("phone", e164, matches, hint)
    return matches[0]


async def find_target(
    session: AsyncSession, *, account: str | None = None, phone: str | None = None, party_name: str | None = None,
    client: str | None = None,
) -> Match:
    """What to check or dial, named the way a person names it: a case's account (its debtor, or
    with ``party_name`` that party), or a phone number (narrowed by the account and party name
    when given too). ``client`` (code, id or name) narrows both."""
    if party_name is not None and account is None:
        raise InvalidInput("party_name: a party's name needs the case's account (--account)", field="party_name")
    if account is None and phone is None:
        raise InvalidInput("give an account (--account) or a phone number (--phone)", field="account")
    found_client = await find_client(session, client) if client is not None else None
    case = await case_by_account(session, account, client=found_client) if account is not None else None
    if phone is not None:
        party = await party_by_name(session, case, party_name) if case is not None and party_name is not None else None
        return await number_by_phone(session, phone, client=found_client, case=case,
                                     party_id=party.party_id if party is not None else None)
    assert case is not None
    return await party_by_name(session, case, party_name) if party_name is not None else await debtor_of(session, case)
