"""Settling calls whose carrier side is uncertain or whose callbacks never came.

* A leg whose creation timed out (``CarrierUnavailable`` with ``uncertain``) may exist: look for
  it at the carrier (legs to that address since the request) and adopt it, or — when the carrier
  has none — end the call as not placed. ``POST /Calls`` is never retried blindly.
* A live call that has been quiet too long is fetched from the carrier; if its legs have ended
  there, it ends here the same way (lost callbacks cost nothing but time).

Both decide inside the caller's unit of work and return the carrier actions that follow (a leg
left up is hung up), which the caller carries out after commit (``dialer.dialing.carrier_actions``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls import state
from dialer.calls.effects import Effect
from dialer.calls.lifecycle import ENDS, TWILIO_STATUS
from dialer.calls.models import Call, CallState, Direction
from dialer.dialing.urls import address_of
from dialer.seats.models import Seat
from dialer.telephony.carrier import NOT_FOUND, CallInfo, Carrier, CarrierError, CarrierRejected

log = logging.getLogger("dialer.dialing")

UNCERTAIN_AFTER = dt.timedelta(seconds=60)
QUIET_AFTER = dt.timedelta(minutes=15)
_SLACK = dt.timedelta(seconds=5)
_TALKING = frozenset({CallState.ANSWERED, CallState.BRIDGED})  # clocks of the carrier and ours differ a little


async def reconcile_one(session: AsyncSession, carrier: Carrier, call: Call, *, now: dt.datetime) -> list[Effect]:
    """Settle one call; raises ``CarrierError`` when the carrier cannot be asked (try later)."""
    if call.state in ENDS:
        return []
    if call.state is CallState.REQUESTED and call.agent_leg_call_id is None and call.direction is Direction.OUTBOUND:
        seat = await session.get(Seat, call.seat_id) if call.seat_id else None
        address = address_of(seat.softphone_identity) if seat else None
        found = await carrier.find_calls(address, call.requested_at - _SLACK) if address else []
        if found:  # adopted, and settled against it at once: it may have ended while nobody listened
            call.agent_leg_call_id = found[0].carrier_call_id
            return await _settle(session, call, found[0], now=now)
        return await state.end(session, call, CallState.FAILED, at=now, placed=False, error="not_placed",
                              detail="the seat's leg was never created at the carrier")
    if call.state is CallState.DIALING and call.carrier_call_id is None:
        found = await carrier.find_calls(call.to_e164 or "", (call.dialing_at or call.requested_at) - _SLACK)
        if found:
            call.carrier_call_id = found[0].carrier_call_id
            return await _settle(session, call, found[0], now=now)
        return await state.end(session, call, CallState.FAILED, at=now, placed=False, error="not_placed",
                              detail="the party's leg was never created at the carrier")
    sid = call.carrier_call_id or call.agent_leg_call_id
    if sid is None:
        return []
    try:
        info = await carrier.get_call(sid)
    except CarrierRejected as exc:
        if exc.carrier_code != NOT_FOUND:
            raise
        # The carrier no longer knows the leg (the SIP carrier restarted since): it is over there.
        end = CallState.COMPLETED if call.state in _TALKING else CallState.FAILED
        log.warning("call %s: the carrier knows no leg %s; settling it %s", call.id, sid, end.value)
        return await state.end(session, call, end, at=now, placed=call.carrier_call_id is not None, ended_sid=sid,
                               detail="settled by the reconciler: the carrier no longer knows the leg")
    return await _settle(session, call, info, now=now)


async def _settle(session: AsyncSession, call: Call, info: CallInfo, *, now: dt.datetime) -> list[Effect]:
    """The call as the carrier's leg ``info`` says: ended there, it ends here the same way (its
    other leg hung up after commit); still live there, it carries on."""
    if not info.ended:
        return []
    end = TWILIO_STATUS.get(info.status.value, CallState.FAILED)
    if end not in ENDS:
        end = CallState.FAILED
    placed = call.carrier_call_id is not None
    log.info("call %s: carrier says %s ended %s; settling", call.id, info.carrier_call_id, info.status.value)
    return await state.end(session, call, end, at=info.ended_at or now, placed=placed, ended_sid=info.carrier_call_id,
                          detail="settled by the reconciler (callbacks missing)")


@dataclass(frozen=True, slots=True)
class Reconciled:
    """A sweep's figures, and the legs left up by the calls it ended (to hang up after commit)."""

    summary: dict[str, Any]
    effects: list[Effect] = field(default_factory=list)


async def reconcile_job(session: AsyncSession, *, now: dt.datetime, carrier: Carrier, limit: int = 50,
                        open_before: dt.datetime | None = None, after_id: int = 0) -> Reconciled:
    """The scheduled sweep: uncertain placements older than a minute, live calls quiet too long.
    ``open_before`` (the service starting: its callbacks may have been lost while it was down, and a
    SIP carrier's dialogs went with its process): every call requested before that instant and not
    yet ended, at once, from ``after_id`` on — a call still live at the carrier stays as it is, and
    the calls this run's engine is placing meanwhile are not its business."""
    live = Call.state.not_in([s.value for s in ENDS])
    # ``updated_at`` is the row's wall-clock write time, ``now`` the service's clock (the demo's is
    # simulated): each rule also asks the call's own time, written on the service's clock.
    placing = Call.state.in_([CallState.REQUESTED.value, CallState.DIALING.value])
    placing_since = func.coalesce(Call.dialing_at, Call.requested_at)
    due = live & (Call.id > after_id) & (Call.requested_at < open_before) if open_before else live & or_(
        placing & (placing_since <= now - UNCERTAIN_AFTER) & (Call.updated_at <= now - UNCERTAIN_AFTER),
        (Call.requested_at <= now - QUIET_AFTER) & (Call.updated_at <= now - QUIET_AFTER),
    )
    query = select(Call).where(due).order_by(Call.id).limit(limit).with_for_update(skip_locked=True)
    calls = list((await session.execute(query)).scalars())
    settled = errors = 0
    hangups: list[Effect] = []
    for call in calls:
        try:
            effects = await reconcile_one(session, carrier, call, now=now)
        except CarrierError as exc:
            errors += 1
            log.warning("call %s: reconcile: %s", call.id, exc)
            continue
        settled += call.state in ENDS
        hangups += effects
    return Reconciled({"examined": len(calls), "settled": settled, "carrier_errors": errors,
                       "last_id": calls[-1].id if calls else after_id}, hangups)
