"""Who is calling: bearer token or integration API key, and the roles an endpoint admits."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.auth.models import ApiKey, Role, User
from dialer.auth.tokens import API_KEY_PREFIX, TokenSigner, api_key_matches, split_api_key
from dialer.kit.clock import Clock
from dialer.kit.deps import provided
from dialer.kit.errors import Forbidden, Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token, or an integration API key")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An integration API key")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: Role
    team: str | None
    via: str  # "token" | "api_key"


async def current_principal(
    request: Request,
    tokens: Annotated[TokenSigner, Depends(provided("tokens"))],
    sessions: Annotated[async_sessionmaker[AsyncSession], Depends(provided("sessions"))],
    clock: Annotated[Clock, Depends(provided("clock"))],
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    api_key: str | None = Depends(_api_key),
) -> Principal:
    """Authenticate in a short session of its own, so the request's unit of work starts clean
    (a reservation must begin its own transaction, e.g. ``BEGIN IMMEDIATE`` on SQLite)."""
    raw = api_key or (credentials.credentials if credentials else None)
    if not raw:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>' or 'X-API-Key'")
    claims = None if raw.startswith(API_KEY_PREFIX) else tokens.verify(raw, now=clock())
    async with sessions() as session:
        if claims is None:
            principal = await _from_api_key(session, raw, clock())
            await session.commit()  # last_used_at
        else:
            user = await session.get(User, claims.user_id)
            if user is None or not user.active:
                raise Unauthenticated("the account behind this token is disabled or gone")
            if claims.version != user.token_version:
                raise Unauthenticated("this token was revoked (password changed or account disabled); log in again")
            principal = Principal(user.id, user.username, user.role, user.team, "token")
    request.state.principal = principal
    return principal


async def _from_api_key(session: Any, raw: str, now: Any) -> Principal:
    prefix = split_api_key(raw)
    if prefix is None:
        raise Unauthenticated("malformed API key")
    row = (
        await session.execute(
            select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.prefix == prefix)
        )
    ).first()
    if row is None or not api_key_matches(raw, row.ApiKey.key_hash):
        raise Unauthenticated("unknown API key")
    key, user = row.ApiKey, row.User
    if key.revoked_at is not None or not user.active:
        raise Unauthenticated("this API key has been revoked")
    key.last_used_at = now
    return Principal(user.id, user.username, user.role, user.team, "api_key")


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only ``roles``: no credentials → 401, another role → 403. The OpenAPI
    document names the roles in the operation's security requirement (OpenAPI 3.1: for a scheme other
    than OAuth2, its list holds "role names which are required for the execution")."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    async def _check(principal: Principal = Security(current_principal, scopes=sorted(r.value for r in allowed)),
                     ) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role '{principal.role.value}' may not do this; allowed: {names}")
        return principal

    _check.__doc__ = f"Roles: {names}"
    return _check
