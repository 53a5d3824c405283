"""Queries for clients and their policy versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.clients.models import Client, PolicyVersion
from dialer.kit.errors import NotFound


async def get(session: AsyncSession, client_id: int, *, for_update: bool = False) -> Client:
    query = select(Client).where(Client.id == client_id)
    if for_update:
        query = query.with_for_update()
    client = (await session.execute(query)).scalar_one_or_none()
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


async def policy_version(session: AsyncSession, client_id: int, version: int) -> PolicyVersion:
    row = (
        await session.execute(
            select(PolicyVersion).where(PolicyVersion.client_id == client_id, PolicyVersion.version == version)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"client {client_id} has no policy version {version}")
    return row


async def policy_history(session: AsyncSession, client_id: int) -> list[PolicyVersion]:
    query = select(PolicyVersion).where(PolicyVersion.client_id == client_id).order_by(PolicyVersion.version)
    return list((await session.execute(query)).scalars())
