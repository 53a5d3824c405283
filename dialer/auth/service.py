"""Users, logins and API keys."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.auth.models import ApiKey, Role, User
from dialer.auth import throttle
from dialer.auth.passwords import PASSWORDS, Passwords
from dialer.auth.schemas import UserCreate, UserUpdate
from dialer.auth.tokens import TokenSigner, new_api_key
from dialer.kit.db import begin_write
from dialer.kit.errors import Conflict, InvalidInput, Unauthenticated
from dialer.kit.queries import get_or_404, keyset_page, where_given

log = logging.getLogger("dialer.auth")


class LoginRefused(Unauthenticated):
    """A refused login: 401, and its audit entry is kept."""

    keep_work = True


class LastAdmin(Conflict):
    code = "last_admin"


async def login(
    sessions: async_sessionmaker[AsyncSession], *, username: str, password: str, source: str,
    tokens: TokenSigner, now: dt.datetime, rules: throttle.Rules, passwords: Passwords = PASSWORDS,
) -> tuple[User, str, dt.datetime]:
    """Check a password and issue a token, in three short units of work of its own (``sessions``
    begin as writers) so no transaction is open while argon2 runs off the loop: count the attempt
    (or refuse a locked username or source, 429, by ``rules``: the container's ``login_rules``,
    from the settings), verify, then settle. Unknown, disabled and
    integration users cost the same argon2 work as a known one. Nothing here records the password."""
    keys = {"user": username, "source": source}
    async with sessions() as session:
        wait = await throttle.take(session, keys=keys, now=now, rules=rules)
        if wait:
            await audit.record(session, action="auth.login_throttled", entity="user", entity_id=username,
                               source=source, retry_after_seconds=wait)
            await session.commit()
            log.warning("login throttled for username %r from %s (%d s)", username, source, wait)
            raise throttle.LoginThrottled(
                f"too many failed logins for this username or from this address; try again in {wait} s",
                retry_after=wait)
        user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        await session.commit()
    matches = await passwords.verify(user.password_hash if user else None, password)
    rehashed = await passwords.hash(password) if matches and user and passwords.needs_rehash(user.password_hash or "") else None
    async with sessions() as session:
        fresh = await session.get(User, user.id) if user is not None and matches else None
        if fresh is None or not fresh.active or fresh.password_hash != user.password_hash:  # type: ignore[union-attr]
            log.warning("login refused for username %r from %s", username, source)
            await audit.record(session, action="auth.login_failed", entity="user", entity_id=username,
                               known_user=user is not None, active=bool(user and user.active))
            await session.commit()
            raise LoginRefused("wrong username or password")
        await throttle.forgive(session, keys=keys, now=now)
        if rehashed:
            fresh.password_hash = rehashed
        fresh.last_login_at = now
        token, expires = tokens.issue(user_id=fresh.id, role=fresh.role, now=now, version=fresh.token_version)
        await audit.record(session, action="auth.login", entity="user", entity_id=fresh.id, source=source)
        await session.commit()
    return fresh, token, expires


async def create_user(session: AsyncSession, *, data: UserCreate, actor: Principal | None) -> User:
    if data.role is not Role.INTEGRATION and not data.password:
        raise InvalidInput(f"password: required for role '{data.role.value}'", field="password")
    if data.role is Role.INTEGRATION and data.password:
        raise InvalidInput("password: integration users authenticate with API keys only", field="password")
    if (await session.execute(select(User.id).where(User.username == data.username))).first():
        raise Conflict(f"username '{data.username}' is taken", field="username")
    user = User(
        username=data.username, display_name=data.display_name, role=data.role, team=data.team,
        password_hash=await PASSWORDS.hash(data.password) if data.password else None, active=True,
    )
    session.add(user)
    await session.flush()
    await audit.record(session, action="user.create", actor=actor, entity="user", entity_id=user.id,
                       username=user.username, role=user.role.value)
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await get_or_404(session, User, user_id, "user")
    return user


async def update_user(
    session: AsyncSession, *, user_id: int, data: UserUpdate, actor: Principal, now: dt.datetime,
) -> User:
    """A password change or a deactivation raises the user's ``token_version``: every token
    issued before dies, and a later re-activation does not revive them; deactivation also revokes
    the user's API keys. The last active admin cannot be deactivated (409 ``last_admin``)."""
    await begin_write(session)
    user = await get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("active") is False and user.active and user.role is Role.ADMIN:
        await _keep_an_admin(session, user)
    if "password" in changes:
        if user.role is Role.INTEGRATION:
            raise InvalidInput("password: integration users authenticate with API keys only", field="password")
        user.password_hash = await PASSWORDS.hash(changes.pop("password"))
        user.token_version += 1
        changes["password"] = "changed"
    if changes.get("active") is False and user.active:
        user.token_version += 1
        await _revoke_keys(session, user.id, now)
    for field in ("display_name", "team", "active"):
        if field in changes:
            setattr(user, field, changes[field])
    await audit.record(session, action="user.update", actor=actor, entity="user", entity_id=user.id, **changes)
    return user


async def _keep_an_admin(session: AsyncSession, user: User) -> None:
    """Refuse to deactivate ``user`` when no other active admin would remain; the active admins'
    rows are locked so two admins cannot deactivate each other at once."""
    query = select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id).with_for_update()
    admins = list((await session.execute(query)).scalars())
    if admins == [user.id]:
        raise LastAdmin(f"user {user.id} is the last active admin and cannot be deactivated; "
                        "make another admin first", user_id=user.id)


async def _revoke_keys(session: AsyncSession, user_id: int, now: dt.datetime) -> None:
    keys = (await session.execute(select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)))).scalars()
    for key in keys:
        key.revoked_at = now


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
