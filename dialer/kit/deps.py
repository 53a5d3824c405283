"""Request-scoped dependencies: the container, the unit-of-work session, the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.container import Container
from dialer.kit.errors import DialerError


_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_container(request: Request) -> Container:
    # async: FastAPI would run a plain ``def`` dependency in its thread pool on every request
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_session(request: Request, container: ContainerDep) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: services flush, this commits once after the handler
    returned, and rolls back if it raised. Requests that may write get a session whose
    transaction begins as a writer at its first statement (SQLite: ``BEGIN IMMEDIATE``), so work
    done before touching the database (parsing an upload) holds no lock."""
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


async def get_now(container: ContainerDep) -> dt.datetime:
    return container.clock()


NowDep = Annotated[dt.datetime, Depends(get_now)]
