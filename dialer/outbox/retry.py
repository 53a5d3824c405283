"""When a delivery is tried again, and when it is given up: the schedule as values and one pure
decision per answer (no clock, no session, no network here).

The schedule spans 3.65 days from the first attempt to the last (16 attempts), jittered upwards
only (×[1.0, 1.25]) so replicas retrying one receiver spread out and the span never shrinks under
three days. A ``Retry-After`` on a 429 or 503 is honoured as "not before": the next attempt waits
for it or for the schedule, whichever is later, so an impatient receiver cannot spend the retries
in minutes. 410 Gone is the endpoint's answer, not the delivery's: the endpoint is disabled and
the delivery waits, unspent, for it to be enabled again."""

from __future__ import annotations

import datetime as dt
import enum
import random
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

_S = dt.timedelta(seconds=1)
_H = dt.timedelta(hours=1)

SCHEDULE: tuple[dt.timedelta, ...] = (
    5 * _S, 30 * _S, 2 * 60 * _S, 10 * 60 * _S, 30 * 60 * _S, _H, 2 * _H, 4 * _H, 8 * _H, *(12 * _H,) * 6,
)
"""The wait after the n-th failed attempt (``SCHEDULE[n - 1]``), before jitter."""

MAX_ATTEMPTS = len(SCHEDULE) + 1
"""Attempts made before a delivery is dead: the first and one per step of the schedule."""

JITTER = (1.0, 1.25)
"""Each wait is multiplied by a factor drawn in this range (upwards only)."""

RETRY_AFTER_CAP = dt.timedelta(hours=24)
RETRY_AFTER_FLOOR = dt.timedelta(seconds=1)
HONOURS_RETRY_AFTER = frozenset({429, 503})

Random = Callable[[], float]
"""A source of floats in [0, 1) (``random.random``; tests pass a fixed one)."""


class Verdict(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    GONE = "gone"  # 410: the endpoint is disabled, the delivery stays pending


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    retry_at: dt.datetime | None = None  # set for RETRY only

    @property
    def counts_as_attempt(self) -> bool:
        """Whether the delivery's ``attempts`` grows (a 410 spends none of its retries)."""
        return self.verdict is not Verdict.GONE


def delay(attempts: int, *, rand: Random = random.random) -> dt.timedelta:
    """The wait after ``attempts`` failed attempts (1-based), jittered; past the schedule, its last step."""
    step = SCHEDULE[min(max(attempts, 1), len(SCHEDULE)) - 1]
    low, high = JITTER
    return step * (low + (high - low) * rand())


def parse_retry_after(value: str | None, *, now: dt.datetime) -> dt.timedelta | None:
    """A ``Retry-After`` header's wait: delta seconds or an HTTP-date, kept within [1 s, 24 h];
    None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        wait = dt.timedelta(seconds=int(text))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP-date is GMT; "-0000" parses naive
            when = when.replace(tzinfo=dt.timezone.utc)
        wait = when - now
    return min(max(wait, RETRY_AFTER_FLOOR), RETRY_AFTER_CAP)


def decide(
    status_code: int | None, error: str | None, attempts: int, retry_after: dt.timedelta | None, now: dt.datetime,
    *, rand: Random = random.random,
) -> Outcome:
    """What an attempt's answer means. ``status_code`` None: no answer (``error`` says why);
    ``attempts`` counts this one; ``retry_after`` is the parsed header (heeded on 429/503 only)."""
    if status_code is not None and 200 <= status_code < 300 and error is None:
        return Outcome(Verdict.DELIVERED)
    if status_code == 410:
        return Outcome(Verdict.GONE)
    if attempts >= MAX_ATTEMPTS:
        return Outcome(Verdict.DEAD)
    wait = delay(attempts, rand=rand)
    if retry_after is not None and status_code in HONOURS_RETRY_AFTER:
        wait = max(wait, min(max(retry_after, RETRY_AFTER_FLOOR), RETRY_AFTER_CAP))
    return Outcome(Verdict.RETRY, now + wait)
