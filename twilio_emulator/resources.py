"""Twilio's resources as the emulator keeps them, and their JSON as Twilio renders it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from .clock import rfc2822

API_VERSION = "2010-04-01"
BASE = f"/{API_VERSION}/Accounts"
TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def new_sid(prefix: str) -> str:
    """A Twilio SID: two-letter type prefix and 32 lowercase hex digits (``CA…``, ``CF…``, ``RE…``)."""
    return prefix + uuid.uuid4().hex


@dataclass(eq=False)
class Call:
    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str  # outbound-api | outbound-dial | inbound
    date_created: datetime
    options: dict[str, list[str]]  # the create (or dial) parameters
    parent_call_sid: str | None = None
    status: str = "queued"
    queue_time_ms: int = 0
    date_updated: datetime | None = None
    start_time: datetime | None = None
    answered_at: datetime | None = None
    end_time: datetime | None = None
    answered_by: str | None = None
    conference_sid: str | None = None
    sip_response_code: str | None = None  # the far end's final SIP answer when it is not the status's usual one
    # runtime
    ended: asyncio.Future[str] | None = None
    task: asyncio.Task[None] | None = None
    leg: Any = None

    @property
    def duration(self) -> int | None:
        if self.end_time is None:
            return None
        if self.answered_at is None:
            return 0
        return max(0, round((self.end_time - self.answered_at).total_seconds()))

    def opt(self, name: str, default: str | None = None) -> str | None:
        values = self.options.get(name)
        return values[-1] if values else default

    def opts(self, name: str) -> list[str]:
        return self.options.get(name, [])


@dataclass(eq=False)
class Conference:
    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    status: str = "init"  # init | in-progress | completed
    date_updated: datetime | None = None
    reason_conference_ended: str | None = None
    call_sid_ending_conference: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset()
    sequence: int = 0


@dataclass(eq=False)
class Participant:
    call_sid: str
    conference_sid: str
    account_sid: str
    date_created: datetime
    label: str | None = None
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    status: str = "queued"  # queued | connecting | ringing | connected | complete | failed
    queue_time_ms: int = 0
    date_updated: datetime | None = None
    left: asyncio.Future[str] | None = None


@dataclass(eq=False)
class Recording:
    sid: str
    account_sid: str
    call_sid: str
    channels: int
    source: str  # OutboundAPI | DialVerb | RecordVerb | Conference …
    date_created: datetime
    start_time: datetime
    duration: int = 0
    status: str = "completed"
    conference_sid: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def call_uri(account: str, sid: str) -> str:
    return f"{BASE}/{account}/Calls/{sid}.json"


def render_call(call: Call) -> dict[str, Any]:
    base = f"{BASE}/{call.account_sid}/Calls/{call.sid}"
    return {
        "account_sid": call.account_sid, "annotation": None, "answered_by": call.answered_by,
        "api_version": API_VERSION, "caller_name": None,
        "date_created": rfc2822(call.date_created), "date_updated": rfc2822(call.date_updated or call.date_created),
        "direction": call.direction, "duration": None if call.duration is None else str(call.duration),
        "end_time": rfc2822(call.end_time), "forwarded_from": None,
        "from": call.from_, "from_formatted": call.from_, "group_sid": None,
        "parent_call_sid": call.parent_call_sid, "phone_number_sid": None,
        "price": None, "price_unit": "USD", "queue_time": str(call.queue_time_ms), "sid": call.sid,
        "start_time": rfc2822(call.start_time), "status": call.status, "stir_verstat": None,
        "subresource_uris": {
            name: f"{base}/{name.title().replace('_', '')}.json"
            for name in ("notifications", "recordings", "payments", "events", "siprec", "streams")
        },
        "to": call.to, "to_formatted": call.to, "trunk_sid": None, "uri": f"{base}.json",
    }


def render_conference(conf: Conference) -> dict[str, Any]:
    base = f"{BASE}/{conf.account_sid}/Conferences/{conf.sid}"
    return {
        "account_sid": conf.account_sid, "api_version": API_VERSION,
        "call_sid_ending_conference": conf.call_sid_ending_conference,
        "date_created": rfc2822(conf.date_created), "date_updated": rfc2822(conf.date_updated or conf.date_created),
        "friendly_name": conf.friendly_name, "reason_conference_ended": conf.reason_conference_ended,
        "region": "us1", "sid": conf.sid, "status": conf.status,
        "subresource_uris": {"participants": f"{base}/Participants.json", "recordings": f"{base}/Recordings.json"},
        "uri": f"{base}.json",
    }


def render_participant(p: Participant) -> dict[str, Any]:
    return {
        "account_sid": p.account_sid, "call_sid": p.call_sid, "call_sid_to_coach": p.call_sid_to_coach,
        "coaching": p.coaching, "conference_sid": p.conference_sid,
        "date_created": rfc2822(p.date_created), "date_updated": rfc2822(p.date_updated or p.date_created),
        "end_conference_on_exit": p.end_conference_on_exit, "hold": p.hold, "label": p.label,
        "muted": p.muted, "queue_time": str(p.queue_time_ms),
        "start_conference_on_enter": p.start_conference_on_enter, "status": p.status,
        "uri": f"{BASE}/{p.account_sid}/Conferences/{p.conference_sid}/Participants/{p.call_sid}.json",
    }


def render_recording(rec: Recording, public_url: str) -> dict[str, Any]:
    base = f"{BASE}/{rec.account_sid}/Recordings/{rec.sid}"
    return {
        "account_sid": rec.account_sid, "api_version": API_VERSION, "call_sid": rec.call_sid,
        "channels": rec.channels, "conference_sid": rec.conference_sid,
        "date_created": rfc2822(rec.date_created), "date_updated": rfc2822(rec.date_created),
        "duration": str(rec.duration), "encryption_details": None, "error_code": None,
        "media_url": public_url.rstrip("/") + base, "price": None, "price_unit": "USD",
        "sid": rec.sid, "source": rec.source, "start_time": rfc2822(rec.start_time), "status": rec.status,
        "subresource_uris": {
            "add_on_results": f"{base}/AddOnResults.json", "transcriptions": f"{base}/Transcriptions.json",
        },
        "track": "both", "uri": f"{base}.json",
    }


def render_page(key: str, items: list[dict[str, Any]], *, path: str, query: dict[str, str]) -> dict[str, Any]:
    """One page of a list, with Twilio's paging fields (Page is 0-based, PageSize defaults to 50)."""
    page_size = max(1, min(1000, int(query.get("PageSize", "50"))))
    page = max(0, int(query.get("Page", "0")))
    filters = {k: v for k, v in query.items() if k not in {"Page", "PageSize", "PageToken"}}

    def uri(n: int) -> str:
        return f"{path}?{urlencode({**filters, 'PageSize': page_size, 'Page': n})}"

    start = page * page_size
    chunk = items[start:start + page_size]
    more = start + page_size < len(items)
    return {
        key: chunk, "end": start + max(len(chunk), 1) - 1, "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if more else None, "page": page, "page_size": page_size,
        "previous_page_uri": uri(page - 1) if page > 0 else None, "start": start, "uri": uri(page),
    }
