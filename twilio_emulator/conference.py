"""Conference rooms: participants join and leave, the room starts and ends, and every change
is announced to the conference status callback (``StatusCallbackEvent`` participant-join,
participant-leave, participant-mute/unmute, participant-hold/unhold, participant-modify,
conference-start, conference-end) with an increasing ``SequenceNumber``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .calls import Hangup, Redirected
from .clock import rfc2822
from .errors import TwilioApiError, bad_request, not_found
from .resources import BASE, Call, Conference, Participant, new_sid

if TYPE_CHECKING:
    from .engine import Emulator

DEFAULT_EVENTS = frozenset({"start", "end"})
EVENT_SHORT = {  # StatusCallbackEvent → the short name subscribed with statusCallbackEvent
    "conference-start": "start", "conference-end": "end", "participant-join": "join",
    "participant-leave": "leave", "participant-mute": "mute", "participant-unmute": "mute",
    "participant-hold": "hold", "participant-unhold": "hold", "participant-modify": "modify",
}


def _b(value: bool) -> str:
    return "true" if value else "false"


class Rooms:
    def __init__(self, em: Emulator) -> None:
        self.em = em
        self.members: dict[str, dict[str, Participant]] = {}  # conference sid → call sid → participant

    # --- lookup -------------------------------------------------------------------------------
    def lookup(self, account_sid: str, sid_or_name: str, *, create: bool = False) -> Conference:
        conf = self.em.conferences.get(sid_or_name)
        if conf is not None and conf.account_sid == account_sid:
            return conf
        for conf in self.em.conferences.values():
            if conf.account_sid == account_sid and conf.friendly_name == sid_or_name and conf.status != "completed":
                return conf
        if not create:
            raise not_found(f"{BASE}/{account_sid}/Conferences/{sid_or_name}.json")
        now = self.em.clock.now()
        conf = Conference(new_sid("CF"), account_sid, sid_or_name, now)
        self.em.conferences[conf.sid] = conf
        self.members[conf.sid] = {}
        return conf

    def participants(self, conf: Conference) -> list[Participant]:
        return list(self.members.get(conf.sid, {}).values())

    def participant(self, conf: Conference, call_sid_or_label: str) -> Participant:
        for p in self.participants(conf):
            if call_sid_or_label in (p.call_sid, p.label):
                return p
        raise not_found(f"{BASE}/{conf.account_sid}/Conferences/{conf.sid}/Participants/{call_sid_or_label}.json")

    # --- membership ---------------------------------------------------------------------------
    def configure(self, conf: Conference, url: str | None, method: str | None, events: frozenset[str]) -> None:
        """The first participant that names a status callback sets the conference's."""
        if url and not conf.status_callback:
            conf.status_callback, conf.status_callback_method = url, (method or "POST")
            conf.status_callback_events = events or DEFAULT_EVENTS

    def add(self, conf: Conference, call: Call, *, label: str | None = None, muted: bool = False,
            hold: bool = False, coaching: bool = False, call_sid_to_coach: str | None = None,
            start_on_enter: bool = True, end_on_exit: bool = False) -> Participant:
        if conf.status == "completed":
            raise TwilioApiError(400, 16029, "The conference has ended")  # stale sid
        if coaching or call_sid_to_coach:
            self._check_coached(conf, call_sid_to_coach)
        p = Participant(call.sid, conf.sid, conf.account_sid, self.em.clock.now(), label=label, muted=muted,
                        hold=hold, coaching=bool(coaching or call_sid_to_coach), call_sid_to_coach=call_sid_to_coach,
                        start_conference_on_enter=start_on_enter, end_conference_on_exit=end_on_exit,
                        queue_time_ms=call.queue_time_ms)
        p.left = asyncio.get_running_loop().create_future()
        self.members.setdefault(conf.sid, {})[call.sid] = p
        call.conference_sid = conf.sid
        return p

    def _check_coached(self, conf: Conference, call_sid_to_coach: str | None) -> None:
        coached = self.members.get(conf.sid, {}).get(call_sid_to_coach or "")
        if coached is None or coached.status != "connected":
            raise bad_request(16028, "Participant to be whispered is not present in the conference")

    def connect(self, p: Participant) -> None:
        conf = self.em.conferences[p.conference_sid]
        p.status, p.date_updated = "connected", self.em.clock.now()
        self._event(conf, "participant-join", p)
        connected = [m for m in self.participants(conf) if m.status == "connected"]
        if conf.status == "init" and len(connected) >= 2 and any(m.start_conference_on_enter for m in connected):
            conf.status, conf.date_updated = "in-progress", self.em.clock.now()
            self._event(conf, "conference-start")

    async def stay(self, call: Call, p: Participant) -> str:
        """Keep ``call`` in the room until it is removed or the room ends; returns why it left."""
        assert p.left is not None
        try:
            return await call.leg.race(p.left)
        except Hangup:
            self.leave(p, reason="participant_hung_up", call_status="completed")
            raise
        except Redirected:
            self.leave(p, reason="participant_updated_via_api", call_status="in-progress")
            raise

    def leave(self, p: Participant, *, reason: str, call_status: str = "in-progress", ending: bool = False) -> None:
        members = self.members.get(p.conference_sid, {})
        if members.get(p.call_sid) is not p:
            return
        del members[p.call_sid]
        conf = self.em.conferences[p.conference_sid]
        was_connected = p.status == "connected"
        p.status, p.date_updated = ("complete" if was_connected else "failed"), self.em.clock.now()
        self._event(conf, "participant-leave", p, ParticipantCallStatus=call_status, ReasonParticipantLeft=reason)
        if p.left is not None and not p.left.done():
            p.left.set_result(reason)
        if ending or conf.status == "completed":
            return
        if was_connected and p.end_conference_on_exit:
            self.end(conf, "participant-with-end-conference-on-exit-left", p.call_sid)
        elif not any(m.status == "connected" for m in members.values()) and (was_connected or not members):
            self.end(conf, "last-participant-left", p.call_sid)

    def end(self, conf: Conference, reason: str, ending_call_sid: str | None = None) -> None:
        if conf.status == "completed":
            return
        conf.status, conf.date_updated = "completed", self.em.clock.now()
        conf.reason_conference_ended, conf.call_sid_ending_conference = reason, ending_call_sid
        for p in self.participants(conf):
            if p.status != "connected" and (call := self.em.calls.get(p.call_sid)) is not None:
                call.leg.interrupt(Hangup("conference-ended"))  # still ringing: cancel it
            self.leave(p, reason="conference_ended", ending=True)
        extra = {"ReasonConferenceEnded": reason}
        if ending_call_sid:
            extra["CallSidEndingConference"] = ending_call_sid
        self._event(conf, "conference-end", **extra)
        self.em.poster.close_stream(conf.sid)

    def on_call_ended(self, call: Call) -> None:
        """A call that never got into the room (API participant not answering) leaves it."""
        if call.conference_sid is None:
            return
        p = self.members.get(call.conference_sid, {}).get(call.sid)
        if p is not None:
            self.leave(p, reason="participant_hung_up" if p.status == "connected" else "participant_not_answered",
                       call_status=call.status)

    # --- changes through the REST API ---------------------------------------------------------
    def update(self, p: Participant, form: dict[str, list[str]]) -> None:
        conf = self.em.conferences[p.conference_sid]

        def flag(name: str) -> bool | None:
            values = form.get(name)
            return None if not values else values[-1].strip().lower() in {"true", "1"}

        muted, hold, coaching, end_on_exit = flag("Muted"), flag("Hold"), flag("Coaching"), flag("EndConferenceOnExit")
        to_coach = form.get("CallSidToCoach", [None])[-1]
        if coaching or (to_coach and coaching is not False):
            self._check_coached(conf, to_coach or p.call_sid_to_coach)
        if coaching is False and to_coach:
            raise bad_request(21220, "CallSidToCoach requires Coaching to be true")
        now = self.em.clock.now()
        if muted is not None and muted != p.muted:
            p.muted, p.date_updated = muted, now
            self._event(conf, "participant-mute" if muted else "participant-unmute", p)
        if hold is not None and hold != p.hold:
            p.hold, p.date_updated = hold, now
            self._event(conf, "participant-hold" if hold else "participant-unhold", p)
        if end_on_exit is not None:
            p.end_conference_on_exit = end_on_exit
        if coaching is not None or to_coach:
            p.coaching = coaching if coaching is not None else True
            p.call_sid_to_coach = (to_coach or p.call_sid_to_coach) if p.coaching else None
            p.date_updated = now
            self._event(conf, "participant-modify", p)

    # --- callbacks ----------------------------------------------------------------------------
    def _event(self, conf: Conference, event: str, p: Participant | None = None, **extra: str) -> None:
        if not conf.status_callback or EVENT_SHORT[event] not in conf.status_callback_events:
            return
        params = {
            "AccountSid": conf.account_sid, "ConferenceSid": conf.sid, "FriendlyName": conf.friendly_name,
            "StatusCallbackEvent": event, "SequenceNumber": str(conf.sequence),
            "Timestamp": rfc2822(self.em.clock.now()) or "",
        }
        conf.sequence += 1
        if p is not None:
            params.update(CallSid=p.call_sid, Muted=_b(p.muted), Hold=_b(p.hold), Coaching=_b(p.coaching),
                          EndConferenceOnExit=_b(p.end_conference_on_exit),
                          StartConferenceOnEnter=_b(p.start_conference_on_enter))
            if p.label:
                params["ParticipantLabel"] = p.label
            if p.call_sid_to_coach:
                params["CallSidToCoach"] = p.call_sid_to_coach
        params.update(extra)
        self.em.poster.send(self.em.poster.prepare(
            kind="conference", stream=conf.sid, resource_sid=conf.sid, account_sid=conf.account_sid,
            url=conf.status_callback, params=params, method=conf.status_callback_method))
