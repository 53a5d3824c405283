"""One outbound SIP leg's life, as an asyncio task: the same states and callbacks as a Twilio call.

queued → initiated (INVITE sent) → ringing (180/183) → in-progress (2xx) → completed, or busy /
no-answer / failed / canceled, each told to the leg's status callback with Twilio's parameters
(``CallStatus``, ``SequenceNumber``, ``SipResponseCode``, ``CallDuration``). Once answered, the leg
fetches its TwiML from our webhooks and follows it (``dialer.telephony.sip.twiml``): the whisper is
spoken to this leg only by its media process, ``<Dial><Conference>`` joins the call's room, whose
start bridges the agent and the party. When the TwiML runs out the leg hangs up (BYE).

The party leg's media is recorded in two channels (agent, party) from the moment its media is set
up, so early media (a 183's ringback) is in the party's channel; when the call's last leg ends the
recording is finished and told to the recording callback (answered calls only, as Twilio does).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dialer.telephony.carrier import CallStatus
from dialer.telephony.sip import sdp, twiml
from dialer.telephony.sip.callbacks import CallbackFailed, Callbacks
from dialer.telephony.sip.legs import LegEnded, SipLeg
from dialer.telephony.sip.media_link import CallMedia, MediaFailed
from dialer.telephony.sip.rooms import Rooms
from dialer.telephony.sip.signalling import Signalling, Ringing
from dialer.telephony.tts import Speaker, SpeechError

log = logging.getLogger("dialer.telephony.sip")

SIP_BUSY = frozenset({486, 600, 603})
SIP_NO_ANSWER = frozenset({408, 480, 487})


def status_for(code: int) -> CallStatus:
    """A final non-2xx response from the far side as Twilio's status: busy (486/600/603), no-answer
    (408/480, or 487 after our ring timeout), failed (the rest; and any end that no peer sent:
    Timer B's 408 or a transport error's 503, see ``Final.local``)."""
    if code in SIP_BUSY:
        return CallStatus.BUSY
    if code in SIP_NO_ANSWER:
        return CallStatus.NO_ANSWER
    return CallStatus.FAILED


@dataclass(frozen=True, slots=True)
class FlowContext:
    """What every leg's task works with (built once by the carrier)."""

    signalling: Signalling
    media: CallMedia
    speaker: Speaker
    callbacks: Callbacks
    rooms: Rooms
    account: str
    clock: Callable[[], dt.datetime]


def _params(ctx: FlowContext, leg: SipLeg) -> dict[str, str]:
    return {"AccountSid": ctx.account, "CallSid": leg.sid, "CallStatus": leg.status.value,
            "Direction": "outbound-api", "From": leg.request.from_e164, "To": leg.request.to_e164,
            "Called": leg.request.to_e164, "Caller": leg.request.from_e164, "ApiVersion": "2010-04-01"}


def post_status(ctx: FlowContext, leg: SipLeg, status: CallStatus) -> None:
    leg.status = status
    params = _params(ctx, leg)
    params.update(CallbackSource="call-progress-events", SequenceNumber=str(leg.sequence),
                  Timestamp=email.utils.format_datetime(ctx.clock(), usegmt=True))
    leg.sequence += 1
    if leg.is_over:
        params.update(CallDuration=str(leg.info().duration_s or 0), SipResponseCode=str(leg.sip_code or 200))
    ctx.callbacks.send(leg.sid, leg.request.status_callback_url, params)


async def run_leg(ctx: FlowContext, leg: SipLeg) -> None:
    """The leg's whole life; never raises (its end is a status, told to the callback)."""
    final = CallStatus.FAILED
    try:
        final = await _dial(ctx, leg)
        if final is CallStatus.IN_PROGRESS:
            final = await _answered(ctx, leg)
    except asyncio.CancelledError:  # the carrier is closing
        final = CallStatus.COMPLETED if leg.answered_at else CallStatus.CANCELED
        raise
    except Exception:
        log.exception("SIP leg %s failed", leg.sid)
        final = CallStatus.COMPLETED if leg.answered_at else CallStatus.FAILED
    finally:
        await _finish(ctx, leg, final)


