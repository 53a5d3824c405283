from __future__ import annotations

import datetime as dt

from pydantic import Field

from dialer.kit.schemas import Schema
from dialer.seats.models import SeatCarrier


class SeatCreate(Schema):
    code: str = Field(min_length=1, max_length=32, description="The station's label, e.g. 'A-07'")
    softphone_identity: str = Field(
        min_length=3, max_length=200,
        description="What the carrier rings: a Twilio client identity ('client:seat-a07') or a SIP AOR ('sip:a07@pbx')",
        pattern=r"^(client:[A-Za-z0-9_.\-]+|sips?:[^@\s]+@[^\s]+)$",
    )
    carrier: SeatCarrier = SeatCarrier.TWILIO
    location: str | None = Field(None, max_length=128)
    team: str | None = Field(None, max_length=64)


class SeatUpdate(Schema):
    location: str | None = Field(None, max_length=128)
    team: str | None = Field(None, max_length=64)
    active: bool | None = None


class SeatOut(Schema):
    id: int
    code: str
    softphone_identity: str
    carrier: SeatCarrier
    location: str | None
    team: str | None
    active: bool
    created_at: dt.datetime
