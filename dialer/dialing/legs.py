"""Writing down what happened to a leg: its carrier id, or how placing it failed; ending a call.

Shared by the dial service, the webhooks and the reconciler, so a call ends the same way whoever
notices first: state walked forward, outcome, the reserved attempt settled, the agent freed or in
wrap-up, and the other leg hung up.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import queue
from dialer.calls.lifecycle import ENDS, outcome_of, path
from dialer.calls.models import Call, CallOutcome, CallState
from dialer.compliance.models import Attempt
from dialer.container import Container
from dialer.dialing import agent_sync
from dialer.dialing.effects import Effect, HangUp, run_effects
from dialer.kit.db import is_postgres
from dialer.telephony.carrier import CarrierError

NOT_PLACED = "not_placed"
"""An attempt whose party was never rung (the seat did not answer, the carrier refused the leg):
not an outcome any policy counts."""

_STAMP = {
    CallState.DIALING: "dialing_at", CallState.RINGING: "ringing_at", CallState.ANSWERED: "answered_at",
    CallState.BRIDGED: "bridged_at",
}


def enter(call: Call, state: CallState, at: dt.datetime, *, answered_by: str | None = None) -> None:
    """Put the call in ``state`` (one step the lifecycle allows), stamping its time."""
    call.state = state
    if state in _STAMP and getattr(call, _STAMP[state]) is None:
        setattr(call, _STAMP[state], at)
    if state in ENDS:
        call.ended_at = call.ended_at or at
        call.outcome = outcome_of(state, answered_by=answered_by)
        if call.answered_at is not None:
            call.talk_s = max(0, int((call.ended_at - call.answered_at).total_seconds()))
        call.conversation = call.outcome is CallOutcome.ANSWERED


_SETTLE = (
    update(Attempt).where(Attempt.call_id == bindparam("settled_call"))
    .values(outcome=bindparam("settled_outcome"), conversation=bindparam("settled_conversation"))
    .execution_options(synchronize_session=False)
)


async def settle_attempt(session: AsyncSession, call: Call, *, placed: bool = True) -> None:
    """The attempt reserved for this call gets its outcome (caps count it either way)."""
    outcome = (call.outcome.value if call.outcome else None) if placed else NOT_PLACED
    await session.execute(_SETTLE, {"settled_call": call.id, "settled_outcome": outcome,
                                    "settled_conversation": call.conversation})


async def end_call(
    session: AsyncSession, call: Call, end: CallState, *, at: dt.datetime, placed: bool = True,
    seat_answered: bool = True, error: str | None = None, detail: str | None = None, ended_sid: str | None = None,
    answered_by: str | None = None,
) -> list[Effect]:
    """End a live call in ``end`` (walking any skipped states); returns the legs still to hang up
    (not ``ended_sid``, the leg whose end is being reported)."""
    if call.state in ENDS:
        return []
    steps = path(call.state, end) or [end]
    for step in steps:
        enter(call, step, at, answered_by=answered_by)
    call.error_code = error or call.error_code
    call.error_detail = detail or call.error_detail
    await settle_attempt(session, call, placed=placed)
    await agent_sync.on_ended(session, call, now=at, placed=placed, seat_answered=seat_answered)
    if not placed and call.case_id is not None and call.agent_id is not None:  # no call, no note: the card's hold
        await queue.renew_hold(session, case_id=call.case_id, agent_id=call.agent_id, now=at)
    return [HangUp(call.id, sid) for sid in (call.agent_leg_call_id, call.carrier_call_id) if sid and sid != ended_sid]


_CALLS = Call.__table__


@functools.cache
def _record_sid(leg: str) -> Update:
    column = _CALLS.c.agent_leg_call_id if leg == "agent" else _CALLS.c.carrier_call_id
    return (
        update(_CALLS).where(_CALLS.c.id == bindparam("call_id"), column.is_(None))
        .values({column: bindparam("sid")}).returning(_CALLS.c.state)
    )


_STATE = select(_CALLS.c.state).where(_CALLS.c.id == bindparam("call_id"))


async def record_placed(container: Container, call_id: int, *, leg: str, sid: str) -> None:
    """A leg is placed: its carrier id is written, once, in one statement of its own (every
    progressive dial passes here, so the call is not loaded); a call that ended while the leg was
    being placed has it hung up, as it must not ring on."""
    parameters = {"call_id": call_id, "sid": sid}

    async def write(connection) -> str | None:
        state = (await connection.execute(_record_sid(leg), parameters)).scalar_one_or_none()
        if state is None:  # gone, or the leg's id was written already: only its state matters
            state = (await connection.execute(_STATE, parameters)).scalar_one_or_none()
        return state

    if is_postgres(container.engine):  # one statement: no transaction around it (no BEGIN, no COMMIT)
        async with container.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            state = await write(connection)
    else:
        async with container.write_sessions() as session:
            state = await write(await session.connection())
            await session.commit()
    if state is not None and CallState(state) in ENDS:
        await run_effects(container, [HangUp(call_id, sid)])


async def record_failure(
    container: Container, call_id: int, *, leg: str, error: CarrierError, uncertain: bool, at: dt.datetime,
) -> None:
    """In its own unit of work: how placing a leg failed. A certain failure ends the call (its
    party never rung); an uncertain one is noted and left for the reconciler."""
    effects: list[Effect] = []
    async with container.write_sessions() as session:
        call = await session.get(Call, call_id, with_for_update=True)
        if call is None:
            return
        if uncertain:
            call.error_code = error.code
            call.error_detail = f"{leg} leg: {error.detail} (uncertain: reconciling)"
        else:
            effects = await end_call(
                session, call, CallState.FAILED, at=at, placed=False, seat_answered=leg != "agent",
                error=str(error.carrier_code or error.code), detail=f"{leg} leg: {error.detail}",
            )
        await session.commit()
    await run_effects(container, effects)
