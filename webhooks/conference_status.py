"""Conference events: stored once; a call is *bridged* when its agent and party legs are both in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.lifecycle import Move, advance
from dialer.calls.models import Call, CallState
from dialer.dialing import agent_sync
from webhooks import events
from webhooks.models import CarrierEvent


async def receive_conference_status(
    session: AsyncSession, *, params: Mapping[str, str], call_id: int | None, now: dt.datetime
) -> str:
    stored = await events.store(session, carrier="twilio", key=events.conference_key(params), kind="conference_status",
                                params=params, call_sid=params.get("CallSid"))
    if stored is None:
        return "duplicate"
    if call_id is None or params.get("StatusCallbackEvent") != "participant-join":
        return "noted"
    call = await session.get(Call, call_id, with_for_update=True)
    if call is None:
        return "unknown_call"
    if call.conference_name is None and params.get("FriendlyName"):
        call.conference_name = params["FriendlyName"]
    joined = await _legs_joined(session, params.get("ConferenceSid"))
    if len(joined) >= 2 and advance(call.state, CallState.BRIDGED) is Move.APPLIED:
        call.state = CallState.BRIDGED
        call.bridged_at = now
        await agent_sync.on_bridged(session, call, now=now)
        return "bridged"
    return "noted"


async def _legs_joined(session: AsyncSession, conference_sid: str | None) -> set[str]:
    rows = await session.execute(
        select(CarrierEvent.payload).where(CarrierEvent.kind == "conference_status")
        .where(CarrierEvent.event_key.like(f"conference:{conference_sid}:%"))
    )
    return {p.get("CallSid") for (p,) in rows if p.get("StatusCallbackEvent") == "participant-join" and p.get("CallSid")}
