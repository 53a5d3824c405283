from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from dialer.kit.patch import Omittable
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
    active: Omittable[bool] = None


class SeatOut(Schema):
    id: int
    code: str
    softphone_identity: str
    carrier: SeatCarrier
    location: str | None
    team: str | None
    active: bool
    created_at: dt.datetime


class SipPasswordSet(Schema):
    """Either ``password`` (the admin's choice) or ``generate: true`` (the service draws one and
    returns it once)."""

    password: str | None = Field(None, max_length=128, description="At least 12 characters, not the SIP username",
                                 json_schema_extra={"format": "password", "writeOnly": True})
    generate: bool = Field(False, description="Draw a random password and return it in this response only")

    @model_validator(mode="after")
    def _one_of(self) -> SipPasswordSet:
        if (self.password is None) == (not self.generate):
            raise ValueError("give either 'password' or 'generate': true, not both and not neither")
        return self


class SipCredentialOut(Schema):
    seat_id: int
    username: str
    domain: str
    rotated_at: dt.datetime
    rotated_by: int | None
    password: str | None = Field(None, description="The generated password, shown in this response only; "
                                                   "null when the admin chose it")
