"""Stored conference events: a call is *bridged* when its agent and party legs are both in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls import state
from dialer.calls.models import Call
from webhooks.events import Handled, StoredEvent
from webhooks.legs import locked_call
from webhooks.models import CarrierEvent


async def apply(session: AsyncSession, event: StoredEvent) -> Handled:
    return Handled(await _note(session, event.params, event.call_id, event.received_at))


async def _note(session: AsyncSession, params: Mapping[str, str], call_id: int | None, now: dt.datetime) -> str:
    event = params.get("StatusCallbackEvent")
    if call_id is None or event not in ("participant-join", "participant-leave"):
        return "noted"
    call = await locked_call(session, call_id)
    if call is None:
        return "unknown_call"
    if event == "participant-leave":
        return await _who_hung_up(session, call, params.get("ConferenceSid"))
    if call.conference_name is None and params.get("FriendlyName"):
        call.conference_name = params["FriendlyName"]
    joined = await _legs_joined(session, params.get("ConferenceSid"))
    if len(joined) < 2:
        return "noted"
    # Both legs in the room: the party has answered, too (the end may have been reported first).
    return "bridged" if await state.bridge(session, call, at=now) else "noted"


async def _legs_joined(session: AsyncSession, conference_sid: str | None) -> set[str]:
    rows = await session.execute(
        select(CarrierEvent.payload).where(CarrierEvent.kind == "conference_status")
        .where(CarrierEvent.event_key.like(f"conference:{conference_sid}:%"))
    )
    return {p.get("CallSid") for (p,) in rows if p.get("StatusCallbackEvent") == "participant-join" and p.get("CallSid")}


async def _who_hung_up(session: AsyncSession, call: Call, conference_sid: str | None) -> str:
    """Whoever left the bridged conference first hung up (by the conference's own sequence, so
    callbacks delivered out of order still give the right answer). "party" is only the party-leg
    callback's provisional answer; a hang-up through our API has already named who."""
    if call.bridged_at is None:
        return "noted"
    rows = await session.execute(
        select(CarrierEvent.payload).where(CarrierEvent.kind == "conference_status")
        .where(CarrierEvent.event_key.like(f"conference:{conference_sid}:%"))
    )
    leaves = [p for (p,) in rows if p.get("StatusCallbackEvent") == "participant-leave"]
    legs = {call.carrier_call_id: "party", call.agent_leg_call_id: "agent"}
    ours = [p for p in leaves if p.get("CallSid") in legs and str(p.get("SequenceNumber", "")).isdigit()]
    if not ours:
        return "noted"
    if call.hangup_by not in (None, "party"):  # our own side ended it (the API names who), or already known
        return "noted"
    first = min(ours, key=lambda p: int(p["SequenceNumber"]))
    call.hangup_by = legs[first["CallSid"]]
    return "left"
