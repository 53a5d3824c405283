"""Check a dial against the client's policy, and reserve an attempt atomically.

Every decision, dry run or real, allowed or not, is written to the append-only ledger with
the policy version it used. A reservation checks and records the attempt in one transaction,
serialised per party, so no two agents, replicas or retries can both take the last free slot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal
from dialer.auth.models import User
from dialer.compliance import ledger, repository, scope
from dialer.compliance.decide import Decision, decide_number, decide_party
from dialer.compliance.models import Attempt, Channel
from dialer.compliance.models import Decision as LedgerEntry
from dialer.compliance.rules import Violation
from dialer.compliance.snapshot import Snapshot
from dialer.kit.db import begin_write
from dialer.kit.errors import InvalidInput, PolicyBlocked
from dialer.live import publish as live
from dialer.seats.models import Seat


@dataclass(frozen=True, slots=True)
class Checked:
    decision: Decision
    entry: LedgerEntry
    snapshot: Snapshot
    attempt: Attempt | None = None
    call: dict[str, Any] | None = None
    """A dial's call row as written with the attempt (every column given, ``id`` and
    ``decision_id`` included); None when no call was asked for or the dial was refused."""

    def body(self) -> dict:
        """The decision as the API and the CLI show it."""
        language = self.snapshot.policy.language
        return {
            "allowed": self.decision.allowed,
            "violations": [violation_body(v, language) for v in self.decision.violations],
            "next_allowed_at": self.decision.next_allowed_at,
            "policy_version": self.snapshot.policy_version,
            "decision_id": self.entry.id,
            "party_id": self.snapshot.party.id,
            "number_id": self.decision.number_id,
            "at": self.decision.at,
        }


def violation_body(v: Violation, language: str) -> dict:
    return {
        "rule": v.rule,
        "message": v.message_zh if language.startswith("zh") else v.message_en,
        "message_en": v.message_en,
        "message_zh": v.message_zh,
        "retry_at": v.retry_at,
    }


async def check(
    session: AsyncSession, *, at: dt.datetime, party_id: int | None = None, number_id: int | None = None,
    channel: str = "call", agent_id: int | None = None, seat_id: int | None = None, viewer: Principal | None = None,
) -> Checked:
    """A dry run: decide and record the decision; reserve nothing. ``viewer``: who asks; an agent
    outside the party's case is answered 404 (``scope.require_visible``) and nothing is recorded."""
    if (party_id is None) == (number_id is None):
        raise InvalidInput("give exactly one of number_id or party_id", field="number_id")
    await begin_write(session)  # the decision is written to the ledger
    if viewer is not None:
        await scope.require_visible(session, viewer, party_id=party_id, number_id=number_id)
    await _require_known(session, agent_id=agent_id, seat_id=seat_id)
    snapshot, subject = await repository.load_snapshot(
        session, at=at, party_id=party_id, number_id=number_id, channel=channel, agent_id=agent_id, seat_id=seat_id,
    )
    decision = decide_number(snapshot, snapshot.number(number_id), at) if number_id is not None else decide_party(snapshot, at)
    entry, _ = await ledger.record(session, values=_entry(snapshot, subject, decision, dry_run=True, agent_id=agent_id,
                                                          seat_id=seat_id), reserve=False)
    return Checked(decision, entry, snapshot)


async def _require_known(session: AsyncSession, *, agent_id: int | None, seat_id: int | None) -> None:
    """The user and the seat a dry run is asked for exist: its ledger entry refers to them."""
    if agent_id is not None and await session.get(User, agent_id) is None:
        raise InvalidInput(f"agent_id: no user {agent_id}", field="agent_id")
    if seat_id is not None and await session.get(Seat, seat_id) is None:
        raise InvalidInput(f"seat_id: no seat {seat_id}", field="seat_id")


async def reserve(
    session: AsyncSession, *, number_id: int, at: dt.datetime, agent_id: int | None, seat_id: int | None,
    mode: str, channel: str = "call", call: dict[str, Any] | None = None,
) -> Checked:
    """Check and record one attempt atomically. Raises :class:`PolicyBlocked` (after recording
    the refusal, which the unit of work keeps) when any rule refuses; places nothing. ``call``:
    the dial's call row, written with the attempt when it is allowed (see :func:`reserve_on`)."""
    await begin_write(session)  # SQLite: serialise writers from the first statement
    snapshot, subject = await repository.load_snapshot(  # PostgreSQL: locks the party's row first
        session, at=at, number_id=number_id, lock=True, channel=channel, agent_id=agent_id, seat_id=seat_id,
        mode=mode,
    )
    return await _reserve(session, snapshot, subject, number_id=number_id, at=at, agent_id=agent_id,
                          seat_id=seat_id, call=call, decision=None)


