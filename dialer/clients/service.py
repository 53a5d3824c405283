"""Clients and their policy: a preset plus overrides; every change is a new, immutable version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.clients import repository
from dialer.clients.models import Client, PolicyVersion
from dialer.clients.schemas import ClientCreate, PolicyChange
from dialer.kit.errors import Conflict
from dialer.kit.queries import keyset_page
from dialer.policy.presets import build_policy


async def create_client(session: AsyncSession, *, data: ClientCreate, actor: Principal | None) -> Client:
    document = build_policy(data.preset, data.overrides)
    if (await session.execute(select(Client.id).where(Client.code == data.code))).first():
        raise Conflict(f"code: client '{data.code}' already exists", field="code")
    client = Client(
        code=data.code, name=data.name, language=document.language,
        default_time_zone=document.default_time_zone, working_calendar=data.working_calendar,
        whisper_template=data.whisper_template, policy_version=1,
    )
    session.add(client)
    await session.flush()
    await _add_version(session, client=client, version=1, preset=data.preset, overrides=data.overrides,
                       document=document.model_dump(mode="json"), reason="created", actor=actor)
    await audit.record(session, action="client.create", actor=actor, entity="client", entity_id=client.id,
                       code=client.code, preset=data.preset)
    return client


async def change_policy(
    session: AsyncSession, *, client_id: int, change: PolicyChange, actor: Principal
) -> PolicyVersion:
    client = await repository.get(session, client_id, for_update=True)
    current = await repository.policy_version(session, client_id, client.policy_version)
    preset = change.preset or current.preset
    document = build_policy(preset, change.overrides)
    client.policy_version += 1
    client.language = document.language
    client.default_time_zone = document.default_time_zone
    row = await _add_version(session, client=client, version=client.policy_version, preset=preset,
                             overrides=change.overrides, document=document.model_dump(mode="json"),
                             reason=change.reason, actor=actor)
    await audit.record(session, action="client.policy_change", actor=actor, entity="client", entity_id=client.id,
                       from_version=current.version, to_version=row.version, preset=preset, reason=change.reason)
    return row


async def current_policy(session: AsyncSession, client_id: int) -> PolicyVersion:
    client = await repository.get(session, client_id)
    return await repository.policy_version(session, client_id, client.policy_version)


async def list_clients(session: AsyncSession, *, limit: int, after: int | None) -> list[Client]:
    return list((await session.execute(keyset_page(select(Client), Client.id, limit=limit, after=after))).scalars())


async def _add_version(
    session: AsyncSession, *, client: Client, version: int, preset: str, overrides: dict[str, Any],
    document: dict[str, Any], reason: str, actor: Principal | None,
) -> PolicyVersion:
    row = PolicyVersion(
        client_id=client.id, version=version, preset=preset, overrides=overrides, document=document,
        reason=reason, created_by_id=actor.user_id if actor else None,
    )
    session.add(row)
    await session.flush()
    return row
