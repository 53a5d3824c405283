"""Twilio's two limits: calls per second per account (excess is queued, reported as
``queue_time``) and concurrent REST requests per account (excess answers 429 / 20429)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta


class CpsPacer:
    """Hands out one start slot per ``1/cps`` simulated seconds, per account."""

    def __init__(self, cps: Callable[[], float]) -> None:
        self._cps = cps
        self._next: dict[str, datetime] = {}

    def slot(self, account_sid: str, now: datetime) -> timedelta:
        """How long a call created ``now`` waits in the queue before it is placed."""
        start = max(now, self._next.get(account_sid, now))
        self._next[account_sid] = start + timedelta(seconds=1 / self._cps())
        return start - now


class ConcurrencyLimiter:
    """Counts in-flight REST requests per account; ``enter`` refuses past the limit."""

    def __init__(self, limit: Callable[[], int | None]) -> None:
        self._limit = limit
        self.in_flight: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)  # 429s answered, for tests and the demo

    def enter(self, account_sid: str) -> bool:
        limit = self._limit()
        if limit is not None and self.in_flight[account_sid] >= limit:
            self.refused[account_sid] += 1
            return False
        self.in_flight[account_sid] += 1
        return True

    def leave(self, account_sid: str) -> None:
        self.in_flight[account_sid] -= 1