async def reserve_on(
    session: AsyncSession, *, snapshot: Snapshot, subject: repository.Subject, number_id: int, at: dt.datetime,
    decision: Decision | None = None, call: dict[str, Any] | None = None,
) -> Checked:
    """:func:`reserve` on a snapshot the caller has just read *locked* in this very transaction
    (``repository.load_case`` or ``load_snapshot`` with ``lock=True``, the dialling agent's
    context in it): the progressive engine asks the policy about a case and reserves its first
    allowed number on the same read, so the party is read once per dial. The snapshot names the
    agent and seat the entry is filed under.

    ``decision``: the caller's own ``decide_number`` on this snapshot, number and instant (the
    engine chose the number by it), recorded as it is; made here when not given.

    ``call``: the call row the attempt is for (its columns but the party's, which are taken from
    the subject and the number): written with the entry and the attempt when allowed, the attempt
    linked to it, and handed back complete in :attr:`Checked.call`."""
    if decision is not None and (decision.number_id != number_id or decision.at != at):
        raise ValueError("the decision given is not this number's at this instant")
    agent = snapshot.agent
    return await _reserve(session, snapshot, subject, number_id=number_id, at=at,
                          agent_id=agent.agent_id if agent else None, seat_id=agent.seat_id if agent else None,
                          call=call, decision=decision)


async def _reserve(
    session: AsyncSession, snapshot: Snapshot, subject: repository.Subject, *, number_id: int, at: dt.datetime,
    agent_id: int | None, seat_id: int | None, call: dict[str, Any] | None, decision: Decision | None,
) -> Checked:
    number = snapshot.number(number_id)
    if decision is None:
        decision = decide_number(snapshot, number, at)
    values = _entry(snapshot, subject, decision, dry_run=False, agent_id=agent_id, seat_id=seat_id)
    if decision.allowed and call is not None:
        call = {**call, "client_id": subject.client_id, "case_id": subject.case_id, "party_id": subject.party_id,
                "number_id": number_id, "to_e164": number.e164}
        entry, dialed, call_id = await ledger.record_dial(session, values=values, call=call)
        attempt: Attempt | None = dialed
        call = {**call, "id": call_id, "decision_id": entry.id}
    else:
        entry, attempt = await ledger.record(session, values=values, reserve=decision.allowed)
        call = None
    checked = Checked(decision, entry, snapshot, attempt, call)
    if not decision.allowed:
        body = checked.body()
        live.publish(session, live.REFUSAL, {
            "decision_id": entry.id, "agent_id": agent_id, "client_id": subject.client_id, "case_id": subject.case_id,
            "party_id": subject.party_id, "party_role": snapshot.party.role, "rules": [v["rule"] for v in body["violations"]],
            "next_allowed_at": decision.next_allowed_at.isoformat() if decision.next_allowed_at else None}, at=at)
        rules = ", ".join(v["rule"] for v in body["violations"])
        raise PolicyBlocked(
            f"the policy refuses this call ({rules})", violations=body["violations"],
            next_allowed_at=body["next_allowed_at"], decision_id=entry.id, policy_version=snapshot.policy_version,
        )
    return checked


def _entry(
    snapshot: Snapshot, subject: repository.Subject, decision: Decision, *, dry_run: bool,
    agent_id: int | None, seat_id: int | None,
) -> dict:
    """The ledger entry of a decision (its columns)."""
    return {
        "client_id": subject.client_id, "policy_version": snapshot.policy_version, "case_id": subject.case_id,
        "party_id": subject.party_id, "number_id": decision.number_id, "agent_id": agent_id, "seat_id": seat_id,
        "channel": Channel(snapshot.channel), "at": decision.at, "allowed": decision.allowed, "dry_run": dry_run,
        "violations": [_json(violation_body(v, snapshot.policy.language)) for v in decision.violations],
        "rule_results": decision.rule_results, "next_allowed_at": decision.next_allowed_at,
    }


def _json(body: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in body.items()}
