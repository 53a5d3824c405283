"""The call lifecycle as an explicit state machine (pure).

    requested → blocked | dialing → ringing → answered → bridged → completed
    with the ends no_answer, busy, rejected, failed, canceled (outbound) and missed (inbound).

Carrier events only move a call forward. An event for a state the call has already passed is
*stale* (a late or repeated delivery: harmless, not applied); an event that contradicts where
the call is (a busy call "completing", an ended call ending otherwise) is *illegal*: refused and
logged by the caller, never silently applied.
"""

from __future__ import annotations

import enum

from dialer.calls.models import CallOutcome, CallState

S = CallState

ENDS = frozenset({S.BLOCKED, S.COMPLETED, S.NO_ANSWER, S.BUSY, S.REJECTED, S.FAILED, S.CANCELED, S.MISSED})
_NOT_CONNECTED_ENDS = {S.NO_ANSWER, S.BUSY, S.REJECTED, S.FAILED, S.CANCELED, S.MISSED}

NEXT: dict[CallState, frozenset[CallState]] = {
    S.REQUESTED: frozenset({S.BLOCKED, S.DIALING, S.RINGING, S.FAILED, S.CANCELED}),
    S.DIALING: frozenset({S.RINGING, S.ANSWERED} | _NOT_CONNECTED_ENDS - {S.MISSED}),
    S.RINGING: frozenset({S.ANSWERED} | _NOT_CONNECTED_ENDS),
    S.ANSWERED: frozenset({S.BRIDGED, S.COMPLETED, S.FAILED, S.MISSED}),
    S.BRIDGED: frozenset({S.COMPLETED, S.FAILED}),
    **{end: frozenset() for end in ENDS},
}

_RANK = {S.REQUESTED: 0, S.DIALING: 1, S.RINGING: 2, S.ANSWERED: 3, S.BRIDGED: 4}


class Move(enum.StrEnum):
    APPLIED = "applied"
    SAME = "same"  # already there (a repeated event)
    STALE = "stale"  # an earlier state delivered late
    ILLEGAL = "illegal"


def advance(current: CallState, target: CallState) -> Move:
    """Whether a call in ``current`` may move to ``target``."""
    if target == current:
        return Move.SAME
    if target in NEXT[current]:
        return Move.APPLIED
    if current in ENDS:
        return Move.STALE if target not in ENDS else Move.ILLEGAL
    # A live call: intermediate states it has passed are stale; anything else is illegal.
    if target in _RANK and _RANK[target] < _RANK[current]:
        return Move.STALE
    return Move.ILLEGAL


def path(current: CallState, target: CallState) -> list[CallState]:
    """The states to walk from ``current`` to ``target`` when events were skipped (e.g. the
    'ringing' callback lost): ``dialing → answered`` passes no state, ``requested → completed``
    passes dialing and answered. Empty when ``target`` is not reachable."""
    frontier: list[list[CallState]] = [[current]]
    seen = {current}
    while frontier:  # breadth first: the shortest walk
        walk = frontier.pop(0)
        for step in sorted(NEXT[walk[-1]], key=lambda s: (s is not target, _RANK.get(s, 9))):
            if step == target:
                return [*walk[1:], step]
            if step not in seen and step not in ENDS:
                seen.add(step)
                frontier.append([*walk, step])
    return []


TWILIO_STATUS: dict[str, CallState] = {
    "queued": S.DIALING,
    "initiated": S.DIALING,
    "ringing": S.RINGING,
    "in-progress": S.ANSWERED,
    "answered": S.ANSWERED,
    "completed": S.COMPLETED,
    "busy": S.BUSY,
    "no-answer": S.NO_ANSWER,
    "failed": S.FAILED,
    "canceled": S.CANCELED,
}
"""Twilio's ``CallStatus`` values as our states."""

SIP_DECLINE = "603"


def twilio_state(status: str, *, sip_response_code: str | None = None) -> CallState | None:
    """A Twilio status callback's state: ``busy`` with SIP 603 (Decline) is a party who refused the
    call after it rang — ``rejected``, not busy."""
    state = TWILIO_STATUS.get(status)
    if state is S.BUSY and sip_response_code == SIP_DECLINE:
        return S.REJECTED
    return state


def outcome_of(end: CallState, *, answered_by: str | None = None) -> CallOutcome | None:
    """The outcome recorded when a call reaches ``end``."""
    if end is S.COMPLETED:
        return CallOutcome.VOICEMAIL if answered_by and answered_by.startswith("machine") else CallOutcome.ANSWERED
    return {
        S.NO_ANSWER: CallOutcome.NO_ANSWER, S.BUSY: CallOutcome.BUSY, S.REJECTED: CallOutcome.REJECTED,
        S.FAILED: CallOutcome.FAILED, S.CANCELED: CallOutcome.CANCELED, S.MISSED: CallOutcome.MISSED,
    }.get(end)
