"""Time for the SIP stack: the clock and one-shot timers behind a small protocol, the running
asyncio loop as the real implementation, a hand-driven clock for tests, and RFC 3261's timer
values (§17, table 4) in one overridable place."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class TimerHandle(Protocol):
    """A scheduled callback; ``cancel()`` is safe to call more than once and after it fired."""

    def cancel(self) -> None: ...


class Timers(Protocol):
    """A monotonic clock in seconds and one-shot callbacks on it."""

    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle: ...


class NamedTimers:
    """A transaction's running timers by name (``"A"``, ``"B"``, …): arming one replaces the timer of
    that name; ``cancel_all`` ends every one (the transaction terminates)."""

    def __init__(self, timers: Timers) -> None:
        self._timers = timers
        self._handles: dict[str, TimerHandle] = {}

    def arm(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self.disarm(name)
        self._handles[name] = self._timers.call_later(delay, callback)

    def disarm(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()


@dataclass(frozen=True)
class TimerConfig:
    """RFC 3261's timer base values (seconds) and the timers derived from them for UDP.

    Tests shorten ``t1`` (and with it B, F, H, J) or ``timer_d`` rather than wait."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_d: float = 32.0  # §17.1.1.2: "at least 32 seconds for unreliable transports"
    trying_after: float = 0.2  # §17.2.1: 100 Trying if the TU has not answered within 200 ms

    @property
    def timer_b(self) -> float:
        return 64 * self.t1

    @property
    def timer_f(self) -> float:
        return 64 * self.t1

    @property
    def timer_h(self) -> float:
        return 64 * self.t1

    @property
    def timer_j(self) -> float:
        return 64 * self.t1

    @property
    def timer_i(self) -> float:
        return self.t4

    @property
    def timer_k(self) -> float:
        return self.t4


class LoopTimers:
    """The running asyncio loop's clock and ``call_later`` (looked up when first used)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def _running(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> float:
        return self._running().time()

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        return self._running().call_later(delay, callback, *args)


@dataclass(eq=False)
class ManualHandle:
    """A timer of ``ManualTimers``."""

    when: float
    callback: Callable[..., object]
    args: tuple[Any, ...]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class ManualTimers:
    """A clock that moves only when a test calls ``advance``; for the state machines' tests."""

    time: float = 0.0
    _queue: list[tuple[float, int, ManualHandle]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def now(self) -> float:
        return self.time

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> ManualHandle:
        handle = ManualHandle(self.time + max(delay, 0.0), callback, args)
        heapq.heappush(self._queue, (handle.when, next(self._order), handle))
        return handle

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``, firing every timer that falls due on the way in time
        order (ties in scheduling order), timers scheduled by those callbacks included."""
        until = self.time + seconds
        while self._queue and self._queue[0][0] <= until:
            when, _, handle = heapq.heappop(self._queue)
            if handle.cancelled:
                continue
            self.time = max(self.time, when)
            handle.cancelled = True
            handle.callback(*handle.args)
        self.time = until

    def pending(self) -> list[float]:
        """When the timers still armed will fire, soonest first."""
        return sorted(h.when for _, _, h in self._queue if not h.cancelled)
