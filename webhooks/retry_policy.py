"""When a carrier event set aside by the inbox is tried again: exponential back-off, capped.

Computed plainly: tenacity's wait strategies need a live retry loop's ``RetryCallState``, and the
inbox keeps an attempt count in its table instead.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``first_s * factor**attempts`` seconds, at most ``cap_s``. With ``jitter`` (0 to 1), that
    fraction of each delay is drawn at random: the delay falls in ``[(1 - jitter) * d, d]``."""

    first_s: float
    cap_s: float
    factor: float = 2.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.first_s <= 0 or self.cap_s < self.first_s or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError(f"invalid retry policy: {self}")

    def delay(self, attempts: int, *, rand: Callable[[], float] = random.random) -> dt.timedelta:
        """How long to wait after ``attempts`` failed tries before the next (0: the first retry)."""
        if attempts < 0:
            raise ValueError("attempts must be 0 or more")
        if self.factor > 1 and attempts > math.log(self.cap_s / self.first_s, self.factor):
            seconds = self.cap_s  # past the cap (and no float overflow for a long-failing event)
        else:
            seconds = min(self.cap_s, self.first_s * self.factor**attempts)
        if self.jitter:
            seconds *= 1 - self.jitter * rand()
        return dt.timedelta(seconds=seconds)


FAILED = RetryPolicy(first_s=5.0, cap_s=3600.0)
"""An event whose handler raised."""
WAITING = RetryPolicy(first_s=0.5, cap_s=3600.0)
"""An event waiting for another fact (``events.NotYet``): tried again sooner."""
