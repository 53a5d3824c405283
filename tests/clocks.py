"""The clock tests drive: the service's clock is any callable returning an aware instant."""

from __future__ import annotations

import datetime as dt


class DrivenClock:
    """A clock the test moves (``clock.now = …``, ``clock.now += …``)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now
