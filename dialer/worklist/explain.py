"""Why the work queue gives an agent nothing now: ``GET /v1/agent/queue-status``.

The cases a hand-out (:mod:`dialer.worklist.queue`) would look at for this agent — their own and
their teams' that nobody is assigned to (the queue's :class:`~dialer.worklist.queue.Scope`), of one
campaign's client when one is named, and in progressive mode of the clients of the running
progressive campaigns open to their teams — counted in two aggregate queries, the policy never
asked: how many are open, held by other agents, resting after a call, skipped by the agent a short
while ago, and set aside by the policy (``cases.next_allowed_at`` in the future), these by the rules
that set them aside (``blocked_rules``) with the earliest instant each lets one go, and — when the
calling window is what holds cases back — when it opens again in each client zone.

The counts are what the queue has recorded: a case is set aside once a hand-out asked the policy
about it, and a hand-out asks about at most :data:`~dialer.worklist.queue.MAX_EVALUATED` cases, so
``callable`` counts the open cases nobody has asked about yet (the next hand-out will).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository as agents_repository
from dialer.agents.errors import NotLoggedIn
from dialer.auth.deps import Principal
from dialer.campaigns.models import Campaign, CampaignStatus, DialMode
from dialer.cases.models import Case, CaseStatus
from dialer.clients.models import Client
from dialer.worklist import repository
from dialer.worklist.models import CaseSkip
from dialer.worklist.queue import SKIP_COOLDOWN, running_campaign
from dialer.worklist.schemas import QueueStatus, Reason, ReasonCount, RuleCount, WindowOpening

K = TypeVar("K", bound=str)

CAPS = frozenset({
    "debtor_number_daily_cap", "debtor_conversation_daily_cap", "third_party_daily_cap", "third_party_hourly_cap",
    "us_7_in_7", "us_pause_after_conversation",
})
"""The rules that count calls (a day, an hour, a week): the kind ``caps``. Waiting lifts them."""
REASONS: dict[str, Reason] = {"calling_window": "calling_window", "stop_contact": "stops", "invalid_number": "numbers"}
"""The kind of the other rules that have one of their own; every rule else is ``other``."""
WAITING = CAPS | {"calling_window"}
"""The rules waiting lifts: a case set aside by these alone is offered again at the very instant
the policy allows a call (for the others only a person can lift, a re-check time, ``queue.RECHECK``)."""


def reason_of(rule: str) -> Reason:
    """The kind of a rule."""
    return "caps" if rule in CAPS else REASONS.get(rule, "other")


@dataclass(frozen=True, slots=True)
class _Scope:
    """The queue's scope for this agent: ``clients`` None for any client."""

    agent_id: int
    teams: tuple[str, ...]
    clients: tuple[int, ...] | None

    def where(self) -> tuple[ColumnElement[bool], ...]:
        """Open, and the agent's own or their teams' that nobody is assigned to (as the queue's
        ``repository._in_scope``), of the scope's clients."""
        mine = Case.assigned_agent_id == self.agent_id
        if self.teams:
            mine = or_(mine, and_(Case.assigned_agent_id.is_(None), Case.team.in_(self.teams)))
        conditions = [Case.status == CaseStatus.OPEN, mine]
        if self.clients is not None:
            conditions.append(Case.client_id.in_(self.clients))
        return tuple(conditions)


async def queue_status(
    session: AsyncSession, *, actor: Principal, now: dt.datetime, campaign_id: int | None = None,
) -> QueueStatus:
    """What is in the agent's scope and why none of it is handed out now (read only)."""
    agent = await agents_repository.open_session(session, agent_id=actor.user_id)
    if agent is None:
        raise NotLoggedIn("not logged in at a seat")
    teams = await repository.teams_of(session, agent_id=agent.agent_id, seat_id=agent.seat_id)
    progressive = agent.mode == DialMode.PROGRESSIVE.value
    campaigns: int | None = None
    clients: tuple[int, ...] | None = None
    if campaign_id is not None:
        clients = ((await running_campaign(session, campaign_id)).client_id,)
    elif progressive:
        campaigns, clients = await _running_progressive(session, teams)
    scope = _Scope(agent.agent_id, teams, clients)
    counts = await _counts(session, scope, now)
    rules, reasons, window = await _set_aside(session, scope, now)
    return QueueStatus(
        mode="progressive" if progressive else "preview", campaigns=campaigns, **counts,
        next_allowed_at=min((r.next_allowed_at for r in rules), default=None),
        rules=rules, reasons=reasons, window=window,
    )


