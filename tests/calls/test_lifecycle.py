"""The call state machine: forward only; late and repeated events are harmless; contradictions refused."""

from __future__ import annotations

import itertools

import pytest

from dialer.calls.lifecycle import ENDS, NEXT, TWILIO_STATUS, Move, advance, outcome_of, path, twilio_state
from dialer.calls.models import CallOutcome, CallState as S


@pytest.mark.parametrize(("current", "target"), [
    (S.REQUESTED, S.DIALING), (S.REQUESTED, S.BLOCKED), (S.DIALING, S.RINGING), (S.RINGING, S.ANSWERED),
    (S.ANSWERED, S.BRIDGED), (S.BRIDGED, S.COMPLETED), (S.RINGING, S.NO_ANSWER), (S.DIALING, S.BUSY),
    (S.RINGING, S.MISSED), (S.ANSWERED, S.COMPLETED),
])
def test_given_forward_step_then_applied(current, target):
    assert advance(current, target) is Move.APPLIED


@pytest.mark.parametrize(("current", "target"), [
    (S.ANSWERED, S.RINGING), (S.BRIDGED, S.DIALING), (S.COMPLETED, S.RINGING), (S.COMPLETED, S.ANSWERED),
    (S.BUSY, S.DIALING),
])
def test_given_late_delivery_of_an_earlier_state_then_stale_not_applied(current, target):
    assert advance(current, target) is Move.STALE


@pytest.mark.parametrize(("current", "target"), [
    (S.BUSY, S.COMPLETED), (S.COMPLETED, S.NO_ANSWER), (S.BRIDGED, S.NO_ANSWER), (S.REQUESTED, S.BRIDGED),
    (S.ANSWERED, S.BUSY),
])
def test_given_contradiction_then_illegal(current, target):
    assert advance(current, target) is Move.ILLEGAL


def test_given_repeated_event_then_same():
    for state in S:
        assert advance(state, state) is Move.SAME


def test_given_an_end_then_nothing_moves_it():
    for end, target in itertools.product(ENDS, S):
        assert advance(end, target) is not Move.APPLIED


def test_given_any_sequence_of_events_then_state_only_moves_forward_and_ends_once():
    ranks = {S.REQUESTED: 0, S.DIALING: 1, S.RINGING: 2, S.ANSWERED: 3, S.BRIDGED: 4}
    for events in itertools.product([S.DIALING, S.RINGING, S.ANSWERED, S.COMPLETED, S.NO_ANSWER], repeat=4):
        state = S.REQUESTED
        for event in events:
            for step in path(state, event):
                assert advance(state, step) is Move.APPLIED
                before = ranks.get(state, 9)
                state = step
                assert ranks.get(state, 9) > before


def test_given_skipped_callbacks_then_path_walks_the_states_between():
    assert path(S.REQUESTED, S.COMPLETED) == [S.DIALING, S.ANSWERED, S.COMPLETED]
    assert path(S.DIALING, S.ANSWERED) == [S.ANSWERED]
    assert path(S.COMPLETED, S.RINGING) == []


def test_given_twilio_statuses_then_mapped_and_outcomes_set():
    assert TWILIO_STATUS["in-progress"] is S.ANSWERED
    assert outcome_of(S.COMPLETED) is CallOutcome.ANSWERED
    assert outcome_of(S.COMPLETED, answered_by="machine_end_beep") is CallOutcome.VOICEMAIL
    assert outcome_of(S.NO_ANSWER) is CallOutcome.NO_ANSWER
    assert outcome_of(S.RINGING) is None
    assert set(NEXT) == set(S)


def test_given_busy_with_sip_603_then_the_party_rejected_the_call():
    assert twilio_state("busy", sip_response_code="603") is S.REJECTED
    assert twilio_state("busy", sip_response_code="486") is S.BUSY
    assert twilio_state("busy") is S.BUSY
    assert twilio_state("completed", sip_response_code="603") is S.COMPLETED
    assert twilio_state("no-such-status") is None
