from __future__ import annotations

import datetime as dt

from pydantic import Field

from dialer.auth.models import Role
from dialer.auth.passwords import MIN_PASSWORD_LENGTH
from dialer.kit.patch import Omittable
from dialer.kit.schemas import Schema


class TokenRequest(Schema):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Schema):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    role: Role


class UserCreate(Schema):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=128)
    role: Role
    team: str | None = Field(None, max_length=64)
    password: str | None = Field(
        None, min_length=MIN_PASSWORD_LENGTH, max_length=256,
        description="Required for agent, supervisor, admin and auditor; integration users authenticate with API keys",
    )


class UserUpdate(Schema):
    display_name: Omittable[str] = Field(None, min_length=1, max_length=128)
    team: str | None = Field(None, max_length=64)
    active: Omittable[bool] = None
    password: Omittable[str] = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=256)


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: Role
    team: str | None
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class ApiKeyCreate(Schema):
    name: str = Field(min_length=1, max_length=128)


class ApiKeyOut(Schema):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once. Only its hash is stored.")
