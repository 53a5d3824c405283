"""The calendars a process holds in memory: one immutable :class:`~dialer.kit.calendars.Calendars`,
swapped whole when the agency's entries change.

The composition root builds one :class:`CalendarStore` per process and hands it to the session
factories it builds (:func:`attach`), so whatever works in one of their sessions — a compliance
decision's snapshot, a scheduled job — reaches the process's calendars through the session it was
given (:func:`calendars_of`), without a query of its own. A session from elsewhere (a test's) has
no store and sees the shipped data.

Freshness: the store compares the database's revision (a one-row read) with the one it holds at
most once per ``check_every`` (30 s by default), on the first use after that time has passed, and
reloads the entries (a few rows) when the revision moved. An edit made through this process's API
marks the store stale once it has committed (:meth:`CalendarStore.stale`), so the next use checks
at once. Another replica sees an edit within ``check_every`` of its commit (at its next use after that).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.calendars import repository
from dialer.kit.calendars import Calendars, build, shipped

log = logging.getLogger("dialer.calendars")

CHECK_EVERY = dt.timedelta(seconds=30)
SESSION_KEY = "dialer.calendars"


class CalendarStore:
    """Holds the current calendars of one process; :meth:`view` keeps them fresh (see the module)."""

    def __init__(self, *, check_every: dt.timedelta = CHECK_EVERY,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.check_every = check_every
        self._monotonic = monotonic
        self._current: Calendars = shipped()  # until the first load
        self._checked_at: float | None = None
        self._loaded = False

    @property
    def current(self) -> Calendars:
        """What the store holds now, however old (``view`` refreshes first)."""
        return self._current

    async def view(self, session: AsyncSession) -> Calendars:
        """The calendars, checked against the database when ``check_every`` has passed since the
        last check (or never checked, or marked stale): a one-row read, then a reload if changed."""
        checked = self._checked_at
        if checked is not None and self._monotonic() - checked < self.check_every.total_seconds():
            return self._current
        return await self.refresh(session)

    async def refresh(self, session: AsyncSession) -> Calendars:
        """Check now; reload when the revision differs from the one held."""
        current = await repository.revision(session)
        if not self._loaded or current != self._current.revision:
            self._current = build(await repository.entries(session), revision=current)
            self._loaded = True
            log.info("calendars loaded at revision %s", current)
        self._checked_at = self._monotonic()
        return self._current

    def stale(self) -> None:
        """The next :meth:`view` checks the database (an edit of this process has committed)."""
        self._checked_at = None


def attach(store: CalendarStore, *factories: async_sessionmaker[AsyncSession]) -> None:
    """Every session these factories make carries ``store`` (``session.info``)."""
    for factory in factories:
        info = dict(factory.kw.get("info") or {})
        info[SESSION_KEY] = store
        factory.configure(info=info)


def store_of(session: AsyncSession) -> CalendarStore | None:
    found = session.info.get(SESSION_KEY)
    return found if isinstance(found, CalendarStore) else None


async def calendars_of(session: AsyncSession) -> Calendars:
    """The calendars for work done in ``session``: its factory's store's (fresh as the store
    keeps them), or the shipped data when the session carries no store."""
    store = store_of(session)
    return await store.view(session) if store is not None else shipped()
