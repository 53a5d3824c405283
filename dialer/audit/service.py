"""Write to the append-only audit log, inside the caller's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.models import AuditEntry


async def record(
    session: AsyncSession, *, action: str, actor: Any | None = None, entity: str | None = None,
    entity_id: Any = None, **detail: Any,
) -> None:
    """``actor`` is a Principal (or None for the system)."""
    session.add(
        AuditEntry(
            action=action,
            actor_id=getattr(actor, "user_id", None),
            actor_role=getattr(getattr(actor, "role", None), "value", None),
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )
