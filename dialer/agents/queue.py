"""The work queue: the next case for an agent is the most urgent one the policy allows *now*.

Urgency, in order: a pending promise due today (or earlier), a follow-up that is due, then the
overdue bucket (M3+ first) and the amount owed. Only open cases of the agent's own assignment, or
of their team (the agent's or the seat's) that nobody is assigned to, optionally only the client
of a running campaign.

The hand-out reads candidate ids in that order in small batches, locks and asks the policy about
each in turn until one is allowed — never the whole table. A case the policy refuses on every number is
*parked*: ``cases.next_allowed_at`` (the policy's earliest instant, or a re-check time when only a
person can lift the block) keeps it out of the queue until then, with ``blocked_rules`` saying why.
The chosen case is *held* (``held_by_agent_id``, ``held_until``) in the same transaction.

Concurrency: on PostgreSQL each candidate is locked ``FOR UPDATE SKIP LOCKED`` with its
conditions re-checked, so concurrent hand-outs (other agents, other replicas) pass over the row
another one is evaluating instead of waiting or colliding, and the committed hold keeps the case
from every later hand-out until it expires or is released. Only the row under evaluation is
locked (plus the parked and held ones, until commit), so a busy queue never looks empty. On SQLite the whole hand-out runs in one write transaction (``BEGIN IMMEDIATE``), which
serialises it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository
from dialer.agents.errors import CampaignNotRunning
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.clients.models import Client
from dialer.compliance import repository as policy_facts
from dialer.compliance.decide import Decision, decide_number, decide_party
from dialer.compliance.snapshot import AgentFact, Snapshot
from dialer.dialing.models import Campaign, CampaignStatus
from dialer.kit.db import begin_write
from dialer.kit.errors import NotFound
from dialer.seats.models import AgentSession

HOLD = dt.timedelta(minutes=15)
"""How long a handed-out case stays with its agent unless released (a crashed desktop frees it)."""
SKIP_COOLDOWN = dt.timedelta(minutes=30)
"""A case an agent skipped is not offered to that same agent again for this long."""
WORKED_REST = dt.timedelta(hours=2)
"""A case just worked (dialed, noted) is offered to nobody for this long; its note's follow-up date
and the policy's caps decide the rest (the progressive engine rests its cases the same way)."""
RECHECK = dt.timedelta(hours=1)
"""A case blocked until a person acts (stop-contact, no valid number) is looked at again after this."""
BATCH = 16
"""Backlog candidate ids read per round trip; each is then locked on its own, only while it is
evaluated."""
DUE_CAP = 200
"""Promises and follow-ups due read per hand-out (the longest-due ones), then ranked."""
MAX_EVALUATED = 64
"""At most this many cases are asked about per hand-out; the refused ones are parked, so the next
hand-out starts further down."""
DEFAULT_ZONE = "Asia/Shanghai"


class Tier(enum.StrEnum):
    PROMISE_DUE = "promise_due"
    FOLLOW_UP_DUE = "follow_up_due"
    BACKLOG = "backlog"


@dataclass(frozen=True, slots=True)
class NumberView:
    number: PhoneNumber
    decision: Decision


@dataclass(frozen=True, slots=True)
class PartyView:
    party: Party
    numbers: tuple[NumberView, ...]

    @property
    def allowed(self) -> bool:
        return any(view.decision.allowed for view in self.numbers)

    def next_allowed_at(self, now: dt.datetime) -> dt.datetime | None:
        """Now when a number is allowed, else the earliest instant one becomes callable (None:
        only a person can lift the block)."""
        if self.allowed:
            return now
        upcoming = [v.decision.next_allowed_at for v in self.numbers if v.decision.next_allowed_at is not None]
        return min(upcoming) if upcoming else None


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A held case with what the policy allows now for each of its parties and numbers."""

    case: Case
    client: Client
    tier: Tier
    held_until: dt.datetime
    parties: tuple[PartyView, ...]
    policy_version: int
    language: str

    def best_number(self) -> NumberView | None:
        """The first number the policy allows now, the debtor's first."""
        for party in self.parties:
            for view in party.numbers:
                if view.decision.allowed:
                    return view
        return None


@dataclass(frozen=True, slots=True)
class _Verdict:
    allowed: bool
    next_allowed_at: dt.datetime | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Scope:
    agent_id: int
    teams: tuple[str, ...]
    client_id: int | None
    today: dt.date


