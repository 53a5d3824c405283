"""One SIP leg as the carrier tracks it: Twilio's call resource, in memory.

The carrier answers ``get_call`` and ``find_calls`` from these. A leg's life is one task
(``dialer.telephony.sip.leg_flow``); outside events (our hang-up, the far end's BYE, the room
ending) reach that task as an interrupt, which it sees at its next wait (``race``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dialer.telephony.carrier import CallInfo, CallStatus, PlaceCall, TERMINAL_STATUSES
from dialer.telephony.sip.numbers import Destination

T = TypeVar("T")


def new_sid(prefix: str) -> str:
    """Twilio-shaped ids (``CA`` + 32 hex) so stored events and logs read the same for both carriers."""
    return prefix + secrets.token_hex(16)


class LegEnded(Exception):
    """The leg is over: ``source`` is ``api`` (our hang-up), ``callee`` (the far end's BYE),
    ``room`` (the conference it was in ended), ``media`` (its media process went away)."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.source = source


@dataclass(eq=False)
class SipLeg:
    sid: str
    request: PlaceCall
    destination: Destination
    created_at: dt.datetime
    status: CallStatus = CallStatus.QUEUED
    started_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    sip_code: int | None = None
    sequence: int = 0
    task: asyncio.Task[None] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _interrupt: asyncio.Future[str] | None = None

    @property
    def media_leg(self) -> str:
        """The leg's side in the call's media and recording: the seat is ``agent``, the rest ``party``."""
        return "agent" if self.destination.is_seat else "party"

    @property
    def media_call(self) -> str:
        """Both legs of one of our calls share a media call (and its two-channel recording)."""
        return f"call-{self.request.call_ref}"

    @property
    def is_over(self) -> bool:
        return self.status in TERMINAL_STATUSES

    next_url: str | None = None

    def redirect(self, url: str) -> None:
        """Leave what the leg is doing for the TwiML at ``url`` (unless it is ending anyway)."""
        if self.interrupted not in (None, "redirect"):
            return
        self.next_url = url
        self.interrupt("redirect")

    def take_redirect(self) -> str | None:
        """The URL a redirect named, clearing it so the leg can be interrupted again."""
        url, self.next_url = self.next_url, None
        if self.interrupted == "redirect":
            self._interrupt = None
        return url

    def interrupt(self, source: str) -> None:
        """End the leg at its next wait (the first reason wins)."""
        if self._interrupt is not None and self._interrupt.done() and self._interrupt.result() == "redirect" \
                and source != "redirect":
            self._interrupt = None  # ending outranks a pending redirect
        if self._interrupt is None:
            self._interrupt = asyncio.get_running_loop().create_future()
        if not self._interrupt.done():
            self._interrupt.set_result(source)

    @property
    def interrupted(self) -> str | None:
        return self._interrupt.result() if self._interrupt is not None and self._interrupt.done() else None

    async def race(self, awaitable: Awaitable[T], *, timeout: float | None = None) -> T | None:
        """``awaitable``'s result, or None after ``timeout`` seconds; raises ``LegEnded`` when the leg
        is interrupted first (``awaitable`` is then cancelled)."""
        if self.interrupted is not None:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never started: no "never awaited" warning
            raise LegEnded(self.interrupted)
        if self._interrupt is None:
            self._interrupt = asyncio.get_running_loop().create_future()
        work: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        stop: asyncio.Future[Any] = asyncio.shield(self._interrupt)
        try:
            done, _ = await asyncio.wait({work, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()
            raise
        if work in done:
            return work.result()
        work.cancel()
        if stop in done:
            raise LegEnded(str(stop.result()))
        return None

    def info(self) -> CallInfo:
        duration = None
        if self.answered_at is not None and self.ended_at is not None:
            duration = int((self.ended_at - self.answered_at).total_seconds())
        return CallInfo(
            carrier_call_id=self.sid, to=self.request.to_e164, from_=self.request.from_e164, status=self.status,
            direction="outbound-api", created_at=self.created_at, started_at=self.started_at,
            ended_at=self.ended_at, duration_s=duration,
        )
