"""Carrier events stored raw under their natural unique key before anything acts on them."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.db import insert_once
from webhooks.models import CarrierEvent


def call_status_key(params: Mapping[str, str]) -> str:
    """``CallSid`` + ``SequenceNumber`` (each status callback has its own); without a sequence
    number, the status itself (a repeat of the same status is then the same event)."""
    sequence = params.get("SequenceNumber")
    return f"call:{params.get('CallSid')}:{sequence if sequence is not None else params.get('CallStatus')}"


def recording_key(params: Mapping[str, str]) -> str:
    return f"recording:{params.get('RecordingSid')}:{params.get('RecordingStatus')}"


def conference_key(params: Mapping[str, str]) -> str:
    return f"conference:{params.get('ConferenceSid')}:{params.get('SequenceNumber')}:{params.get('StatusCallbackEvent')}"


async def store(
    session: AsyncSession, *, carrier: str, key: str, kind: str, params: Mapping[str, str], call_sid: str | None,
) -> int | None:
    """Store the event; its id, or None when the same event was stored before (a redelivery)."""
    return await insert_once(
        session, CarrierEvent,
        {"carrier": carrier, "event_key": key[:160], "kind": kind, "carrier_call_id": call_sid, "payload": dict(params)},
        ["carrier", "event_key"],
    )
