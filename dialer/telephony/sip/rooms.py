"""Conferences over SIP: the room that bridges a call's agent and party legs.

A room follows the rules our TwiML relies on (Twilio's): it starts when a participant with
``startConferenceOnEnter`` is in; a participant that enters before that waits in silence; when
one with ``endConferenceOnExit`` leaves, the room ends and every other participant leaves it too
(their TwiML goes on after ``<Dial>``: with nothing left, the leg hangs up). The media of a started
room with an agent and a party is bridged in the call's media process. Every change is told to
the room's status callback as Twilio tells it (``participant-join``, ``participant-leave``,
``conference-start``, ``conference-end``), numbered by the room's own sequence.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from dialer.telephony.sip.legs import SipLeg, new_sid
from dialer.telephony.sip.twiml import Conference

EVENT_SHORT = {"conference-start": "start", "conference-end": "end", "participant-join": "join",
               "participant-leave": "leave"}

Post = Callable[[str, str, dict[str, str]], None]
"""(stream, url, params): queue a signed callback."""


@dataclass(eq=False)
class Member:
    leg: SipLeg
    starts: bool
    ends_on_exit: bool
    left: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class Room:
    name: str
    sid: str
    callback: str | None
    events: frozenset[str]
    members: list[Member] = field(default_factory=list)
    started: bool = False
    ended: bool = False
    sequence: int = 0
    ending_sid: str | None = None


class Rooms:
    """Every live room of this carrier, by name."""

    def __init__(self, *, post: Post, bridge: Callable[[SipLeg, SipLeg], Awaitable[None]],
                 clock: Callable[[], dt.datetime]) -> None:
        self._rooms: dict[str, Room] = {}
        self._post = post
        self._bridge = bridge
        self._clock = clock

    def __len__(self) -> int:
        return len(self._rooms)

    async def stay(self, leg: SipLeg, noun: Conference) -> str:
        """Join the room named by ``noun`` and stay until the room ends (returns ``completed``); the
        leg's own end (``LegEnded``) propagates after the leg has left."""
        room = self._rooms.get(noun.name)
        if room is None or room.ended:
            room = self._rooms[noun.name] = Room(noun.name, new_sid("CF"), noun.status_callback, noun.events)
        member = Member(leg, noun.starts, noun.ends_on_exit)
        room.members.append(member)
        self._event(room, "participant-join", member)
        if member.starts and not room.started:
            room.started = True
            self._event(room, "conference-start", None)
        await self._maybe_bridge(room)
        try:
            await leg.race(member.left.wait())
        finally:
            self._leave(room, member, reason="left" if not member.left.is_set() else "room ended")
        return "completed"

    async def _maybe_bridge(self, room: Room) -> None:
        if not room.started:
            return
        agents = [m.leg for m in room.members if m.leg.media_leg == "agent"]
        parties = [m.leg for m in room.members if m.leg.media_leg == "party"]
        if agents and parties:
            await self._bridge(agents[0], parties[0])

    def _leave(self, room: Room, member: Member, *, reason: str) -> None:
        if member not in room.members:
            return
        room.members.remove(member)
        member.left.set()
        self._event(room, "participant-leave", member, Reason=reason)
        if member.ends_on_exit and not room.ended:
            room.ending_sid = member.leg.sid
            self._end(room, reason=f"Participant {member.leg.sid} with endConferenceOnExit left")
        elif not room.members and not room.ended:
            self._end(room, reason="Last participant left")

    def _end(self, room: Room, *, reason: str) -> None:
        room.ended = True
        for other in list(room.members):
            self._leave(room, other, reason="room ended")
        self._event(room, "conference-end", None, ReasonConferenceEnded=reason,
                    **({"CallSidEndingConference": room.ending_sid} if room.ending_sid else {}))
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]

    def _event(self, room: Room, event: str, member: Member | None, **extra: str) -> None:
        room.sequence += 1
        if room.callback is None or EVENT_SHORT[event] not in room.events:
            return
        params = {"ConferenceSid": room.sid, "FriendlyName": room.name, "StatusCallbackEvent": event,
                  "SequenceNumber": str(room.sequence), "Timestamp": email.utils.format_datetime(self._clock(), usegmt=True)}
        if member is not None:
            params.update(CallSid=member.leg.sid, Muted="false", Hold="false", Coaching="false",
                          StartConferenceOnEnter=str(member.starts).lower(),
                          EndConferenceOnExit=str(member.ends_on_exit).lower())
        params.update(extra)
        self._post(f"room:{room.sid}", room.callback, params)