async def _running_progressive(session: AsyncSession, teams: tuple[str, ...]) -> tuple[int, tuple[int, ...]]:
    """How many progressive campaigns run open to these teams (or to every team), and their clients:
    the cases the progressive engine hands out (``dialing.floor``)."""
    open_to = or_(Campaign.team.is_(None), Campaign.team.in_(teams)) if teams else Campaign.team.is_(None)
    query = (
        select(Campaign.id, Campaign.client_id)
        .where(Campaign.status == CampaignStatus.RUNNING, Campaign.mode == DialMode.PROGRESSIVE, open_to)
    )
    rows = (await session.execute(query)).all()
    return len(rows), tuple(sorted({client_id for _, client_id in rows}))


async def _counts(session: AsyncSession, scope: _Scope, now: dt.datetime) -> dict[str, int]:
    """The open cases in scope and, of them, those held by others, resting, skipped, set aside and
    the rest (callable as far as the queue knows), in one aggregate query."""
    held = and_(Case.held_until > now, Case.held_by_agent_id.is_not(None), Case.held_by_agent_id != scope.agent_id)
    resting = and_(Case.held_until > now, Case.held_by_agent_id.is_(None))
    skipped = exists().where(CaseSkip.case_id == Case.id, CaseSkip.agent_id == scope.agent_id,
                             CaseSkip.created_at >= now - SKIP_COOLDOWN)
    set_aside = Case.next_allowed_at > now
    free = and_(or_(Case.held_until.is_(None), Case.held_until <= now),
                or_(Case.next_allowed_at.is_(None), Case.next_allowed_at <= now), ~skipped)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count(case((condition, 1)))

    query = select(func.count(), count(free), count(held), count(resting), count(skipped), count(set_aside)) \
        .select_from(Case).where(*scope.where())
    row = (await session.execute(query)).one()
    names = ("open", "callable", "held", "resting", "skipped", "set_aside")
    return {name: int(value or 0) for name, value in zip(names, row, strict=True)}


async def _set_aside(
    session: AsyncSession, scope: _Scope, now: dt.datetime,
) -> tuple[list[RuleCount], list[ReasonCount], list[WindowOpening]]:
    """The cases set aside now, grouped in the database by their rules and client zone, then
    counted by rule, by kind of rule (each case once) and by zone those the calling window holds
    back (with a cap at most: a person's block makes its instant a mere re-check)."""
    query = (
        select(Case.blocked_rules, Client.default_time_zone, func.count(), func.min(Case.next_allowed_at))
        .join(Client, Client.id == Case.client_id)
        .where(*scope.where(), Case.next_allowed_at > now)
        .group_by(Case.blocked_rules, Client.default_time_zone)
    )
    by_rule: _Tally[str] = _Tally()
    by_reason: _Tally[Reason] = _Tally()
    by_zone: _Tally[str] = _Tally()
    for rules_text, zone, cases, at in (await session.execute(query)).all():
        assert at is not None  # the minimum of instants in the future
        rules = sorted({rule for rule in (rules_text or "").split(",") if rule}) or ["unknown"]
        for rule in rules:
            by_rule.add(rule, cases, at)
        for reason in {reason_of(rule) for rule in rules}:
            by_reason.add(reason, cases, at)
        if "calling_window" in rules and WAITING.issuperset(rules):  # the window is what blocks: it opens then
            by_zone.add(zone, cases, at)
    return (
        [RuleCount(rule=rule, cases=n, next_allowed_at=at) for rule, n, at in by_rule.most_first()],
        [ReasonCount(reason=reason, cases=n, next_allowed_at=at) for reason, n, at in by_reason.most_first()],
        [WindowOpening(zone=zone, opens_at=at, cases=n)
         for zone, n, at in sorted(by_zone.most_first(), key=lambda row: (row[2], row[0]))],
    )


class _Tally(Generic[K]):
    """Cases counted by name, with the earliest instant one of them is offered again."""

    def __init__(self) -> None:
        self.cases: Counter[K] = Counter()
        self.first: dict[K, dt.datetime] = {}

    def add(self, name: K, cases: int, at: dt.datetime) -> None:
        self.cases[name] += cases
        self.first[name] = min(self.first.get(name, at), at)

    def most_first(self) -> list[tuple[K, int, dt.datetime]]:
        return [(name, n, self.first[name]) for name, n in sorted(self.cases.items(), key=lambda i: (-i[1], i[0]))]
