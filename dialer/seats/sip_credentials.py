"""A seat's SIP password: set or rotated by an admin, stored only as the HA1 digests the SIP edge
(Kamailio's ``auth_db``) checks a softphone's digest answer against."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.kit.errors import Conflict, InvalidInput
from dialer.kit.queries import get_or_404
from dialer.kit.types import utcnow
from dialer.seats.models import Seat, SipCredential

MIN_LENGTH = 12
MAX_LENGTH = 128
GENERATED_BYTES = 18  # 24 URL-safe characters, 144 bits


class WeakSipPassword(InvalidInput):
    """A SIP password that breaks a rule (too short, the username, ...). Names the field."""

    code = "sip_password_weak"


class NotASipSeat(InvalidInput):
    """The seat's softphone identity is not a ``sip:user@domain`` address, so it has no SIP login."""

    code = "seat_not_sip"


class NotInSipDomain(InvalidInput):
    """The seat's SIP domain is not the one the edge serves: its softphone could never register
    (the digests' realm is the domain)."""

    code = "seat_not_in_sip_domain"


@dataclass(frozen=True, slots=True)
class SipAccount:
    """The digest username and domain (also the realm) a seat's softphone registers with."""

    username: str
    domain: str


def sip_account(seat: Seat) -> SipAccount:
    """``sip:seat-a07@dialer.local`` → (``seat-a07``, ``dialer.local``); anything else is refused."""
    identity = seat.softphone_identity
    scheme, _, rest = identity.partition(":")
    user, at, host = rest.split(";", 1)[0].partition("@")
    domain = host.split(":", 1)[0]
    if scheme.lower() not in ("sip", "sips") or not at or not user or not domain:
        raise NotASipSeat(f"seat {seat.code}: its softphone identity {identity!r} is not a sip:user@domain address",
                          field="softphone_identity")
    return SipAccount(username=user, domain=domain.lower())


def password_problem(password: str, account: SipAccount) -> str | None:
    """Why ``password`` may not be a SIP password for ``account`` (``None``: it may)."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    if password != password.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in password):
        return "must not contain control characters or start or end with a space"
    lowered = password.lower()
    if account.username.lower() in lowered or account.domain.lower() in lowered:
        return "must not contain the SIP username or domain"
    if len(set(password)) < 4:
        return "must use at least four different characters"
    return None


def digests(account: SipAccount, password: str) -> tuple[str, str]:
    """(HA1, HA1B) for ``password``, the realm being the account's domain (RFC 2617 §3.2.2.2)."""
    realm = account.domain
    ha1 = hashlib.md5(f"{account.username}:{realm}:{password}".encode()).hexdigest()
    ha1b = hashlib.md5(f"{account.username}@{account.domain}:{realm}:{password}".encode()).hexdigest()
    return ha1, ha1b


def generate_password() -> str:
    """A random password: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(GENERATED_BYTES)


async def set_sip_password(
    session: AsyncSession, seat_id: int, password: str, *, actor: Principal | None, now: dt.datetime | None = None,
    domain: str | None = None,
) -> SipCredential:
    """Set (or rotate) ``seat_id``'s SIP password. Stores the HA1 digests only; the audit entry says
    who rotated which seat's login, never the secret. ``domain``: the edge's SIP domain, which the
    seat's identity must be in."""
    seat = await get_or_404(session, Seat, seat_id, "seat")
    account = sip_account(seat)
    if domain is not None and account.domain != domain.lower():
        raise NotInSipDomain(
            f"seat {seat.code}: its softphone identity is in domain {account.domain!r}, but the SIP edge serves "
            f"{domain.lower()!r} (DIALER_SIP_DOMAIN): make it sip:{account.username}@{domain.lower()}",
            field="softphone_identity")
    problem = password_problem(password, account)
    if problem is not None:
        raise WeakSipPassword(f"password: {problem}", field="password")
    clash = (await session.execute(
        select(SipCredential.seat_id).where(SipCredential.username == account.username,
                                            SipCredential.seat_id != seat.id)
    )).scalar_one_or_none()
    if clash is not None:
        raise Conflict(f"SIP username {account.username!r} already belongs to seat id {clash}", field="username")
    credential = (await session.execute(
        select(SipCredential).where(SipCredential.seat_id == seat.id)
    )).scalar_one_or_none()
    first = credential is None
    if credential is None:
        credential = SipCredential(seat_id=seat.id)
        session.add(credential)
    credential.username, credential.domain = account.username, account.domain
    credential.ha1, credential.ha1b = digests(account, password)
    credential.rotated_at = now or utcnow()
    credential.rotated_by = actor.user_id if actor is not None else None
    await session.flush()
    await audit.record(session, action="seat.sip_password.set" if first else "seat.sip_password.rotate",
                       actor=actor, entity="seat", entity_id=seat.id, code=seat.code, sip_username=account.username,
                       sip_domain=account.domain)
    return credential


async def set_generated_sip_password(
    session: AsyncSession, seat_id: int, *, actor: Principal | None, now: dt.datetime | None = None,
    domain: str | None = None,
) -> tuple[SipCredential, str]:
    """Set a generated password; returns it with the credential, for the caller to show once."""
    seat = await get_or_404(session, Seat, seat_id, "seat")
    account = sip_account(seat)
    password = generate_password()
    while password_problem(password, account) is not None:  # a random draw holding the username: draw again
        password = generate_password()
    return await set_sip_password(session, seat_id, password, actor=actor, now=now, domain=domain), password


async def set_or_generate_sip_password(
    session: AsyncSession, seat_id: int, *, password: str | None, actor: Principal | None,
    domain: str | None = None,
) -> tuple[SipCredential, str | None]:
    """``password`` when given, else a generated one; returns the credential and the generated
    password (``None`` when the caller chose it), to be shown once."""
    if password is not None:
        return await set_sip_password(session, seat_id, password, actor=actor, domain=domain), None
    return await set_generated_sip_password(session, seat_id, actor=actor, domain=domain)
