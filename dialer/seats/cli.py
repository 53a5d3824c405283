"""`dialer seats set-sip-password`: the CLI's way to set or rotate a seat's SIP password (the
composition root registers the command; this module runs one unit of work of its own)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from dialer.kit.db import create_engine, session_factory
from dialer.kit.errors import InvalidInput, NotFound
from dialer.seats import sip_credentials
from dialer.seats.models import Seat, SipCredential
from dialer.settings import Settings


async def set_seat_sip_password(
    settings: Settings, seat_code: str, *, password: str | None = None, generate: bool = False,
    out: Callable[[str], None] = print,
) -> SipCredential:
    """Set ``seat_code``'s SIP password (``password``, or a generated one with ``generate``) and
    commit. Prints what was done; a generated password is printed this once and never again.
    Raises the service's errors (``DialerError``) for the caller to print."""
    if (password is None) == (not generate):
        raise InvalidInput("give either a password or --generate, not both and not neither", field="password")
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            seat_id = (await session.execute(select(Seat.id).where(Seat.code == seat_code))).scalar_one_or_none()
            if seat_id is None:
                raise NotFound(f"seat {seat_code!r} not found")
            credential, generated = await sip_credentials.set_or_generate_sip_password(
                session, seat_id, password=password, actor=None, domain=settings.sip_domain)
            await session.commit()
    finally:
        await engine.dispose()
    out(f"SIP password set for seat {seat_code}: {credential.username}@{credential.domain}")
    if generated is not None:
        out(f"generated password (shown once, store it in the softphone now): {generated}")
    return credential