async def next_case(
    session: AsyncSession, *, agent_session: AgentSession, now: dt.datetime, campaign_id: int | None = None,
    teams: tuple[str, ...] | None = None,
) -> QueueItem | None:
    """Hand out and hold the next case for this agent (or give back the one they already hold,
    its hold renewed); None when nothing in scope is callable now. ``teams``: the agent's teams
    when the caller has read them already. Flushes; the caller commits."""
    await begin_write(session)
    scope = await _scope(session, agent_session, now=now, campaign_id=campaign_id, teams=teams)
    held = await repository.held_case(session, agent_id=scope.agent_id, now=now)
    if held is not None and (scope.client_id is None or held.client_id == scope.client_id):
        held.held_until = now + HOLD
        tier = Tier(await repository.tier_of(session, case=held, now=now, today=scope.today))
        client = await session.get(Client, held.client_id)
        return await _item(_CaseFacts(session, held, client, _AgentContext(agent_session), now), tier)

    exclude = await repository.recently_skipped(session, agent_id=scope.agent_id, since=now - SKIP_COOLDOWN)
    context = _AgentContext(agent_session)
    evaluated = 0
    for tier in Tier:
        async with aclosing(_claimed(session, scope, tier, now=now, exclude=exclude)) as cases:
            async for case, client in cases:
                evaluated += 1
                facts = _CaseFacts(session, case, client, context, now)
                verdict = await _evaluate(facts)
                if verdict.allowed:
                    case.next_allowed_at, case.blocked_rules = None, None
                    case.held_by_agent_id, case.held_until = scope.agent_id, now + HOLD
                    await session.flush()
                    return await _item(facts, tier)
                _park(case, verdict, now)
                if evaluated >= MAX_EVALUATED:
                    await session.flush()
                    return None
    await session.flush()
    return None


async def view_of(
    session: AsyncSession, *, case: Case, agent_session: AgentSession, now: dt.datetime,
) -> QueueItem:
    """The case with what the policy allows now for each number, as this agent would get it —
    without handing it out or touching its hold (read only)."""
    client = await session.get(Client, case.client_id)
    tier = Tier(await repository.tier_of(session, case=case, now=now, today=now.date()))
    return await _item(_CaseFacts(session, case, client, _AgentContext(agent_session), now), tier)


async def release(
    session: AsyncSession, *, case_id: int, agent_id: int, not_before: dt.datetime | None = None,
) -> bool:
    """Give back a case the agent holds (after a skip, a call, a logout). ``not_before`` keeps it
    out of everyone's queue until then (e.g. a rest after a call). False when they did not hold it."""
    result = await session.execute(
        update(Case).where(Case.id == case_id, Case.held_by_agent_id == agent_id)
        .values(held_by_agent_id=None, held_until=not_before)
    )
    return bool(result.rowcount)


async def release_all(session: AsyncSession, *, agent_id: int, not_before: dt.datetime | None = None) -> None:
    """Give back every case the agent holds (a reservation abandoned, a logout); ``not_before``
    rests them, as in :func:`release`."""
    await session.execute(
        update(Case).where(Case.held_by_agent_id == agent_id).values(held_by_agent_id=None, held_until=not_before)
    )


async def _scope(
    session: AsyncSession, agent: AgentSession, *, now: dt.datetime, campaign_id: int | None,
    teams: tuple[str, ...] | None = None,
) -> _Scope:
    if teams is None:
        teams = await repository.teams_of(session, agent_id=agent.agent_id, seat_id=agent.seat_id)
    client_id, zone = None, DEFAULT_ZONE
    if campaign_id is not None:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id} not found")
        if campaign.status is not CampaignStatus.RUNNING:
            raise CampaignNotRunning(f"campaign {campaign.name} is {campaign.status.value}", campaign_id=campaign_id)
        client = await session.get(Client, campaign.client_id)
        client_id, zone = campaign.client_id, client.default_time_zone if client else DEFAULT_ZONE
    return _Scope(agent.agent_id, teams, client_id, now.astimezone(ZoneInfo(zone)).date())


