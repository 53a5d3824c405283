"""Login, the caller's identity, users and integration API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.auth import service
from dialer.auth.deps import Principal, current_principal, require
from dialer.auth.models import Role
from dialer.auth.routing import RetryAfterRoute, source_of
from dialer.auth.throttle import Rules
from dialer.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
    UserUpdate,
)
from dialer.auth.tokens import TokenSigner
from dialer.kit.bounds import AfterId, RowId
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.kit.schemas import Page, page_of

router = APIRouter(tags=["auth & users"], route_class=RetryAfterRoute)

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
AdminOrSupervisor = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]


@router.post(
    "/auth/token", response_model=TokenOut,
    summary="Log in with username and password (no auth); 429 with Retry-After after repeated failures",
    responses={429: {"description": "Too many failed logins for this username or from this address; "
                                    "`Retry-After` gives the seconds to wait"}},
)
async def issue_token(
    body: TokenRequest, request: Request, tokens: Annotated[TokenSigner, Depends(provided("tokens"))],
    sessions: Annotated[async_sessionmaker[AsyncSession], Depends(provided("write_sessions"))], now: NowDep,
    rules: Annotated[Rules, Depends(provided("login_rules"))],
) -> TokenOut:
    user, token, expires = await service.login(
        sessions, username=body.username, password=body.password, source=source_of(request), tokens=tokens, now=now,
        rules=rules,
    )
    return TokenOut(access_token=token, expires_at=expires, role=user.role)


@router.get("/auth/me", response_model=UserOut, summary="The caller's own account (any role)")
async def me(principal: Annotated[Principal, Depends(current_principal)], session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, principal.user_id))


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "`conflict`: the username is taken"}},
             summary="Create a user (admin)")
async def create_user(body: UserCreate, session: SessionDep, actor: Admin) -> UserOut:
    return UserOut.model_validate(await service.create_user(session, data=body, actor=actor))


@router.get("/users", response_model=Page[UserOut], summary="List users (admin, supervisor)")
async def list_users(
    session: SessionDep, _: AdminOrSupervisor, role: Role | None = None, team: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, after: AfterId | None = None,
) -> Page[UserOut]:
    users = await service.list_users(session, role=role, team=team, limit=limit, after=after)
    return page_of(users, limit, UserOut)


@router.get("/users/{user_id}", response_model=UserOut, summary="Read a user (admin, supervisor)")
async def get_user(user_id: RowId, session: SessionDep, _: AdminOrSupervisor) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, user_id))


@router.patch(
    "/users/{user_id}", response_model=UserOut,
    summary="Change a user; a new password or a deactivation ends their tokens; the last admin stays (admin)",
    responses={409: {"description": "`last_admin`: the last active admin cannot be deactivated"}},
)
async def update_user(user_id: RowId, body: UserUpdate, session: SessionDep, actor: Admin, now: NowDep) -> UserOut:
    return UserOut.model_validate(await service.update_user(session, user_id=user_id, data=body, actor=actor, now=now))


@router.post(
    "/users/{user_id}/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED,
    summary="Create an API key for an integration user; the key is shown once (admin)",
)
async def create_api_key(user_id: RowId, body: ApiKeyCreate, session: SessionDep, actor: Admin) -> ApiKeyCreated:
    row, key = await service.create_api_key(session, user_id=user_id, name=body.name, actor=actor)
    return ApiKeyCreated(key=key, **ApiKeyOut.model_validate(row).model_dump())


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key (admin)")
async def revoke_api_key(key_id: RowId, session: SessionDep, actor: Admin, now: NowDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.revoke_api_key(session, key_id=key_id, actor=actor, now=now))
