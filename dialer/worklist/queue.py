"""The work queue: the next case for an agent is the most urgent one the policy allows *now*.

Urgency, in order: a pending promise due today (or earlier), a follow-up that is due, then the
overdue bucket (M3+ first) and the amount owed. Only open cases of the agent's own assignment, or
of their team (the agent's or the seat's) that nobody is assigned to, optionally only the client
of a running campaign; not one the agent skipped a short while ago.

The hand-out reads and locks the tier's best candidate in one statement, asks the policy about
it (every party of the case read at once), and goes on to the next one until one is allowed —
never the whole table. A case the policy refuses on every number is *parked*:
``cases.next_allowed_at`` (the policy's earliest instant, or a re-check time when only a person
can lift the block) keeps it out of the queue until then, with ``blocked_rules`` saying why. The
chosen case is *held* (``held_by_agent_id``, ``held_until``) in the same transaction.

Concurrency: on PostgreSQL each candidate is read ``FOR UPDATE SKIP LOCKED``, its conditions
re-checked on a row that changed meanwhile, so concurrent hand-outs (other agents, other replicas)
pass over the row another one is evaluating instead of waiting or colliding, and the committed
hold keeps the case from every later hand-out until it expires or is released. Only the row under
evaluation is locked (plus the parked and held ones, until commit), so a busy queue never looks
empty. On SQLite the whole hand-out runs in one write transaction (``BEGIN IMMEDIATE``), which
serialises it.

Two callers: the preview desktop (:func:`next_case`, a :class:`QueueItem` with every number's
verdict for the card) and the progressive engine (:func:`hand_out`, a :class:`Claim` whose parties
were read locked, so the engine reserves its first allowed number on that very read).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import AgentSession
from dialer.campaigns.models import Campaign, CampaignStatus
from dialer.cases import holds
from dialer.cases.holds import CALL_HOLD, HOLD, release, release_all
from dialer.cases.models import Case, CaseStatus, Party, PhoneNumber
from dialer.clients.models import Client
from dialer.compliance import repository as policy_facts
from dialer.compliance.decide import Decision, decide_number, decide_party
from dialer.compliance.repository import Subject
from dialer.compliance.snapshot import NumberFact, Snapshot
from dialer.kit.db import begin_write
from dialer.kit.errors import NotFound
from dialer.kit.zones import AGENCY_ZONE
from dialer.worklist import repository
from dialer.worklist.errors import CampaignNotRunning, CaseNotHeld
from dialer.kit.queries import required
from dialer.live import publish as live

SKIP_COOLDOWN = dt.timedelta(minutes=30)
"""A case an agent skipped is not offered to that same agent again for this long."""
RECHECK = dt.timedelta(hours=1)
"""A case blocked until a person acts (stop-contact, no valid number) is looked at again after this."""
DUE_CAP = 200
"""Promises and follow-ups due ranked per hand-out: the longest-due ones in scope."""
MAX_EVALUATED = 64
"""At most this many cases are asked about per hand-out; the refused ones are parked, so the next
hand-out starts further down."""


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
class Scope:
    """Whose cases a hand-out may give: the agent's own and their teams', of one client (a
    campaign's) or any; ``today`` is the client's calendar day (promises due)."""

    agent_id: int
    teams: tuple[str, ...]
    client_id: int | None
    today: dt.date

    @classmethod
    def of(cls, *, agent_id: int, teams: tuple[str, ...], client_id: int | None, zone: str | None,
           now: dt.datetime) -> Scope:
        return cls(agent_id, teams, client_id, _day_in(zone, now))


PartyFacts = tuple[Snapshot, Subject]
"""A party of a case as the policy sees it: its snapshot, and what a decision on it is filed under."""


@dataclass(frozen=True, slots=True)
class Dialable:
    """The number a dial by the agent may call now, with the decision that says so."""

    snapshot: Snapshot
    subject: Subject
    number: NumberFact
    decision: Decision


@dataclass(frozen=True, slots=True)
class Claim:
    """A case just handed out and held, with its parties as the policy saw them (debtor first;
    each snapshot carries the agent's context: seat, wrap-up, mode)."""

    case_id: int
    tier: Tier
    parties: tuple[PartyFacts, ...]
    best: Dialable | None
    """The first number a dial by this agent may call now, the debtor's first (the choice of
    :meth:`QueueItem.best_number`); None when the agent's own rules (seat, wrap-up) refuse them all."""


async def hand_out(
    session: AsyncSession, *, agent_session: AgentSession, scope: Scope, now: dt.datetime,
    rest_until: dt.datetime | None = None,
) -> Claim | None:
    """The progressive engine's hand-out: hold the next case the policy allows now (the caller has
    read the scope from its running campaign). Each candidate's parties are read *locked*, with the
    agent's context, so the dial's reservation needs no read of its own
    (``compliance.service.reserve_on``), and it is held for the call (:data:`CALL_HOLD`): the engine
    dials it at once. A case whose numbers only the agent's own rules refuse (seat, wrap-up) is
    given straight back and None returned: another agent may call it. ``rest_until``: give back what the agent holds (the case they worked last),
    kept from everyone until then — as :func:`release_all` before the hand-out would, but written
    with the new hold. Flushes nothing; the caller commits."""
    claim = await _hold_next(session, scope, agent_session, now=now, lock=True, rest_until=rest_until, hold=CALL_HOLD)
    if claim is not None and claim.best is None:  # only the agent's own rules (seat, wrap-up) refuse its
        await release(session, case_id=claim.case_id, agent_id=scope.agent_id)  # numbers: another may call it
        return None
    if claim is None and rest_until is not None:
        await release_all(session, agent_id=scope.agent_id, not_before=rest_until)
    return claim


async def next_case(
    session: AsyncSession, *, agent_session: AgentSession, now: dt.datetime, campaign_id: int | None = None,
    teams: tuple[str, ...] | None = None,
) -> QueueItem | None:
    """Hand out and hold the next case for this agent (or give back the one they already hold,
    its hold renewed); None when nothing in scope is callable now. ``teams``: the agent's teams
    when the caller has read them already. Flushes; the caller commits."""
    await begin_write(session)
    scope = await _scope(session, agent_session, now=now, campaign_id=campaign_id, teams=teams)
    held = await holds.held_case(session, agent_id=scope.agent_id, now=now)
    if held is not None and (scope.client_id is None or held.client_id == scope.client_id):
        held.held_until = now + HOLD
        client = await required(session, Client, held.client_id)
        tier = Tier(await repository.tier_of(session, case=held, now=now, today=_today(client, now)))
        return await _item(_CaseFacts(session, held, client, agent_session, now), tier)

    claim = await _hold_next(session, scope, agent_session, now=now, lock=False)
    if claim is None:
        return None
    case = await session.get(Case, claim.case_id, populate_existing=True)
    assert case is not None
    client = await required(session, Client, case.client_id)
    return await _item(_CaseFacts(session, case, client, agent_session, now, claim.parties), claim.tier)


async def view_of(
    session: AsyncSession, *, case: Case, agent_session: AgentSession, now: dt.datetime,
) -> QueueItem:
    """The case with what the policy allows now for each number, as this agent would get it —
    without handing it out or touching its hold (read only)."""
    client = await required(session, Client, case.client_id)
    tier = Tier(await repository.tier_of(session, case=case, now=now, today=_today(client, now)))
    return await _item(_CaseFacts(session, case, client, agent_session, now), tier)


def _day_in(zone: str | None, now: dt.datetime) -> dt.date:
    """The calendar day at ``now`` in ``zone`` (a client's: its promises fall due by it)."""
    return now.astimezone(ZoneInfo(zone or AGENCY_ZONE)).date()


def _today(client: Client | None, now: dt.datetime) -> dt.date:
    return _day_in(client.default_time_zone if client is not None else None, now)


async def held_for_dial(session: AsyncSession, *, number_id: int, agent_id: int, now: dt.datetime) -> int | None:
    """A preview dial may only call a number of the case this agent holds (handed out by the queue,
    the hold not run out): that case's id, locked; None when the number is unknown;
    :class:`CaseNotHeld` when the agent does not hold its case."""
    found = await repository.case_of_number(session, number_id=number_id)
    if found is None:
        return None
    case_id, held_by, held_until, status = found
    if held_by != agent_id or held_until is None or held_until <= now or status is not CaseStatus.OPEN:
        raise CaseNotHeld(f"number {number_id} belongs to case {case_id}, which you do not hold: "
                          "take a case from the queue (GET /v1/agent/next) and dial one of its numbers",
                          case_id=case_id, number_id=number_id)
    return case_id


async def _scope(
    session: AsyncSession, agent: AgentSession, *, now: dt.datetime, campaign_id: int | None,
    teams: tuple[str, ...] | None = None,
) -> Scope:
    if teams is None:
        teams = await repository.teams_of(session, agent_id=agent.agent_id, seat_id=agent.seat_id)
    client_id, zone = None, AGENCY_ZONE
    if campaign_id is not None:
        campaign = await running_campaign(session, campaign_id)
        client = await session.get(Client, campaign.client_id)
        client_id, zone = campaign.client_id, client.default_time_zone if client else AGENCY_ZONE
    return Scope.of(agent_id=agent.agent_id, teams=teams, client_id=client_id, zone=zone, now=now)


async def running_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """The campaign a hand-out is asked for: ``NotFound``, or ``CampaignNotRunning`` unless it runs."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if campaign.status is not CampaignStatus.RUNNING:
        raise CampaignNotRunning(f"campaign {campaign.name} is {campaign.status.value}", campaign_id=campaign_id)
    return campaign


async def _hold_next(
    session: AsyncSession, scope: Scope, agent: AgentSession, *, now: dt.datetime, lock: bool,
    rest_until: dt.datetime | None = None, hold: dt.timedelta = HOLD,
) -> Claim | None:
    """Tier by tier, lock the best candidate and ask the policy about it, until one is allowed
    (held, returned) or ``MAX_EVALUATED`` were refused (each parked, so the next hand-out starts
    past them). ``lock``: read the candidates' parties locked (a reservation follows).
    ``rest_until``: the agent's held cases are given back with the new hold (not candidates)."""
    evaluated = 0
    seen: set[int] = set()
    for stage in ("due", "backlog"):  # promises due, then follow-ups due (one statement); the backlog
        while (found := await repository.next_candidate(
                session, stage=stage, agent_id=scope.agent_id, teams=scope.teams, client_id=scope.client_id,
                now=now, today=scope.today, skipped_since=now - SKIP_COOLDOWN, cap=DUE_CAP,
                resting=rest_until is not None)) is not None:
            case_id, tier = found[0], Tier(found[1])
            if case_id in seen:  # cannot happen (a parked case is no longer callable); never loop on it
                break
            seen.add(case_id)
            evaluated += 1
            parties = await policy_facts.load_case(
                session, case_id=case_id, at=now, lock=lock, agent_id=agent.agent_id, seat_id=agent.seat_id,
                mode=agent.mode,
            )
            best = _first_dialable(parties, now)
            verdict = _Verdict(True) if best is not None else _evaluate(parties, now)
            if verdict.allowed:
                await repository.hold(session, case_id=case_id, agent_id=scope.agent_id, until=now + hold,
                                      rest_until=rest_until)
                return Claim(case_id, tier, tuple(parties), best)
            until = verdict.next_allowed_at or now + RECHECK
            await repository.park(session, case_id=case_id, until=until, rules=",".join(verdict.rules)[:200])
            live.publish(session, live.SET_ASIDE, {
                "case_id": case_id, "client_id": parties[0][1].client_id if parties else None,
                "agent_id": scope.agent_id, "rules": list(verdict.rules), "until": until.isoformat()}, at=now)
            if evaluated >= MAX_EVALUATED:
                return None
    return None


def _first_dialable(parties: list[PartyFacts], now: dt.datetime) -> Dialable | None:
    """The first number a dial by this agent may call now, debtor first, deciding only until it is
    found. One allowed with the agent's context is allowed without it (the agent's rules only add
    refusals), so finding one settles the case's verdict too; most cases need no other decision."""
    for snapshot, subject in parties:
        for number in snapshot.numbers:
            decision = decide_number(snapshot, number, now)
            if decision.allowed:
                return Dialable(snapshot, subject, number, decision)
    return None


def _evaluate(parties: list[PartyFacts], now: dt.datetime) -> _Verdict:
    """May any party of the case be called now? Parties are asked debtor first, stopping at the
    first allowed one. The case-level rules only: the agent's own (seat, wrap-up, mode) are shown
    on the card and checked again when they dial."""
    rules: set[str] = set()
    upcoming: list[dt.datetime] = []
    for snapshot, _ in parties:
        decision = decide_party(replace(snapshot, agent=None, mode=None), now)
        if decision.allowed:
            return _Verdict(True)
        rules.update(v.rule for v in decision.violations)
        if decision.next_allowed_at is not None:
            upcoming.append(decision.next_allowed_at)
    if not rules:
        rules.add("invalid_number")  # a case without parties has no one to call
    return _Verdict(False, min(upcoming) if upcoming else None, tuple(sorted(rules)))


class _CaseFacts:
    """One case's parties and policy snapshots for the card, each read once. Snapshots carry the
    agent's context (seat, wrap-up, mode) so the card shows what a dial by them would get."""

    def __init__(self, session: AsyncSession, case: Case, client: Client, agent: AgentSession, now: dt.datetime,
                 snapshots: tuple[PartyFacts, ...] | None = None):
        self.session, self.case, self.client, self.agent, self.now = session, case, client, agent, now
        self._snapshots = None if snapshots is None else {subject.party_id: s for s, subject in snapshots}

    async def parties(self) -> list[Party]:
        return await repository.parties_of(self.session, case_id=self.case.id)

    async def snapshots(self) -> dict[int, Snapshot]:
        if self._snapshots is None:
            agent = self.agent
            loaded = await policy_facts.load_case(self.session, case_id=self.case.id, at=self.now,
                                                  agent_id=agent.agent_id, seat_id=agent.seat_id, mode=agent.mode)
            self._snapshots = {subject.party_id: snapshot for snapshot, subject in loaded}
        return self._snapshots


async def _item(facts: _CaseFacts, tier: Tier) -> QueueItem:
    """Every party and number of the case with the decision a dial by this agent would get now."""
    now, case, client = facts.now, facts.case, facts.client
    parties = await facts.parties()
    snapshots = await facts.snapshots()
    rows = await repository.numbers_of(facts.session, party_ids=[p.id for p in parties])
    views: list[PartyView] = []
    language = client.language
    for party in parties:
        snapshot = snapshots[party.id]
        language = snapshot.policy.language
        numbers = tuple(NumberView(rows[n.id], decide_number(snapshot, n, now)) for n in snapshot.numbers)
        views.append(PartyView(party, numbers))
    return QueueItem(case, client, tier, case.held_until or now, tuple(views), client.policy_version, language)
