"""Clients (the banks) and their versioned policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.clients import repository, service
from dialer.clients.schemas import ClientCreate, ClientOut, PolicyChange, PolicyVersionOut
from dialer.kit.bounds import AfterId, RowId, Version
from dialer.kit.deps import SessionDep
from dialer.kit.schemas import Page, page_of

router = APIRouter(prefix="/clients", tags=["clients & policy"])

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Readers = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.INTEGRATION))]
Staff = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]


@router.post("", response_model=ClientOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "`conflict`: a client has this code"}},
             summary="Create a client from a policy preset and overrides (admin)")
async def create_client(body: ClientCreate, session: SessionDep, actor: Admin) -> ClientOut:
    return ClientOut.model_validate(await service.create_client(session, data=body, actor=actor))


@router.get("", response_model=Page[ClientOut], summary="List clients (admin, supervisor, agent, integration)")
async def list_clients(
    session: SessionDep, _: Readers, limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: AfterId | None = None,
) -> Page[ClientOut]:
    return page_of(await service.list_clients(session, limit=limit, after=after), limit, ClientOut)


@router.get("/{client_id}", response_model=ClientOut, summary="Read a client (admin, supervisor, agent, integration)")
async def get_client(client_id: RowId, session: SessionDep, _: Readers) -> ClientOut:
    return ClientOut.model_validate(await repository.get(session, client_id))


@router.get("/{client_id}/policy", response_model=PolicyVersionOut,
            summary="The client's current effective policy (admin, supervisor, agent, integration)")
async def current_policy(client_id: RowId, session: SessionDep, _: Readers) -> PolicyVersionOut:
    return PolicyVersionOut.model_validate(await service.current_policy(session, client_id))


@router.put("/{client_id}/policy", response_model=PolicyVersionOut, status_code=status.HTTP_201_CREATED,
            summary="Change the policy: creates a new version (admin)")
async def change_policy(client_id: RowId, body: PolicyChange, session: SessionDep, actor: Admin) -> PolicyVersionOut:
    return PolicyVersionOut.model_validate(
        await service.change_policy(session, client_id=client_id, change=body, actor=actor)
    )


@router.get("/{client_id}/policy/versions", response_model=list[PolicyVersionOut],
            summary="Every version of the client's policy, oldest first (admin, supervisor)")
async def policy_history(client_id: RowId, session: SessionDep, _: Staff) -> list[PolicyVersionOut]:
    await repository.get(session, client_id)
    return [PolicyVersionOut.model_validate(v) for v in await repository.policy_history(session, client_id)]


@router.get("/{client_id}/policy/versions/{version}", response_model=PolicyVersionOut,
            summary="One version of the client's policy (admin, supervisor)")
async def policy_version(client_id: RowId, version: Version, session: SessionDep, _: Staff) -> PolicyVersionOut:
    return PolicyVersionOut.model_validate(await repository.policy_version(session, client_id, version))
