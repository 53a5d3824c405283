from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from dialer.kit.schemas import Schema


class ClientCreate(Schema):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$", description="Short code, e.g. 'CMB'")
    name: str = Field(min_length=1, max_length=200, description="The bank's name as the agent states it")
    preset: str = Field("agency-default", description="Policy preset: agency-default, cn-cba-2026, us-reg-f")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Changes to the preset, merged into it")
    working_calendar: str = Field("cn", max_length=16)
    whisper_template: str | None = Field(None, max_length=2000)


class ClientOut(Schema):
    id: int
    code: str
    name: str
    language: str
    default_time_zone: str
    working_calendar: str
    whisper_template: str | None
    policy_version: int
    created_at: dt.datetime


class PolicyChange(Schema):
    preset: str | None = Field(None, description="Switch to another preset; omitted keeps the current one")
    overrides: dict[str, Any] = Field(default_factory=dict, description="The complete set of overrides for the new version")
    reason: str = Field(min_length=3, max_length=2000, description="Why the policy changes (kept in the history)")


class PolicyVersionOut(Schema):
    client_id: int
    version: int
    preset: str
    overrides: dict[str, Any]
    document: dict[str, Any]
    reason: str | None
    created_by_id: int | None
    created_at: dt.datetime
