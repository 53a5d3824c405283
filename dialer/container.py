"""The composition root's product: everything a request or job needs, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer.auth.tokens import TokenSigner
from dialer.telephony.carrier import Carrier
from recordings.storage import RecordingStorage
from dialer.kit.clock import Clock
from dialer.settings import Settings


@dataclass(slots=True)
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]  # transactions begin as writers (SQLite: IMMEDIATE)
    tokens: TokenSigner
    clock: Clock
    schema_heads: frozenset[str]
    carrier: Carrier | None = None  # None until a carrier is configured
    storage: RecordingStorage | None = None  # where recordings are kept (local directory by default)
    dialer_engine: Any = None  # the progressive engine (dialer.dialing.engine) when a carrier is configured
    inbox: Any = None  # the carrier events inbox (webhooks.inbox) when carrier webhooks are accepted

    def wake_engine(self, agent_id: int | None = None) -> None:
        """Tell the progressive engine an agent became ready (or a campaign started)."""
        if self.dialer_engine is not None:
            self.dialer_engine.wake(agent_id)
