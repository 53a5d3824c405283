"""Simulated time: the emulator's clock runs ``speed`` times faster than the wall clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


class SimClock:
    """``now()`` advances ``speed`` simulated seconds per wall-clock second.

    Every duration the emulator reports (call duration, recording length, queue_time) is in
    simulated seconds, so a test at speed 100 sees a "20 s" call that lasted 0.2 s.
    """

    def __init__(self, speed: float = 1.0, *, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def set_speed(self, speed: float) -> None:
        """Change the pace from now on (simulated time stays continuous)."""
        self._start, self._t0, self.speed = self.now(), time.monotonic(), speed

    def real_seconds(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) / self.speed

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(sim_seconds))


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format: ``Tue, 31 Aug 2010 20:36:28 +0000``."""
    if moment is None:
        return None
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))