async def _claimed(
    session: AsyncSession, scope: _Scope, tier: Tier, *, now: dt.datetime, exclude: set[int],
) -> AsyncIterator[tuple[Case, Client]]:
    """The tier's candidates in order, each locked as it comes (those another hand-out is on are
    passed over). Promises and follow-ups due are few and read at once; the backlog in batches."""
    where = {"agent_id": scope.agent_id, "teams": scope.teams, "client_id": scope.client_id, "now": now}
    while True:
        if tier is Tier.PROMISE_DUE:
            ids = await repository.promised(session, **where, today=scope.today, cap=DUE_CAP)
        elif tier is Tier.FOLLOW_UP_DUE:
            ids = await repository.follow_ups_due(session, **where, cap=DUE_CAP)
        else:
            ids = await repository.backlog(session, **where, exclude=exclude, limit=BATCH)
        fresh = [case_id for case_id in ids if case_id not in exclude]
        for case_id in fresh:
            exclude.add(case_id)
            claimed = await repository.claim(session, case_id=case_id, now=now)
            if claimed is not None:
                yield claimed
        if tier is not Tier.BACKLOG or not fresh:
            return


class _AgentContext:
    """The dialing agent's facts for the policy (seat, wrap-up), read once per hand-out."""

    def __init__(self, agent: AgentSession) -> None:
        self.agent = agent
        self.fact: AgentFact | None = None


class _CaseFacts:
    """One case's parties and policy snapshots, each read once per hand-out. Snapshots carry the
    agent's context (seat, wrap-up, mode) so the card shows what a dial by them would get."""

    def __init__(self, session: AsyncSession, case: Case, client: Client, agent: _AgentContext, now: dt.datetime):
        self.session, self.case, self.client, self.agent, self.now = session, case, client, agent, now
        self._parties: list[Party] | None = None
        self._snapshots: dict[int, Snapshot] = {}

    async def parties(self) -> list[Party]:
        if self._parties is None:
            self._parties = await repository.parties_of(self.session, case_id=self.case.id)
        return self._parties

    async def snapshot(self, party: Party) -> Snapshot:
        snapshot = self._snapshots.get(party.id)
        if snapshot is not None:
            return snapshot
        agent = self.agent.agent
        if self.agent.fact is None:
            snapshot = await policy_facts.build_snapshot(
                self.session, party=party, case=self.case, client=self.client, at=self.now,
                agent_id=agent.agent_id, seat_id=agent.seat_id, mode=agent.mode,
            )
            self.agent.fact = snapshot.agent
        else:
            snapshot = replace(
                await policy_facts.build_snapshot(self.session, party=party, case=self.case, client=self.client,
                                                  at=self.now),
                agent=self.agent.fact, mode=agent.mode,
            )
        self._snapshots[party.id] = snapshot
        return snapshot


async def _evaluate(facts: _CaseFacts) -> _Verdict:
    """May any party of the case be called now? Parties are asked debtor first, stopping at the
    first allowed one. The case-level rules only: the agent's own (seat, wrap-up, mode) are shown
    on the card and checked again when they dial."""
    rules: set[str] = set()
    upcoming: list[dt.datetime] = []
    for party in await facts.parties():
        snapshot = replace(await facts.snapshot(party), agent=None, mode=None)
        decision = decide_party(snapshot, facts.now)
        if decision.allowed:
            return _Verdict(True)
        rules.update(v.rule for v in decision.violations)
        if decision.next_allowed_at is not None:
            upcoming.append(decision.next_allowed_at)
    if not rules:
        rules.add("invalid_number")  # a case without parties has no one to call
    return _Verdict(False, min(upcoming) if upcoming else None, tuple(sorted(rules)))


def _park(case: Case, verdict: _Verdict, now: dt.datetime) -> None:
    case.next_allowed_at = verdict.next_allowed_at or now + RECHECK
    case.blocked_rules = ",".join(verdict.rules)[:200]


async def _item(facts: _CaseFacts, tier: Tier) -> QueueItem:
    """Every party and number of the case with the decision a dial by this agent would get now."""
    now, case, client = facts.now, facts.case, facts.client
    parties = await facts.parties()
    rows = await repository.numbers_of(facts.session, party_ids=[p.id for p in parties])
    views: list[PartyView] = []
    language = client.language
    for party in parties:
        snapshot = await facts.snapshot(party)
        language = snapshot.policy.language
        numbers = tuple(NumberView(rows[n.id], decide_number(snapshot, n, now)) for n in snapshot.numbers)
        views.append(PartyView(party, numbers))
    return QueueItem(case, client, tier, case.held_until or now, tuple(views), client.policy_version, language)
