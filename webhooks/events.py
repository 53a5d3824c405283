"""Carrier events: their natural unique keys, the raw row stored on arrival, and what applying one gave."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite

from dialer.calls.effects import Effect
from dialer.kit.db import table_of
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


KEYS = {"call_status": call_status_key, "conference_status": conference_key, "recording_status": recording_key}
"""Each kind of status callback the inbox takes, and how its unique key is made."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the processor applies it: the carrier's parameters, the call and leg our
    callback URL named, and when it arrived (the time it speaks of when it carries none)."""

    id: int
    kind: str
    params: Mapping[str, str]
    call_id: int | None
    leg: str | None
    received_at: dt.datetime


class NotYet(Exception):
    """The event cannot be applied until another fact is recorded (a leg's carrier id that comes with
    the carrier's answer, say): the inbox sets it aside and applies it again shortly."""


@dataclass(slots=True)
class Handled:
    """What applying an event came to, and the carrier actions to take once that is committed."""

    result: str
    """``unknown_call``, ``unknown_status``, ``agent_leg``, a :class:`~dialer.calls.lifecycle.Move` value, …"""
    effects: list[Effect] = field(default_factory=list)


def row(*, carrier: str, kind: str, params: Mapping[str, str], call_id: int | None, leg: str | None,
        received_at: dt.datetime) -> dict[str, Any]:
    """The values :func:`insert_statement` stores for one arriving event."""
    return {"carrier": carrier, "event_key": KEYS[kind](params)[:160], "kind": kind,
            "carrier_call_id": params.get("CallSid"), "payload": dict(params), "call_id": call_id, "leg": leg,
            "received_at": received_at}


# HOT PATH (bench/webhooks.py): the SQLite store of every callback.
@functools.cache
def insert_statement(dialect: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (no id back: a redelivery), built once per
    dialect and executed with the values as parameters: every callback stores one, so the statement
    is not rebuilt (and its cache key recomputed) per request."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(CarrierEvent)
    return (insert(table).values({column: bindparam(column) for column in COLUMNS})
            .on_conflict_do_nothing(index_elements=["carrier", "event_key"]).returning(table.c.id))


COLUMNS = ("carrier", "event_key", "kind", "carrier_call_id", "payload", "call_id", "leg", "received_at")
