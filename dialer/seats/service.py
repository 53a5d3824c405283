"""Registered seats: dedicated stations whose softphone identity is bound to them."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.kit.errors import Conflict
from dialer.kit.queries import get_or_404, keyset_page, where_given
from dialer.seats.models import Seat
from dialer.seats.schemas import SeatCreate, SeatUpdate


async def create_seat(session: AsyncSession, *, data: SeatCreate, actor: Principal) -> Seat:
    clashes = (
        await session.execute(
            select(Seat).where(or_(Seat.code == data.code, Seat.softphone_identity == data.softphone_identity))
            .order_by(Seat.id)
        )
    ).scalars().all()  # the code may be one seat's and the identity another's
    taken = [(field, seat) for field in ("code", "softphone_identity") for seat in clashes
             if getattr(seat, field) == getattr(data, field)]
    if taken:
        raise Conflict("; ".join(f"{field}: already registered to seat {seat.code}" for field, seat in taken),
                       field=taken[0][0])
    seat = Seat(**data.model_dump())
    session.add(seat)
    await session.flush()
    await audit.record(session, action="seat.create", actor=actor, entity="seat", entity_id=seat.id,
                       code=seat.code, softphone_identity=seat.softphone_identity)
    return seat


async def get_seat(session: AsyncSession, seat_id: int) -> Seat:
    seat = await get_or_404(session, Seat, seat_id, "seat")
    return seat


async def update_seat(session: AsyncSession, *, seat_id: int, data: SeatUpdate, actor: Principal) -> Seat:
    seat = await get_seat(session, seat_id)
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(seat, field, value)
    await audit.record(session, action="seat.update", actor=actor, entity="seat", entity_id=seat.id, **changes)
    return seat


async def list_seats(session: AsyncSession, *, team: str | None, active: bool | None, limit: int, after: int | None) -> list[Seat]:
    query = keyset_page(where_given(select(Seat), {Seat.team: team, Seat.active: active}), Seat.id, limit=limit, after=after)
    return list((await session.execute(query)).scalars())
