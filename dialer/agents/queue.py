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
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository
from dialer.agents.errors import CampaignNotRunning
from dialer.auth.models import User
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.clients.models import Client
from dialer.compliance import repository as policy_facts
from dialer.compliance.decide import Decision, decide_number, decide_party
from dialer.dialing.models import Campaign, CampaignStatus
from dialer.kit.db import begin_write
from dialer.kit.errors import NotFound
from dialer.seats.models import AgentSession, Seat

HOLD = dt.timedelta(minutes=15)
"""How long a handed-out case stays with its agent unless released (a crashed desktop frees it)."""
SKIP_COOLDOWN = dt.timedelta(minutes=30)
"""A case an agent skipped is not offered to that same agent again for this long."""
RECHECK = dt.timedelta(hours=1)
"""A case blocked until a person acts (stop-contact, no valid number) is looked at again after this."""
BATCH = 16
"""Candidate ids read per round trip; each is then locked on its own, only while it is evaluated."""
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
) -> QueueItem | None:
    """Hand out and hold the next case for this agent (or give back the one they already hold,
    its hold renewed); None when nothing in scope is callable now. Flushes; the caller commits."""
    await begin_write(session)
    scope = await _scope(session, agent_session, now=now, campaign_id=campaign_id)
    clients: dict[int, Client] = {}
    held = await repository.held_case(session, agent_id=scope.agent_id, now=now)
    if held is not None and (scope.client_id is None or held.client_id == scope.client_id):
        held.held_until = now + HOLD
        tier = Tier(await repository.tier_of(session, case=held, now=now, today=scope.today))
        return await _item(session, held, await _client(session, clients, held.client_id), tier, agent_session, now)

    exclude = await repository.recently_skipped(session, agent_id=scope.agent_id, since=now - SKIP_COOLDOWN)
    evaluated = 0
    for tier in Tier:
        while evaluated < MAX_EVALUATED:
            batch = await repository.candidates(
                session, agent_id=scope.agent_id, teams=scope.teams, client_id=scope.client_id, tier=tier.value,
                now=now, today=scope.today, exclude=exclude, limit=BATCH,
            )
            if not batch:
                break
            for case_id in batch:
                exclude.add(case_id)
                case = await repository.claim(session, case_id=case_id, now=now)
                if case is None:  # another hand-out has it
                    continue
                evaluated += 1
                client = await _client(session, clients, case.client_id)
                verdict = await _evaluate(session, case, client, now)
                if verdict.allowed:
                    case.next_allowed_at, case.blocked_rules = None, None
                    case.held_by_agent_id, case.held_until = scope.agent_id, now + HOLD
                    await session.flush()
                    return await _item(session, case, client, tier, agent_session, now)
                _park(case, verdict, now)
                if evaluated >= MAX_EVALUATED:
                    break
    await session.flush()
    return None


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


async def release_all(session: AsyncSession, *, agent_id: int) -> None:
    """Give back every case the agent holds (logout)."""
    await session.execute(
        update(Case).where(Case.held_by_agent_id == agent_id).values(held_by_agent_id=None, held_until=None)
    )


async def _scope(session: AsyncSession, agent: AgentSession, *, now: dt.datetime, campaign_id: int | None) -> _Scope:
    user = await session.get(User, agent.agent_id)
    seat = await session.get(Seat, agent.seat_id)
    teams = tuple(sorted({t for t in (getattr(user, "team", None), getattr(seat, "team", None)) if t}))
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


async def _client(session: AsyncSession, cache: dict[int, Client], client_id: int) -> Client:
    client = cache.get(client_id)
    if client is None:
        client = cache[client_id] = await session.get(Client, client_id)
    return client


async def _evaluate(session: AsyncSession, case: Case, client: Client, now: dt.datetime) -> _Verdict:
    """May any party of the case be called now? Parties are asked debtor first, stopping at the
    first allowed one. The case-level rules only: the agent's own (seat, wrap-up) are checked when
    the agent is handed the case and again when they dial."""
    rules: set[str] = set()
    upcoming: list[dt.datetime] = []
    for party in await repository.parties_of(session, case_id=case.id):
        snapshot = await policy_facts.build_snapshot(session, party=party, case=case, client=client, at=now)
        decision = decide_party(snapshot, now)
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


async def _item(
    session: AsyncSession, case: Case, client: Client, tier: Tier, agent: AgentSession, now: dt.datetime,
) -> QueueItem:
    """Every party and number of the case with the decision a dial by this agent would get now."""
    parties = await repository.parties_of(session, case_id=case.id)
    rows = await repository.numbers_of(session, party_ids=[p.id for p in parties])
    views: list[PartyView] = []
    policy = None
    for party in parties:
        snapshot = await policy_facts.build_snapshot(
            session, party=party, case=case, client=client, at=now, agent_id=agent.agent_id, seat_id=agent.seat_id,
            mode=agent.mode,
        )
        policy = snapshot.policy
        numbers = tuple(NumberView(rows[n.id], decide_number(snapshot, n, now)) for n in snapshot.numbers)
        views.append(PartyView(party, numbers))
    language = policy.language if policy is not None else client.language
    return QueueItem(case, client, tier, case.held_until or now, tuple(views), client.policy_version, language)