async def _dial(ctx: FlowContext, leg: SipLeg) -> CallStatus:
    """INVITE until a final answer; IN_PROGRESS when answered."""
    try:
        local = await ctx.media.open(leg)
    except MediaFailed as exc:
        log.error("SIP leg %s: no media: %s", leg.sid, exc)
        leg.sip_code = 503
        return CallStatus.FAILED
    if leg.interrupted is not None:  # hung up while queued: the party's phone never rings (no attempt made)
        leg.sip_code = 487
        return CallStatus.CANCELED
    offer = sdp.offer(address=local.address, port=local.port, session_id=int(time.time()))
    leg.started_at = ctx.clock()
    post_status(ctx, leg, CallStatus.INITIATED)
    invite = ctx.signalling.invite(leg, offer.encode())
    ringing_told = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + leg.request.timeout_s
    timed_out = False
    # Every INVITE ends by itself once cancelled: with the far end's answer, or the endpoint's own
    # 408 (Timer B) or 487 (64*T1 after the CANCEL, RFC 3261 §9.1): no deadline of its own here.
    while True:
        try:
            step = await leg.race(invite.next(), timeout=None if timed_out else max(0.0, deadline - loop.time()))
        except LegEnded:
            invite.cancel()  # our hang-up while ringing: CANCEL (or BYE if the 200 won the race)
            answer = await invite.final()
            leg.sip_code = answer.status if answer.status >= 300 else 487
            return CallStatus.CANCELED
        if step is None:  # rang out: CANCEL, and the 487 that follows is a no-answer
            timed_out = True
            invite.cancel()
            continue
        if isinstance(step, Ringing):
            if step.sdp is not None:
                await _early_media(ctx, leg, offer, step.sdp)
            if not ringing_told:
                ringing_told = True
                post_status(ctx, leg, CallStatus.RINGING)
            continue
        leg.sip_code = step.status
        if step.local:  # nothing answered at all (Timer B) or the INVITE could not be sent
            log.warning("SIP leg %s: no answer from %s (%s): failed", leg.sid, leg.destination.request_uri, step.status)
            return CallStatus.FAILED
        if 200 <= step.status < 300 and not timed_out:
            remote = sdp.accept_answer(offer, sdp.SessionDescription.parse(step.sdp or b""))
            await ctx.media.connect(leg, remote)
            leg.answered_at = ctx.clock()
            post_status(ctx, leg, CallStatus.IN_PROGRESS)
            return CallStatus.IN_PROGRESS
        if 200 <= step.status < 300:  # answered as we cancelled: the signalling has hung it up
            return CallStatus.NO_ANSWER
        return CallStatus.NO_ANSWER if timed_out else status_for(step.status)


async def _early_media(ctx: FlowContext, leg: SipLeg, offer: sdp.SessionDescription, answer: bytes) -> None:
    try:
        remote = sdp.accept_answer(offer, sdp.SessionDescription.parse(answer))
    except sdp.SdpError as exc:
        log.warning("SIP leg %s: early media ignored: %s", leg.sid, exc)
        return
    await ctx.media.connect(leg, remote)


async def _answered(ctx: FlowContext, leg: SipLeg) -> CallStatus:
    """Follow the leg's TwiML (and the documents a redirect names); hang up when it runs out."""
    url: str | None = leg.request.twiml_url
    try:
        while url is not None:
            try:
                await _follow(ctx, leg, url)
                url = None
            except LegEnded as ended:
                if ended.source != "redirect":
                    raise
                url = leg.take_redirect()
    except LegEnded as ended:
        if ended.source == "callee":
            return CallStatus.COMPLETED  # the far end's BYE was answered by the signalling
    except twiml.TwimlError as exc:
        log.error("SIP leg %s: its TwiML cannot be followed: %s", leg.sid, exc)
    except CallbackFailed as exc:  # the webhook unreachable or failing: Twilio hangs up too (error 11200)
        log.error("SIP leg %s: its TwiML could not be fetched: %s", leg.sid, exc)
    await ctx.signalling.bye(leg)
    return CallStatus.COMPLETED


async def _follow(ctx: FlowContext, leg: SipLeg, url: str) -> None:
    document = await leg.race(ctx.callbacks.fetch(url, _params(ctx, leg)))
    for verb in twiml.parse(document or ""):
        if isinstance(verb, twiml.Hangup):
            return
        if isinstance(verb, twiml.Pause):
            await leg.race(asyncio.sleep(verb.seconds))
        elif isinstance(verb, twiml.Say):
            await _say(ctx, leg, verb)
        elif isinstance(verb, twiml.Conference):
            await ctx.rooms.stay(leg, verb)


async def _say(ctx: FlowContext, leg: SipLeg, verb: twiml.Say) -> None:
    try:
        prompt = await leg.race(ctx.speaker.render(verb.text, language=verb.language))
    except SpeechError as exc:  # the text is on the agent's screen as well: go on without the voice
        log.error("SIP leg %s: the whisper could not be spoken: %s", leg.sid, exc)
        return
    if prompt is not None:
        await leg.race(ctx.media.play(leg, prompt))


async def _finish(ctx: FlowContext, leg: SipLeg, final: CallStatus) -> None:
    leg.ended_at = ctx.clock()
    post_status(ctx, leg, final)
    leg.ended.set()
    ctx.signalling.forget(leg)  # whichever way it ended (a BYE either way, or never answered)
    try:
        await ctx.media.close(leg, answered=leg.answered_at is not None)
    except MediaFailed as exc:
        log.error("SIP leg %s: closing its media failed: %s", leg.sid, exc)
