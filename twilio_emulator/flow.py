"""Executing TwiML for an answered call: <Say>, <Play>, <Pause>, <Gather> (no input), <Record>,
<Dial> with <Number>/<Client>/<Sip> (child legs, optional whisper ``url``) or <Conference>,
<Redirect>, <Hangup>/<Reject>. Action URLs are requested with the verb's result parameters."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx

from .calls import Hangup, Redirected, call_params, far_end, start_call
from .errors import TwilioApiError
from .recordings import media_url, start_recording, stop_recording
from .resources import Call, new_sid
from .twiml import TwimlError, Verb, client_identity, dial_nouns, parse_twiml

if TYPE_CHECKING:
    from .engine import Emulator

log = logging.getLogger("twilio_emulator.flow")


@dataclass
class Source:
    """Where the next TwiML document comes from."""

    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def _resolve(base: str | None, url: str | None) -> str | None:
    if not url:
        return None
    return urljoin(base, url) if base else url


async def run_twiml(em: Emulator, call: Call, source: Source, *, fallback: Source | None = None) -> None:
    """Fetch and run TwiML until it runs out; Redirected (REST update) switches documents."""
    next_source: Source | None = source
    while next_source is not None:
        try:
            doc_url, verbs = await _load(em, call, next_source, fallback)
            fallback = None
            next_source = await execute(em, call, verbs, doc_url)
        except Redirected as redirect:
            next_source = Source(redirect.url, redirect.method or "POST", redirect.twiml)


async def _load(em: Emulator, call: Call, source: Source, fallback: Source | None) -> tuple[str | None, list[Verb]]:
    if source.twiml is not None:
        try:
            return None, parse_twiml(source.twiml)
        except TwimlError as exc:
            em.record_error(call, 12100, f"Document parse failure: {exc}")
            raise Hangup("error") from exc
    assert source.url is not None
    delivery = em.poster.prepare(kind="twiml", stream=f"twiml:{call.sid}", resource_sid=call.sid,
                                 account_sid=call.account_sid, url=source.url,
                                 params={**call_params(call), **source.params}, method=source.method)
    try:
        response = await em.poster.request(delivery)
        if response.status_code >= 400:
            raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request, response=response)
        return source.url, parse_twiml(response.text)
    except httpx.HTTPError as exc:
        em.record_error(call, 11200, f"HTTP retrieval failure: {source.url}: {exc}")
        problem: Exception = exc
    except TwimlError as exc:
        em.record_error(call, 12100, f"Document parse failure: {source.url}: {exc}")
        problem = exc
    if fallback is not None:
        return await _load(em, call, fallback, None)
    raise Hangup("error") from problem


async def execute(em: Emulator, call: Call, verbs: list[Verb], doc_url: str | None) -> Source | None:
    """Run the verbs in order; returns the next document (Redirect, action URL) or None at the end."""
    leg = call.leg
    for verb in verbs:
        loops = int(verb.number("loop", 1)) or 1000
        if verb.name == "Say":
            await leg.race(seconds=len(verb.text) * em.scenario.say_seconds_per_char * loops)
        elif verb.name == "Play":
            await leg.race(seconds=em.scenario.play_seconds * loops)
        elif verb.name == "Pause":
            await leg.race(seconds=verb.number("length", 1))
        elif verb.name == "Gather":  # nobody presses anything: prompts, then the timeout
            await execute(em, call, [v for v in verb.children if v.name in {"Say", "Play", "Pause"}], doc_url)
            await leg.race(seconds=verb.number("timeout", 5))
        elif verb.name in {"Hangup", "Reject"}:
            raise Hangup("twiml")
        elif verb.name == "Redirect":
            return Source(_resolve(doc_url, verb.text) or doc_url, verb.attr("method", "POST") or "POST")
        elif verb.name == "Record":
            if (nxt := await _record(em, call, verb, doc_url)) is not None:
                return nxt
        elif verb.name == "Dial":
            if (nxt := await _dial(em, call, verb, doc_url)) is not None:
                return nxt
    return None


async def _record(em: Emulator, call: Call, verb: Verb, doc_url: str | None) -> Source | None:
    remaining = call.leg.remaining()
    speaking = remaining if remaining is not None else em.scenario.script_for(far_end(call)).talk_seconds
    active = start_recording(
        em, call, source="RecordVerb", channels=1,
        callback=_resolve(doc_url, verb.attr("recordingStatusCallback")),
        method=verb.attr("recordingStatusCallbackMethod", "POST"),
        events=verb.events("recordingStatusCallbackEvent") or frozenset({"completed"}),
    )
    hung_up: Hangup | None = None
    try:
        await call.leg.race(seconds=min(verb.number("maxLength", 3600), speaking))
    except Hangup as exc:
        hung_up = exc
    recording = stop_recording(em, call, active)
    action = _resolve(doc_url, verb.attr("action")) or doc_url
    params = {"RecordingUrl": media_url(em, call.account_sid, recording.sid), "RecordingSid": recording.sid,
              "RecordingDuration": str(recording.duration), "Digits": "hangup" if hung_up else ""}
    if hung_up is not None:
        if action:  # Twilio still tells the action URL; the TwiML it returns is ignored
            em.poster.send(em.poster.prepare(kind="action", stream=f"twiml:{call.sid}", resource_sid=call.sid,
                                             account_sid=call.account_sid, url=action,
                                             params={**call_params(call), **params},
                                             method=verb.attr("method", "POST") or "POST"))
        raise hung_up
    return Source(action, verb.attr("method", "POST") or "POST", params=params) if action else None


async def _dial(em: Emulator, call: Call, verb: Verb, doc_url: str | None) -> Source | None:
    nouns = dial_nouns(verb)
    conference = next((n for n in nouns if n.name == "Conference"), None)
    action = _resolve(doc_url, verb.attr("action"))
    method = verb.attr("method", "POST") or "POST"
    params: dict[str, str] = {}
    try:
        if conference is not None:
            await _join_conference(em, call, conference, doc_url, params)
        else:
            await _dial_parties(em, call, verb, [n for n in nouns if n.name != "Queue"], doc_url, params)
    except Hangup as hangup:
        if action and hangup.source == "callee":  # the caller hung up: the action URL still hears of it
            params.setdefault("DialCallStatus", "completed" if "DialCallSid" in params else "canceled")
            em.poster.send(em.poster.prepare(kind="action", stream=f"twiml:{call.sid}", resource_sid=call.sid,
                                             account_sid=call.account_sid, url=action,
                                             params={**call_params(call), **params}, method=method))
        raise
    return Source(action, method, params=params) if action else None


async def _join_conference(em: Emulator, call: Call, noun: Verb, doc_url: str | None, params: dict[str, str]) -> None:
    conf = em.rooms.lookup(call.account_sid, noun.text, create=True)
    em.rooms.configure(conf, _resolve(doc_url, noun.attr("statusCallback")), noun.attr("statusCallbackMethod"),
                       noun.events())
    try:
        p = em.rooms.add(conf, call, label=noun.attr("participantLabel"), muted=noun.flag("muted"),
                         call_sid_to_coach=noun.attr("coach"),
                         start_on_enter=noun.flag("startConferenceOnEnter", True),
                         end_on_exit=noun.flag("endConferenceOnExit"))
    except TwilioApiError as exc:
        em.record_error(call, 13240 if exc.code == 16028 else exc.code, exc.message)
        params["DialCallStatus"] = "failed"
        return
    params["ConferenceSid"] = conf.sid
    em.rooms.connect(p)
    await em.rooms.stay(call, p)
    params["DialCallStatus"] = "completed"


async def _dial_parties(em: Emulator, call: Call, verb: Verb, nouns: list[Verb], doc_url: str | None,
                        params: dict[str, str]) -> None:
    pairs: list[tuple[Call, asyncio.Future[Call]]] = []
    for noun in nouns[:10]:
        to = f"client:{client_identity(noun)}" if noun.name == "Client" else noun.text
        options = {"Timeout": [str(verb.number("timeout", 30))], "TimeLimit": [str(verb.number("timeLimit", 14400))],
                   "StatusCallbackEvent": [noun.attr("statusCallbackEvent", "") or ""],
                   "StatusCallbackMethod": [noun.attr("statusCallbackMethod", "POST") or "POST"]}
        if callback := _resolve(doc_url, noun.attr("statusCallback")):
            options["StatusCallback"] = [callback]
        child = Call(new_sid("CA"), call.account_sid, to, verb.attr("callerId") or call.from_, "outbound-dial",
                     em.clock.now(), options, parent_call_sid=call.sid)
        answered: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        whisper = _resolve(doc_url, noun.attr("url"))
        start_call(em, child, lambda c, w=whisper, a=answered, m=noun.attr("method", "POST"): _bridge(em, c, w, m, a))
        pairs.append((child, answered))
    if not pairs:
        params["DialCallStatus"] = "failed"
        return
    waiter = asyncio.ensure_future(_first_answer(pairs))
    recording = None
    try:
        winner: Call | None = await call.leg.race(waiter)
        for child, _ in pairs:
            if child is not winner:
                child.leg.interrupt(Hangup("parent"))
        if winner is None:
            statuses = {child.status for child, _ in pairs}
            status = next((s for s in ("busy", "failed", "no-answer", "canceled") if s in statuses), "no-answer")
            params.update(DialCallStatus=status, DialCallSid=pairs[0][0].sid, DialCallDuration="0")
            return
        params.update(DialCallSid=winner.sid, DialBridged="true")
        record = verb.attr("record", "do-not-record") or ""
        if record.startswith("record-from"):
            recording = start_recording(
                em, call, source="DialVerb", channels=2 if record.endswith("dual") else 1,
                callback=_resolve(doc_url, verb.attr("recordingStatusCallback")),
                method=verb.attr("recordingStatusCallbackMethod", "POST"),
                events=verb.events("recordingStatusCallbackEvent") or frozenset({"completed"}))
        assert winner.ended is not None
        await call.leg.race(winner.ended)
        params.update(DialCallStatus="completed", DialCallDuration=str(winner.duration or 0))
        if recording is not None:
            rec = stop_recording(em, call, recording)
            params.update(RecordingUrl=media_url(em, call.account_sid, rec.sid), RecordingSid=rec.sid)
    finally:
        waiter.cancel()
        for child, _ in pairs:
            child.leg.interrupt(Hangup("parent"))
        if recording is not None and recording in call.leg.recordings:
            stop_recording(em, call, recording)


async def _bridge(em: Emulator, child: Call, whisper: str | None, method: str | None,
                  answered: asyncio.Future[Call]) -> None:
    """The dialled party answered: play the whisper to it, then stay bridged until someone hangs up."""
    if whisper:
        await run_twiml(em, child, Source(whisper, method or "POST"))
    answered.set_result(child)
    try:
        await child.leg.race()
    except Redirected as redirect:
        await run_twiml(em, child, Source(redirect.url, redirect.method, redirect.twiml))


async def _first_answer(pairs: list[tuple[Call, asyncio.Future[Call]]]) -> Call | None:
    while True:
        for child, answered in pairs:
            if answered.done():
                return child
        if all(child.ended is not None and child.ended.done() for child, _ in pairs):
            return None
        waiting = [f for child, answered in pairs for f in (answered, child.ended) if f is not None and not f.done()]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)

