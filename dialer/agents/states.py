"""The agent state machine (pure).

    offline → not_ready ⇄ ready → reserved → dialing → on_call → wrap_up → ready | not_ready

An agent logs in not-ready, goes ready, is reserved for a case (progressive) or picks one
(preview), dials, talks, and must save the wrap-up note before becoming ready again. Every call
placed ends in wrap-up, answered or not (a no-answer is noted too); a dial that never became a
call (refused by the policy, or the carrier refused the leg) returns the agent to ready. A ready
agent can take an inbound call straight to on-call.
Every transition is made, timestamped and audited by the state's owner (``dialer.agents.state``).
"""

from __future__ import annotations

import datetime as dt

from dialer.agents.models import AgentSession, AgentState
from dialer.kit.errors import Conflict

A = AgentState

NEXT: dict[AgentState, frozenset[AgentState]] = {
    A.OFFLINE: frozenset({A.NOT_READY}),
    A.NOT_READY: frozenset({A.READY, A.OFFLINE}),  # an agent who is not ready takes no calls
    A.READY: frozenset({A.NOT_READY, A.RESERVED, A.DIALING, A.ON_CALL, A.OFFLINE}),
    A.RESERVED: frozenset({A.DIALING, A.READY, A.NOT_READY}),
    A.DIALING: frozenset({A.ON_CALL, A.WRAP_UP, A.READY, A.NOT_READY}),  # not ready: the seat did not answer
    A.ON_CALL: frozenset({A.WRAP_UP}),
    A.WRAP_UP: frozenset({A.READY, A.NOT_READY, A.OFFLINE}),
}

LIVE = frozenset({A.RESERVED, A.DIALING, A.ON_CALL})
"""States in which the agent holds (or is about to hold) a call: no logout, no second call."""


class IllegalTransition(Conflict):
    code = "illegal_agent_transition"


def can_move(current: AgentState, target: AgentState) -> bool:
    return target in NEXT[current]


def move(agent: AgentSession, target: AgentState, *, now: dt.datetime, reason: str | None = None) -> AgentState:
    """Move ``agent`` to ``target`` (stamping the time and reason); returns the previous state.
    Raises :class:`IllegalTransition` (409) for a move the machine does not allow."""
    current = AgentState(agent.state)
    if not can_move(current, target):
        raise IllegalTransition(
            f"an agent who is {current.value} cannot become {target.value}",
            current=current.value, target=target.value,
        )
    agent.state = target
    agent.state_reason = reason
    agent.state_since = now
    return current
