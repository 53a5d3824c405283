"""What an event says, kept small (Standard Webhooks asks for well under 20 kB): who, when, how it
ended — never debt amounts, never a party's name or ID number (the client's archive matches by
its own case reference; a third party's record carries only the role and relation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.models import User
from dialer.calls.models import Call, Direction, Recording
from dialer.cases.models import Case, Party
from dialer.clients.models import Client
from dialer.notes.models import WrapUpNote
from dialer.seats.models import Seat


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def duration_of(call: Call) -> int | None:
    """The carrier's own figure for the call (its status callback's ``CallDuration``) when it gave
    one; else worked out from our time stamps (a call ended by the reconciler or never placed)."""
    if call.duration_s is not None:
        return call.duration_s
    if call.ended_at is None:
        return None
    start = call.dialing_at or call.ringing_at or call.requested_at
    return max(0, int((call.ended_at - start).total_seconds()))


_CONTEXT = (
    select(Client.code, Case.account_ref, Party.role, Party.relation, User.username, Seat.code,
           WrapUpNote.disposition)
    .select_from(Call)
    .outerjoin(Client, Client.id == Call.client_id).outerjoin(Case, Case.id == Call.case_id)
    .outerjoin(Party, Party.id == Call.party_id).outerjoin(User, User.id == Call.agent_id)
    .outerjoin(Seat, Seat.id == Call.seat_id).outerjoin(WrapUpNote, WrapUpNote.call_id == Call.id)
)


async def call_data(session: AsyncSession, call: Call) -> dict[str, Any]:
    """``call.completed``'s data: the call as it ended (one query for its names)."""
    row = (await session.execute(_CONTEXT.where(Call.id == call.id))).one_or_none()
    client, case_ref, role, relation, agent, seat, disposition = row if row is not None else (None,) * 7
    return {
        "call": {
            "id": call.id, "carrier": call.carrier, "carrier_call_id": call.carrier_call_id,
            "direction": call.direction.value, "state": call.state.value,
            "outcome": call.outcome.value if call.outcome else None,
            "placed": call.carrier_call_id is not None or call.direction is Direction.INBOUND,
            "requested_at": _iso(call.requested_at), "started_at": _iso(call.dialing_at or call.ringing_at),
            "answered_at": _iso(call.answered_at), "ended_at": _iso(call.ended_at),
            "duration_s": duration_of(call), "talk_s": call.talk_s, "hangup_by": call.hangup_by,
            "error_code": call.error_code, "campaign_id": call.campaign_id,
        },
        "client": {"id": call.client_id, "code": client},
        "case": {"id": call.case_id, "reference": case_ref},
        "party": {"id": call.party_id, "role": role.value if role else None,
                  "relation": relation.value if relation else None},
        "agent": {"id": call.agent_id, "username": agent},
        "seat": {"id": call.seat_id, "code": seat},
        "disposition": disposition.value if disposition else None,
    }


def wrap_up_data(note: WrapUpNote, call: Call) -> dict[str, Any]:
    """``call.wrapped_up``'s data: the agent's disposition of a call (its free text stays with us)."""
    return {"call": {"id": call.id, "carrier_call_id": call.carrier_call_id, "direction": call.direction.value},
            "client": {"id": call.client_id}, "case": {"id": note.case_id}, "party": {"id": note.party_id},
            "agent": {"id": note.agent_id}, "disposition": note.disposition.value,
            "next_follow_up_date": note.next_follow_up_date.isoformat() if note.next_follow_up_date else None,
            "noted_at": _iso(note.created_at)}


def channel_sides(recording: Recording, call: Call) -> dict[str, str]:
    """Which side of the call each channel of the file holds. SIP's media process writes the agent
    in channel 1 and the party in 2; Twilio records the party's own leg (what it hears from us in
    2) and an inbound ``<Dial>`` parent-first; a one-channel file is a voicemail (the caller)."""
    if (recording.channels or 0) < 2:
        return {"1": "party"}
    if recording.carrier == "sip":
        return {"1": "agent", "2": "party"}
    return {"1": "party", "2": "agent"}


def recording_data(recording: Recording, call: Call) -> dict[str, Any]:
    """``recording.*``'s data. The download link is added when each delivery is sent (it expires)."""
    return {
        "recording": {
            "id": recording.id, "status": recording.status.value, "content_type": recording.content_type,
            "channels": recording.channels, "channel_sides": channel_sides(recording, call),
            "duration_s": recording.duration_s, "size_bytes": recording.size_bytes, "sha256": recording.sha256,
            "partial": recording.partial, "stored_at": _iso(recording.stored_at),
            "retain_until": recording.retain_until.isoformat() if recording.retain_until else None,
            "legal_hold": recording.legal_hold,
        },
        "call": {"id": call.id, "carrier_call_id": call.carrier_call_id, "direction": call.direction.value,
                 "answered_at": _iso(call.answered_at), "ended_at": _iso(call.ended_at)},
        "client": {"id": call.client_id}, "case": {"id": call.case_id}, "party": {"id": call.party_id},
        "agent": {"id": call.agent_id},
    }
