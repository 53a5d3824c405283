"""Login throttling: failed logins counted per username and per source address, a lock with a
growing back-off once a key fails too often, kept in the database so every replica agrees.

The rule (:func:`after_failure`, :func:`locked_for`) is pure; :func:`take` and :func:`settle`
read and write the counts inside the caller's transaction, rows locked (``FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.models import LoginThrottle
from dialer.kit.db import begin_write, insert_once
from dialer.kit.errors import DialerError


class LoginThrottled(DialerError):
    """Too many failed logins for this username or from this address: 429 with ``Retry-After``.
    The audit entry of the refusal is kept."""

    code = "login_throttled"
    status = 429
    keep_work = True

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after_seconds=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Rule:
    """``max_failures`` within ``window`` lock the key for ``first_lock``, doubled at each further
    lockout up to ``longest_lock``; ``forgive_after`` without a lock forgets past lockouts."""

    max_failures: int
    window: dt.timedelta = dt.timedelta(minutes=15)
    first_lock: dt.timedelta = dt.timedelta(minutes=5)
    longest_lock: dt.timedelta = dt.timedelta(hours=24)
    forgive_after: dt.timedelta = dt.timedelta(hours=24)


Rules = Mapping[str, Rule]
"""The rule of each scope a login attempt is counted under: ``user`` and ``source``."""


def rules(*, per_user: int, per_source: int) -> dict[str, Rule]:
    """The lockout rules as configured (``DIALER_LOGIN_MAX_FAILURES_PER_USER`` and ``..._PER_SOURCE``,
    5 and 20 by default): ``per_user`` failures lock a username, ``per_source`` an address. An office
    behind one address holds many agents: its limit is the higher one."""
    return {"user": Rule(max_failures=per_user), "source": Rule(max_failures=per_source)}


@dataclass(frozen=True, slots=True)
class Count:
    failures: int
    window_started_at: dt.datetime
    locked_until: dt.datetime | None = None
    lockouts: int = 0


def locked_for(count: Count, now: dt.datetime) -> int:
    """Seconds the key stays locked at ``now`` (0: not locked)."""
    if count.locked_until is None or count.locked_until <= now:
        return 0
    return max(1, math.ceil((count.locked_until - now).total_seconds()))


def after_failure(rule: Rule, count: Count, now: dt.datetime) -> Count:
    """The count once one more failure is added at ``now``."""
    lockouts = count.lockouts
    if count.locked_until is not None and now - count.locked_until >= rule.forgive_after:
        lockouts = 0
    if now - count.window_started_at >= rule.window:
        count = Count(failures=0, window_started_at=now, locked_until=count.locked_until, lockouts=lockouts)
    failures = count.failures + 1
    if failures < rule.max_failures:
        return replace(count, failures=failures, lockouts=lockouts)
    lock = min(rule.first_lock * (2 ** min(lockouts, 20)), rule.longest_lock)
    return Count(failures=0, window_started_at=now, locked_until=now + lock, lockouts=lockouts + 1)


def after_success(count: Count) -> Count:
    """A user who logged in starts afresh."""
    return Count(failures=0, window_started_at=count.window_started_at)


async def take(session: AsyncSession, *, keys: dict[str, str], now: dt.datetime, rules: Rules) -> int:
    """Before checking a password: 0 when no key (``{"user": name, "source": address}``) is
    locked, after counting this attempt as a failure (undone by :func:`forgive` on success, so
    concurrent guesses cannot all pass the check); else the seconds until the longest lock ends,
    counting nothing."""
    rows = await _locked_rows(session, keys, now)
    wait = max(locked_for(_count(row), now) for row in rows)
    if wait:
        return wait
    for row in rows:
        _store(row, after_failure(rules[row.scope], _count(row), now))
    await session.flush()
    return 0


async def forgive(session: AsyncSession, *, keys: dict[str, str], now: dt.datetime) -> None:
    """The attempt counted by :func:`take` succeeded: the user starts afresh, the source's
    provisional failure is taken back."""
    for row in await _locked_rows(session, keys, now):
        if row.scope == "user":
            _store(row, after_success(_count(row)))
        elif row.failures > 0:
            row.failures -= 1
    await session.flush()


async def _locked_rows(session: AsyncSession, keys: dict[str, str], now: dt.datetime) -> list[LoginThrottle]:
    await begin_write(session)
    for scope, key in sorted(keys.items()):
        await insert_once(session, LoginThrottle, {"scope": scope, "key": key, "failures": 0, "lockouts": 0,
                                                   "window_started_at": now}, ["scope", "key"])
    wanted = or_(*(and_(LoginThrottle.scope == scope, LoginThrottle.key == key) for scope, key in keys.items()))
    query = select(LoginThrottle).where(wanted).order_by(LoginThrottle.scope).with_for_update()
    query = query.execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


def _count(row: LoginThrottle) -> Count:
    return Count(row.failures, row.window_started_at, row.locked_until, row.lockouts)


def _store(row: LoginThrottle, count: Count) -> None:
    row.failures, row.window_started_at = count.failures, count.window_started_at
    row.locked_until, row.lockouts = count.locked_until, count.lockouts
