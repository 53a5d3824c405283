"""The emulator's state and the REST operations on it (the HTTP layer in ``app.py`` is thin)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import re
from typing import Any

import httpx

from .callbacks import CallbackPoster
from .calls import TRUE, Hangup, Redirected, start_call
from .clock import SimClock
from .conference import Rooms
from .errors import bad_request, not_found
from .flow import Source, run_twiml
from .media import wav_bytes
from .pacing import ConcurrencyLimiter, CpsPacer
from .resources import BASE, TERMINAL_CALL_STATUSES, Call, Conference, Participant, Recording, new_sid
from .scenario import Scenario

log = logging.getLogger("twilio_emulator")
Form = dict[str, list[str]]
ADDRESS = re.compile(r"^(\+[1-9]\d{6,14}|client:[\w.\-@]+|sip:.+)$")


def _last(form: Form, name: str) -> str | None:
    values = form.get(name)
    return values[-1] if values else None


class Emulator:
    def __init__(self, scenario: Scenario, *, account_sid: str, auth_token: str, clock: SimClock | None = None,
                 public_url: str = "http://127.0.0.1:8099") -> None:
        self.scenario = scenario
        self.clock = clock or SimClock(scenario.speed)
        self.accounts = {account_sid: auth_token}
        self.public_url = public_url
        self.calls: dict[str, Call] = {}
        self.conferences: dict[str, Conference] = {}
        self.recordings: dict[str, Recording] = {}
        self.errors: list[dict[str, Any]] = []
        self.rooms = Rooms(self)
        self.pacer = CpsPacer(lambda: self.scenario.cps)
        self.limiter = ConcurrencyLimiter(lambda: self.scenario.max_concurrent_requests)
        self._http: httpx.AsyncClient | None = None
        self.poster: CallbackPoster = None  # type: ignore[assignment]  # set by start()

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=15.0)
        self.poster = CallbackPoster(
            self._http, token_for=self.token_for, duplicate=lambda: self.scenario.duplicate_callbacks,
            shuffle=lambda: self.scenario.shuffle_callbacks, seed=self.scenario.seed)

    async def stop(self) -> None:
        tasks = [c.task for c in self.calls.values() if c.task is not None and not c.task.done()]
        for call in self.calls.values():
            if call.leg is not None:
                call.leg.interrupt(Hangup("shutdown"))
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
        try:
            await asyncio.wait_for(self.poster.drain(), timeout=5.0)
        except TimeoutError:
            log.warning("callbacks still pending at shutdown")
        if self._http is not None:
            await self._http.aclose()

    def set_scenario(self, scenario: Scenario) -> None:
        if scenario.speed != self.scenario.speed:
            self.clock.set_speed(scenario.speed)
        self.scenario = scenario

    # --- accounts -----------------------------------------------------------------------------
    def add_account(self, account_sid: str, auth_token: str) -> None:
        self.accounts[account_sid] = auth_token

    def token_for(self, account_sid: str) -> str:
        return self.accounts[account_sid]

    def authenticate(self, authorization: str | None) -> str | None:
        """The account of a valid ``Authorization: Basic`` header, else None."""
        if not authorization or not authorization.lower().startswith("basic "):
            return None
        try:
            username, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        token = self.accounts.get(username)
        return username if token is not None and hmac.compare_digest(token, password) else None

    def record_error(self, call: Call, code: int, message: str) -> None:
        log.warning("call %s: error %s: %s", call.sid, code, message)
        self.errors.append({"call_sid": call.sid, "code": code, "message": message, "at": self.clock.now()})

    # --- calls --------------------------------------------------------------------------------
    def create_call(self, account: str, form: Form, *, direction: str = "outbound-api") -> Call:
        to, from_ = _last(form, "To"), _last(form, "From")
        if not to:
            raise bad_request(21201, "No 'To' number is specified")
        if not from_:
            raise bad_request(21603, "A 'From' phone number is required.")
        if not ADDRESS.match(to):
            raise bad_request(21211, f"Invalid 'To' Phone Number: {to}")
        if not (_last(form, "Url") or _last(form, "Twiml") or _last(form, "ApplicationSid")):
            raise bad_request(21205, "Url parameter is required.")
        now = self.clock.now()
        call = Call(new_sid("CA"), account, to, from_, direction, now, form)
        if direction == "outbound-api":
            call.queue_time_ms = round(self.pacer.slot(account, now).total_seconds() * 1000)
        start_call(self, call, self._run_own_twiml)
        return call

    async def _run_own_twiml(self, call: Call) -> None:
        source = Source(call.opt("Url"), call.opt("Method", "POST") or "POST", call.opt("Twiml"))
        fallback = Source(call.opt("FallbackUrl"), call.opt("FallbackMethod", "POST") or "POST") \
            if call.opt("FallbackUrl") else None
        await run_twiml(self, call, source, fallback=fallback)

    def get_call(self, account: str, sid: str) -> Call:
        call = self.calls.get(sid)
        if call is None or call.account_sid != account:
            raise not_found(f"{BASE}/{account}/Calls/{sid}.json")
        return call

    def list_calls(self, account: str, query: dict[str, str]) -> list[Call]:
        keys = {"To": "to", "From": "from_", "Status": "status", "ParentCallSid": "parent_call_sid"}
        calls = [c for c in self.calls.values() if c.account_sid == account
                 and all(getattr(c, attr) == query[k] for k, attr in keys.items() if query.get(k))]
        return calls[::-1]

    async def update_call(self, account: str, sid: str, form: Form) -> Call:
        call = self.get_call(account, sid)
        for name in ("StatusCallback", "StatusCallbackMethod"):
            if name in form:
                call.options[name] = form[name]
        status, url, twiml = _last(form, "Status"), _last(form, "Url"), _last(form, "Twiml")
        if status is not None:
            if status not in {"completed", "canceled"}:
                raise bad_request(21218, f"Invalid Status: {status}")
            if call.status in TERMINAL_CALL_STATUSES or (status == "canceled" and call.status == "in-progress"):
                return call
            call.leg.interrupt(Hangup("api"))
            await asyncio.wait([call.ended], timeout=1.0)  # answer with the call already ended
            return call
        if url or twiml:
            if call.status != "in-progress":
                raise bad_request(21220, "Call is not in-progress. Cannot redirect.")
            call.leg.interrupt(Redirected(url=url, method=_last(form, "Method") or "POST", twiml=twiml))
        return call

    def delete_call(self, account: str, sid: str) -> None:
        call = self.get_call(account, sid)
        if call.status not in TERMINAL_CALL_STATUSES:
            raise bad_request(21220, "Cannot delete a call that is in progress")
        del self.calls[sid]

    # --- conferences and participants ---------------------------------------------------------
    def list_conferences(self, account: str, query: dict[str, str]) -> list[Conference]:
        return [c for c in self.conferences.values() if c.account_sid == account
                and query.get("FriendlyName") in (None, "", c.friendly_name)
                and query.get("Status") in (None, "", c.status)][::-1]

    def update_conference(self, account: str, sid: str, form: Form) -> Conference:
        conf = self.rooms.lookup(account, sid)
        if _last(form, "Status") == "completed":
            self.rooms.end(conf, "conference-ended-via-api")
        return conf

    def create_participant(self, account: str, conference: str, form: Form) -> Participant:
        if not _last(form, "To"):
            raise bad_request(21604, "A 'To' phone number is required.")
        if not _last(form, "From"):
            raise bad_request(21603, "A 'From' phone number is required.")
        conf = self.rooms.lookup(account, conference, create=not conference.startswith("CF"))
        now = self.clock.now()
        call = Call(new_sid("CA"), account, _last(form, "To") or "", _last(form, "From") or "", "outbound-api", now,
                    form)
        call.queue_time_ms = round(self.pacer.slot(account, now).total_seconds() * 1000)

        def flag(name: str, default: bool = False) -> bool:
            return (_last(form, name) or str(default)).lower() in TRUE

        p = self.rooms.add(conf, call, label=_last(form, "Label"), muted=flag("Muted"), hold=flag("Hold"),
                           coaching=flag("Coaching"), call_sid_to_coach=_last(form, "CallSidToCoach"),
                           start_on_enter=flag("StartConferenceOnEnter", True),
                           end_on_exit=flag("EndConferenceOnExit"))
        events = frozenset(e for v in form.get("ConferenceStatusCallbackEvent", []) for e in v.split())
        self.rooms.configure(conf, _last(form, "ConferenceStatusCallback"),
                             _last(form, "ConferenceStatusCallbackMethod"), events)

        async def in_the_room(answered: Call) -> None:
            self.rooms.connect(p)
            try:
                await self.rooms.stay(answered, p)
            except Redirected as redirect:
                await run_twiml(self, answered, Source(redirect.url, redirect.method, redirect.twiml))

        start_call(self, call, in_the_room)
        return p

    def participant_view(self, p: Participant) -> Participant:
        """Participants added through the API follow their call while it rings."""
        call = self.calls.get(p.call_sid)
        if p.status in {"queued", "connecting", "ringing"} and call is not None:
            p.status = "ringing" if call.status == "ringing" else ("connecting" if call.start_time else "queued")
        return p

    def list_participants(self, account: str, conference: str, query: dict[str, str]) -> list[Participant]:
        conf = self.rooms.lookup(account, conference)
        wanted = {k: query[k].lower() in TRUE for k in ("Muted", "Hold", "Coaching") if query.get(k)}
        return [self.participant_view(p) for p in self.rooms.participants(conf)
                if all(getattr(p, k.lower()) == v for k, v in wanted.items())]

    def get_participant(self, account: str, conference: str, call_sid_or_label: str) -> Participant:
        conf = self.rooms.lookup(account, conference)
        return self.participant_view(self.rooms.participant(conf, call_sid_or_label))

    def update_participant(self, account: str, conference: str, call_sid_or_label: str, form: Form) -> Participant:
        p = self.get_participant(account, conference, call_sid_or_label)
        self.rooms.update(p, form)
        return p

    def delete_participant(self, account: str, conference: str, call_sid_or_label: str) -> None:
        p = self.get_participant(account, conference, call_sid_or_label)
        call = self.calls.get(p.call_sid)
        if p.status != "connected" and call is not None:
            call.leg.interrupt(Hangup("api"))
        self.rooms.leave(p, reason="participant_removed_via_api",
                         call_status=call.status if call is not None else "completed")

    # --- recordings ---------------------------------------------------------------------------
    def get_recording(self, account: str, sid: str) -> Recording:
        rec = self.recordings.get(sid)
        if rec is None or rec.account_sid != account:
            raise not_found(f"{BASE}/{account}/Recordings/{sid}.json")
        return rec

    def list_recordings(self, account: str, query: dict[str, str]) -> list[Recording]:
        return [r for r in self.recordings.values() if r.account_sid == account
                and query.get("CallSid") in (None, "", r.call_sid)
                and query.get("ConferenceSid") in (None, "", r.conference_sid)][::-1]

    def delete_recording(self, account: str, sid: str) -> None:
        self.get_recording(account, sid)
        del self.recordings[sid]

    def recording_media(self, account: str, sid: str, requested_channels: str | None) -> bytes:
        """The WAV; ``RequestedChannels=1`` downmixes a dual-channel recording to mono."""
        rec = self.get_recording(account, sid)
        channels = 1 if requested_channels == "1" else rec.channels
        return wav_bytes(rec.duration, channels=channels, key=rec.sid)  # each recording its own tones

    # --- inbound calls (emulator control) -----------------------------------------------------
    def inbound_call(self, account: str, form: Form) -> Call:
        """A party calls one of the account's numbers; the service's voice URL answers it."""
        return self.create_call(account, form, direction="inbound")

