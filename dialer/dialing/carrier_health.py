"""Whether the carrier answers at all — told apart from one seat's softphone not answering.

Placing a leg that fails with :class:`CarrierUnavailable` (no connection, a timeout, a 5xx) marks
the carrier down: the progressive engine stops dialing (agents wait, ready, instead of being
parked one by one as if their seats were unreachable) and probes the carrier with back-off; the
first answer — any answer, a refusal included — marks it up and the engine resumes by itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dialer.telephony.carrier import Carrier, CarrierError, CarrierUnavailable

log = logging.getLogger("dialer.dialing")

PROBE_FIRST_S = 1.0
PROBE_MAX_S = 30.0
PROBE_CALL_ID = "CA" + "0" * 32
"""A leg no carrier holds: asking for it costs one request, and any answer (a 404) says the carrier is there."""


@dataclass(frozen=True, slots=True)
class HealthView:
    state: str  # up | down
    down_since: dt.datetime | None
    last_error: str | None
    probes: int


class CarrierHealth:
    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self.down_since: dt.datetime | None = None
        self.last_error: str | None = None
        self.probes = 0
        self._next_probe = 0.0
        self._wait = PROBE_FIRST_S

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, error: CarrierError) -> None:
        """A request failed. Only "no answer" (not a refusal, not a rate limit) counts as down."""
        if not isinstance(error, CarrierUnavailable):
            return
        self.last_error = f"{error.code}: {error.detail}"[:300]
        if self.down_since is None:
            self.down_since = dt.datetime.now(dt.timezone.utc)
            self._wait, self._next_probe = PROBE_FIRST_S, self._now() + PROBE_FIRST_S
            log.error("the carrier does not answer (%s): dialing paused until it does", self.last_error)

    def answered(self) -> None:
        if self.down_since is not None:
            log.warning("the carrier answers again after %.0f s: dialing resumes",
                        (dt.datetime.now(dt.timezone.utc) - self.down_since).total_seconds())
        self.down_since, self.probes = None, 0

    def probe_due(self) -> bool:
        return not self.up and self._now() >= self._next_probe

    async def probe(self, carrier: Carrier) -> bool:
        """One look (when down); the next one later each time (doubling, up to ``PROBE_MAX_S``)."""
        self.probes += 1
        try:
            await carrier.get_call(PROBE_CALL_ID)
        except CarrierUnavailable as exc:
            self.last_error = f"{exc.code}: {exc.detail}"[:300]
            self._wait = min(self._wait * 2, PROBE_MAX_S)
            self._next_probe = self._now() + self._wait
            return False
        except CarrierError:
            pass  # refused: it answered
        self.answered()
        return True

    def view(self) -> HealthView:
        return HealthView("up" if self.up else "down", self.down_since, self.last_error, self.probes)
