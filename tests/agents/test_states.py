import datetime as dt

import pytest

from dialer.agents.models import AgentSession
from dialer.agents.models import AgentState as A
from dialer.agents.states import LIVE, NEXT, IllegalTransition, can_move, move

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def agent_in(state: A) -> AgentSession:
    return AgentSession(agent_id=1, seat_id=1, state=state, state_since=NOW - dt.timedelta(minutes=5))


def test_given_a_shift_when_walking_the_happy_path_then_every_step_is_allowed():
    agent = agent_in(A.OFFLINE)
    for target in (A.NOT_READY, A.READY, A.RESERVED, A.DIALING, A.ON_CALL, A.WRAP_UP, A.READY, A.NOT_READY,
                   A.OFFLINE):
        move(agent, target, now=NOW)
    assert agent.state is A.OFFLINE


def test_given_a_move_then_time_and_reason_are_stamped_and_the_previous_state_returned():
    agent = agent_in(A.READY)
    assert move(agent, A.NOT_READY, now=NOW, reason="break") is A.READY
    assert (agent.state, agent.state_reason, agent.state_since) == (A.NOT_READY, "break", NOW)


@pytest.mark.parametrize(("current", "target"), [
    (A.NOT_READY, A.DIALING),  # not ready takes no calls
    (A.ON_CALL, A.READY),  # the wrap-up note is mandatory
    (A.ON_CALL, A.OFFLINE),  # no logout during a call
    (A.DIALING, A.OFFLINE),
    (A.WRAP_UP, A.DIALING),  # notes first
    (A.OFFLINE, A.READY),  # log in first
])
def test_given_an_illegal_move_then_it_is_refused_and_nothing_changes(current, target):
    agent = agent_in(current)
    with pytest.raises(IllegalTransition) as refused:
        move(agent, target, now=NOW)
    assert refused.value.status == 409 and refused.value.extra == {"current": current.value, "target": target.value}
    assert agent.state is current and agent.state_since != NOW


def test_every_state_is_reachable_and_live_states_cannot_log_out():
    reached, frontier = {A.OFFLINE}, [A.OFFLINE]
    while frontier:
        for nxt in NEXT[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(A)
    assert not any(can_move(state, A.OFFLINE) for state in LIVE)
