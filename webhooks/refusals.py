"""Refused carrier webhooks (unsigned or wrongly signed) are audited, within bounds.

Anyone can post to a webhook URL, so what a refusal writes to the append-only audit log must not
be theirs to size: otherwise every forged request is a free row of the attacker's choosing.

- **Clipped copies.** The values copied from the request (path, ``CallSid``, client address) are
  made printable (a control character, NUL included, is written as its escape: PostgreSQL could
  not store a NUL, so the refusal went unaudited) and cut to ``CLIPPED`` characters; a cut
  ``CallSid`` also records its real length.
- **One row per source per minute.** The first refusal from a source (the peer address the
  server saw) in a minute-aligned window writes the full ``webhook.bad_signature`` row; repeats
  in that window are only counted, and once the window has ended they are written as one
  ``webhook.bad_signature.repeated`` row (entity ``webhook_source``) with the count and the last
  refusal's time. A flood from one address costs one row a minute, not one per request.

The counts are kept **per process, in memory** (:class:`RefusalWindows`), not in the database:
there is no table for them, and ``audit_log`` is append-only. What that means, honestly:

- with N replicas, a source flooding all of them gets up to N first rows and N count rows a
  minute (each replica counts what it refused);
- memory is bounded: at most ``max_sources`` sources are tracked per window; refusals from any
  further source share one bucket, ``OTHER_SOURCES`` (its first refusal recorded in full, the
  rest counted), so a flood from many addresses writes at most ``max_sources + 1`` first rows
  and as many count rows per window and replica;
- a window's count is written when a later refusal reaches the process (from any source) after
  the window ended; the counts of the last window are written when the service stops
  (:func:`write_last_windows`, from the app's lifespan) — a process killed outright loses them
  (its first row, the evidence that the source was refused, is always written at once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.audit import service as audit

CLIPPED = 64  # characters of a value copied from a refused request into the audit log
WINDOW = dt.timedelta(minutes=1)
MAX_SOURCES = 256
OTHER_SOURCES = "*"  # the bucket of the sources past max_sources, within a window


def clip(value: str, limit: int = CLIPPED) -> str:
    """``value`` printable (each non-printable character as its escape, ``\\x00``) and at most
    ``limit`` characters, the last one ``…`` when it was cut."""
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in value[:limit + 1])
    return shown if len(shown) <= limit and len(value) <= limit else shown[:limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Closed:
    """A window that ended with repeats to report: refusals after the first, and when the last came."""

    source: str
    start: dt.datetime
    end: dt.datetime
    repeats: int
    last_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Noted:
    """What a refusal calls for: ``first`` — it opens its source's window, record it in full;
    ``closed`` — ended windows whose repeats are to be written now."""

    first: bool
    source: str  # the key it was counted under: the address, or OTHER_SOURCES
    window_start: dt.datetime
    closed: tuple[Closed, ...]


@dataclass(slots=True)
class _Window:
    first_at: dt.datetime
    last_at: dt.datetime
    repeats: int = 0


class RefusalWindows:
    """The refusals of the current window per source, in this process (see the module's docstring)."""

    def __init__(self, *, max_sources: int = MAX_SOURCES) -> None:
        self.max_sources = max_sources
        self._start: dt.datetime | None = None
        self._sources: dict[str, _Window] = {}

    def __len__(self) -> int:
        return len(self._sources)

    def note(self, source: str, *, now: dt.datetime) -> Noted:
        """Count a refusal from ``source`` at ``now``. A clock stepping back into an earlier window
        counts in the current one."""
        start = _window_of(now)
        closed: tuple[Closed, ...] = ()
        if self._start is None or start > self._start:
            closed = self.flush()
            self._start = start
        key = source if source in self._sources or len(self._sources) < self.max_sources else OTHER_SOURCES
        window = self._sources.get(key)
        if window is None:
            self._sources[key] = _Window(first_at=now, last_at=now)
        else:
            window.repeats += 1
            window.last_at = max(window.last_at, now)
        return Noted(first=window is None, source=key, window_start=self._start, closed=closed)

    def flush(self) -> tuple[Closed, ...]:
        """End the current window now: its sources with repeats, which are forgotten (at shutdown)."""
        if self._start is None:
            return ()
        end = self._start + WINDOW
        closed = tuple(Closed(source=source, start=self._start, end=end, repeats=w.repeats, last_at=w.last_at)
                       for source, w in self._sources.items() if w.repeats)
        self._sources.clear()
        return closed


def _window_of(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc).replace(second=0, microsecond=0)


async def record_refusal(
    write_sessions: async_sessionmaker[AsyncSession], windows: RefusalWindows, *, now: dt.datetime, path: str,
    client: str | None, signed: bool, call_sid: str | None,
) -> None:
    """Count a refused webhook and write what that calls for (nothing, for a repeat in its window)."""
    source = clip(client or "unknown")
    noted = windows.note(source, now=now)
    if not noted.first and not noted.closed:
        return
    async with write_sessions() as session:
        if noted.first:
            detail: dict[str, object] = {"signed": signed, "client": source, "window_start": noted.window_start.isoformat()}
            if noted.source == OTHER_SOURCES:
                detail["bucket"] = OTHER_SOURCES  # the first of the sources past the ones tracked in this window
            if call_sid is not None:
                detail["call_sid"] = clip(call_sid)
                if len(call_sid) > CLIPPED:
                    detail["call_sid_chars"] = len(call_sid)
            await audit.record(session, action="webhook.bad_signature", entity="webhook", entity_id=clip(path),
                               **detail)
        await write_closed(session, noted.closed)
        await session.commit()


async def write_closed(session: AsyncSession, closed: tuple[Closed, ...]) -> None:
    """The ``webhook.bad_signature.repeated`` rows of ended windows (the caller commits)."""
    for window in closed:
        await audit.record(session, action="webhook.bad_signature.repeated", entity="webhook_source",
                           entity_id=window.source, window_start=window.start.isoformat(),
                           window_end=window.end.isoformat(), repeats=window.repeats,
                           last_at=window.last_at.isoformat())


async def write_last_windows(write_sessions: async_sessionmaker[AsyncSession], windows: RefusalWindows) -> None:
    """At shutdown: the repeats of the window still open, so a stop loses no count."""
    closed = windows.flush()
    if closed:
        async with write_sessions() as session:
            await write_closed(session, closed)
            await session.commit()
