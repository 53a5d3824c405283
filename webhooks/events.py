"""Carrier events stored raw under their natural unique key before anything acts on them."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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
    """Store the event; its id, or None when the same event was stored before (a redelivery).

    One statement on both databases (``INSERT … ON CONFLICT DO NOTHING RETURNING id``), built once
    per dialect and executed with the values as parameters: every callback stores one, so the
    statement is not rebuilt (and its cache key recomputed) per request."""
    return (await session.execute(_insert_once(session.bind.dialect.name), {
        "carrier": carrier, "event_key": key[:160], "kind": kind, "carrier_call_id": call_sid, "payload": dict(params),
    })).scalar_one_or_none()


@functools.cache
def _insert_once(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = CarrierEvent.__table__
    return (insert(table).values({column: bindparam(column) for column in _COLUMNS})
            .on_conflict_do_nothing(index_elements=["carrier", "event_key"]).returning(table.c.id))


_COLUMNS = ("carrier", "event_key", "kind", "carrier_call_id", "payload")
