"""Users, logins and API keys."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.auth.models import ApiKey, Role, User
from dialer.auth.passwords import hash_password, needs_rehash, verify_password
from dialer.auth.schemas import UserCreate, UserUpdate
from dialer.auth.tokens import TokenSigner, new_api_key
from dialer.kit.errors import Conflict, InvalidInput, Unauthenticated
from dialer.kit.queries import get_or_404, keyset_page, where_given

log = logging.getLogger("dialer.auth")


class LoginRefused(Unauthenticated):
    """A refused login: 401, and its audit entry is kept (the unit of work commits it)."""

    keep_work = True


async def login(
    session: AsyncSession, *, username: str, password: str, tokens: TokenSigner, now: dt.datetime
) -> tuple[User, str, dt.datetime]:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        log.warning("login refused for username %r", username)
        await audit.record(session, action="auth.login_failed", entity="user", entity_id=username,
                           known_user=user is not None, active=bool(user and user.active))
        raise LoginRefused("wrong username or password")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    token, expires = tokens.issue(user_id=user.id, role=user.role, now=now)
    await audit.record(session, action="auth.login", entity="user", entity_id=user.id)
    return user, token, expires


async def create_user(session: AsyncSession, *, data: UserCreate, actor: Principal | None) -> User:
    if data.role is not Role.INTEGRATION and not data.password:
        raise InvalidInput(f"password: required for role '{data.role.value}'", field="password")
    if data.role is Role.INTEGRATION and data.password:
        raise InvalidInput("password: integration users authenticate with API keys only", field="password")
    if (await session.execute(select(User.id).where(User.username == data.username))).first():
        raise Conflict(f"username '{data.username}' is taken", field="username")
    user = User(
        username=data.username, display_name=data.display_name, role=data.role, team=data.team,
        password_hash=hash_password(data.password) if data.password else None, active=True,
    )
    session.add(user)
    await session.flush()
    await audit.record(session, action="user.create", actor=actor, entity="user", entity_id=user.id,
                       username=user.username, role=user.role.value)
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await get_or_404(session, User, user_id, "user")
    return user


async def update_user(session: AsyncSession, *, user_id: int, data: UserUpdate, actor: Principal) -> User:
    user = await get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes:
        if user.role is Role.INTEGRATION:
            raise InvalidInput("password: integration users authenticate with API keys only", field="password")
        user.password_hash = hash_password(changes.pop("password"))
        changes["password"] = "changed"
    for field in ("display_name", "team", "active"):
        if field in changes:
            setattr(user, field, changes[field])
    await audit.record(session, action="user.update", actor=actor, entity="user", entity_id=user.id, **changes)
    return user


async def list_users(session: AsyncSession, *, role: Role | None, team: str | None, limit: int, after: int | None) -> list[User]:
    query = keyset_page(where_given(select(User), {User.role: role, User.team: team}), User.id, limit=limit, after=after)
    return list((await session.execute(query)).scalars())


async def create_api_key(
    session: AsyncSession, *, user_id: int, name: str, actor: Principal
) -> tuple[ApiKey, str]:
    user = await get_user(session, user_id)
    if user.role is not Role.INTEGRATION:
        raise InvalidInput(f"API keys are for integration users; user {user_id} is '{user.role.value}'", field="user_id")
    key, prefix, digest = new_api_key()
    row = ApiKey(user_id=user.id, name=name, prefix=prefix, key_hash=digest)
    session.add(row)
    await session.flush()
    await audit.record(session, action="api_key.create", actor=actor, entity="api_key", entity_id=row.id,
                       user_id=user.id, prefix=prefix)
    return row, key


async def revoke_api_key(session: AsyncSession, *, key_id: int, actor: Principal, now: dt.datetime) -> ApiKey:
    row = await get_or_404(session, ApiKey, key_id, "API key")
    if row.revoked_at is None:
        row.revoked_at = now
        await audit.record(session, action="api_key.revoke", actor=actor, entity="api_key", entity_id=row.id)
    return row
