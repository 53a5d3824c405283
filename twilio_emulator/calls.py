"""One call's life as an asyncio task: queued → initiated → ringing → in-progress → completed
(or busy / no-answer / failed / canceled), with the status callbacks the caller asked for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .clock import SimClock, rfc2822
from .recordings import start_recording, stop_recordings
from .resources import API_VERSION, Call
from .scenario import Behaviour

if TYPE_CHECKING:
    from .engine import Emulator

log = logging.getLogger("twilio_emulator.calls")

EVENT_STATUS = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}
SIP_CODES = {"completed": "200", "busy": "486", "no-answer": "487", "canceled": "487", "failed": "404"}
DECLINED = "603"  # SIP 603 Decline: the party refused the call after it rang
TRUE = frozenset({"true", "1", "yes"})


class Hangup(Exception):
    """The call ends. ``source``: callee | api | twiml | parent | time-limit | shutdown | error."""

    def __init__(self, source: str = "api") -> None:
        super().__init__(source)
        self.source = source


class Redirected(Exception):
    """New TwiML replaces what the call is executing (REST update with Url or Twiml)."""

    def __init__(self, *, url: str | None = None, method: str = "POST", twiml: str | None = None) -> None:
        super().__init__(url or "twiml")
        self.url, self.method, self.twiml = url, method, twiml


class Leg:
    """The runtime of one call: interrupts from outside, and when the far end will hang up."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.deadline: datetime | None = None  # the far end hangs up then (simulated time)
        self.sequence = 0
        self.recordings: list[Any] = []
        self._pending: BaseException | None = None
        self._event = asyncio.Event()

    def interrupt(self, exc: BaseException) -> None:
        if isinstance(self._pending, Hangup):
            return  # a hang-up is final
        self._pending = exc
        self._event.set()

    def _raise_pending(self) -> None:
        exc = self._pending
        if exc is None:
            return
        if not isinstance(exc, Hangup):
            self._pending = None
            self._event.clear()
        raise exc

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.0, (self.deadline - self.clock.now()).total_seconds())

    async def race(self, fut: asyncio.Future[Any] | None = None, seconds: float | None = None) -> Any:
        """Wait for ``fut`` or ``seconds`` (simulated), whichever first; raise Hangup/Redirected
        if the call is interrupted or the far end hangs up meanwhile. Returns ``fut``'s result."""
        self._raise_pending()
        remaining = self.remaining()
        limits = [x for x in (seconds, remaining) if x is not None]
        timeout = self.clock.real_seconds(min(limits)) if limits else None
        waiter = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({waiter, fut} if fut is not None else {waiter}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        self._raise_pending()
        if fut is not None and fut.done():
            return fut.result()
        if remaining is not None and (seconds is None or remaining <= seconds):
            raise Hangup("callee")
        return None


def subscribed_events(values: list[str], *, default: frozenset[str]) -> frozenset[str]:
    """``StatusCallbackEvent`` repeated or space-separated."""
    events = frozenset(e for v in values for e in v.replace(",", " ").split())
    return events or default


def far_end(call: Call) -> str:
    """The party the scenario scripts: the callee of an outbound leg, the caller of an inbound one."""
    return call.from_ if call.direction == "inbound" else call.to


def call_params(call: Call) -> dict[str, str]:
    """The parameters Twilio sends with every request about a call."""
    params = {
        "AccountSid": call.account_sid, "ApiVersion": API_VERSION, "CallSid": call.sid,
        "CallStatus": call.status, "Called": call.to, "Caller": call.from_, "Direction": call.direction,
        "From": call.from_, "To": call.to,
    }
    if call.parent_call_sid:
        params["ParentCallSid"] = call.parent_call_sid
    if call.answered_by:
        params["AnsweredBy"] = call.answered_by
    return params


def post_status(em: Emulator, call: Call, event: str, *, last: bool = False) -> None:
    url = call.opt("StatusCallback")
    events = subscribed_events(call.opts("StatusCallbackEvent"), default=frozenset({"completed"}))
    if url and event in events:
        params = call_params(call)
        params["CallStatus"] = EVENT_STATUS.get(event, call.status)
        params.update(CallbackSource="call-progress-events", SequenceNumber=str(call.leg.sequence),
                      Timestamp=rfc2822(em.clock.now()) or "")
        call.leg.sequence += 1
        if event == "completed":
            duration = call.duration or 0
            params.update(CallDuration=str(duration),
                          SipResponseCode=call.sip_response_code or SIP_CODES.get(call.status, "200"))
        em.poster.send(em.poster.prepare(
            kind="status", stream=call.sid, resource_sid=call.sid, account_sid=call.account_sid,
            url=url, params=params, method=call.opt("StatusCallbackMethod", "POST") or "POST"))
    if last:
        em.poster.close_stream(call.sid)


async def _ring(em: Emulator, call: Call) -> str | None:
    """Ring the far end; None when it answers, else the call's final status."""
    if call.direction == "inbound":
        return None  # the caller is already on the line; Twilio answers with the TwiML
    script = em.scenario.script_for(call.to)
    timeout = float(call.opt("Timeout", "60") or 60)
    if script.behaviour is Behaviour.FAIL:
        await call.leg.race(seconds=0.5)
        return "failed"
    if script.behaviour is Behaviour.BUSY:
        await call.leg.race(seconds=1.0)
        return "busy"
    call.status = "ringing"
    post_status(em, call, "ringing")
    if script.behaviour is Behaviour.NO_ANSWER or script.ring_seconds >= timeout:
        await call.leg.race(seconds=timeout)
        return "no-answer"
    await call.leg.race(seconds=script.ring_seconds)
    if script.behaviour is Behaviour.REJECT:  # declined after ringing: Twilio says busy, SIP says 603 Decline
        call.sip_response_code = DECLINED
        return "busy"
    return None


def _answer(em: Emulator, call: Call) -> None:
    now = em.clock.now()
    script = em.scenario.script_for(far_end(call))
    call.status, call.answered_at, call.date_updated = "in-progress", now, now
    if call.opt("MachineDetection"):
        call.answered_by = "machine_start" if script.behaviour is Behaviour.VOICEMAIL else "human"
    limits = [now + timedelta(seconds=float(call.opt("TimeLimit", "14400") or 14400))]
    if script.hangup_first == "callee":
        limits.append(now + timedelta(seconds=script.talk_seconds))
    call.leg.deadline = min(limits)
    post_status(em, call, "answered")
    if (call.opt("Record") or "").lower() in TRUE:
        start_recording(
            em, call, source="OutboundAPI", channels=2 if call.opt("RecordingChannels") == "dual" else 1,
            callback=call.opt("RecordingStatusCallback"), method=call.opt("RecordingStatusCallbackMethod", "POST"),
            events=subscribed_events(call.opts("RecordingStatusCallbackEvent"), default=frozenset({"completed"})),
        )


def _finish(em: Emulator, call: Call, status: str) -> None:
    now = em.clock.now()
    call.status, call.end_time, call.date_updated = status, now, now
    call.leg.deadline = None
    em.rooms.on_call_ended(call)
    post_status(em, call, "completed", last=True)
    stop_recordings(em, call)
    if call.ended is not None and not call.ended.done():
        call.ended.set_result(status)


async def run_call(em: Emulator, call: Call, on_answer: Callable[[Call], Awaitable[None]]) -> None:
    """The whole life of ``call``; ``on_answer`` drives it once answered (TwiML, conference…)."""
    status = "failed"
    try:
        try:
            if call.queue_time_ms:
                await call.leg.race(seconds=call.queue_time_ms / 1000)
            call.start_time = em.clock.now()
            post_status(em, call, "initiated")
            outcome = await _ring(em, call)
        except Hangup:
            outcome = "canceled"
        if outcome is not None:
            status = outcome
            return
        _answer(em, call)
        status = "completed"
        try:
            await on_answer(call)
        except Hangup as hangup:
            log.debug("call %s hung up by %s", call.sid, hangup.source)
    except asyncio.CancelledError:
        status = "completed" if call.answered_at else "canceled"
        raise
    except Exception:
        log.exception("call %s crashed", call.sid)
        em.record_error(call, 11200, "the emulator failed while running the call")
        status = "completed" if call.answered_at else "failed"
    finally:
        _finish(em, call, status)


def start_call(em: Emulator, call: Call, on_answer: Callable[[Call], Awaitable[None]]) -> None:
    loop = asyncio.get_running_loop()
    call.leg = Leg(em.clock)
    call.ended = loop.create_future()
    em.calls[call.sid] = call
    call.task = loop.create_task(run_call(em, call, on_answer), name=f"call-{call.sid}")
