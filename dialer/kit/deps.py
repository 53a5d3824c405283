"""Request-scoped dependencies: the unit-of-work session, the clock, and any collaborator the
composition root built (``provided``). The ground floor: this module knows no package above it;
the composition root puts its product on ``app.state.container`` and each endpoint asks for the
collaborator it uses, typed by what it is (``Annotated[CarrierActions, Depends(provided("actions"))]``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.errors import DialerError

_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def provided(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency giving the composition root's collaborator ``name``."""

    async def dependency(request: Request) -> Any:  # async: a plain def would run in the thread pool
        return getattr(request.app.state.container, name)

    dependency.__name__ = f"provided_{name}"
    return dependency


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: services flush, this commits once after the handler
    returned, and rolls back if it raised. Requests that may write get a session whose
    transaction begins as a writer at its first statement (SQLite: ``BEGIN IMMEDIATE``), so work
    done before touching the database (parsing an upload) holds no lock."""
    container = request.app.state.container
    factory = container.sessions if request.method in _READ_ONLY_METHODS else container.write_sessions
    async with factory() as session:
        try:
            yield session
        except DialerError as exc:
            await (session.commit() if exc.keep_work else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


# scope="function": the commit runs before the response is sent, so a failed commit is a 500,
# never a 2xx for work that was not saved.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_now(request: Request) -> dt.datetime:
    now: dt.datetime = request.app.state.container.clock()
    return now


NowDep = Annotated[dt.datetime, Depends(get_now)]


WakeEngine = Callable[..., None]
"""``wake(agent_id=None)``: tell the progressive engine an agent became ready (or, with no id, that
a campaign started); does nothing when no engine runs."""
WakeDep = Annotated[WakeEngine, Depends(provided("wake_engine"))]
