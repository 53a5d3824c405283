"""What a recorded decision saw, rebuilt for an auditor's export: the zones the calling window was
judged in (and what indicated each), and each cap's count at the decision's instant.

A ledger entry stores each rule's result, the violations and the policy version, not the snapshot
it was decided on. This rebuilds the part of that snapshot an auditor asks about with the engine's
own functions (:func:`rules.plausible_zones`, :func:`usage.cap_usage`), under the policy version
the decision used, from:

- the attempts in the ledger that started up to the decision's instant (not the decision's own
  attempt, nor any later one): the counts the rule saw, as long as no attempt was imported
  afterwards with an earlier start;
- the zones recorded on the party and its numbers *now* (and the zones the numbers' prefixes
  suggest): a zone edited since the decision shows as it is now.

``BASIS`` says so in every export. Read-only: a few statements per batch of decisions, whatever
its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.cases.models import Party, PhoneNumber
from dialer.clients.models import PolicyVersion
from dialer.compliance.models import Attempt, Decision
from dialer.compliance.repository import _number as number_fact
from dialer.compliance.rules import lookback, plausible_zones
from dialer.compliance.snapshot import AttemptFact, NumberFact, PartyFact, Snapshot
from dialer.compliance.usage import cap_usage
from dialer.policy.document import PolicyDocument

BASIS = ("rebuilt: the ledger's attempts up to the decision's instant, under the decision's policy version; "
         "zones as recorded on the party and its numbers at export time")


@dataclass(frozen=True, slots=True)
class ZoneUsed:
    zone: str
    sources: tuple[str, ...]
    """What indicates this zone: ``party record``, ``policy default``, ``number +86… record``,
    ``number +86… prefix``."""


@dataclass(frozen=True, slots=True)
class CapCount:
    rule: str
    used: int
    limit: int
    window: str


@dataclass(frozen=True, slots=True)
class Evidence:
    zone_sources: str
    """The policy's ``calling_window.zone_sources``: which of the sources count."""
    zones: tuple[ZoneUsed, ...]
    counts: tuple[CapCount, ...]


def zones_used(s: Snapshot) -> tuple[ZoneUsed, ...]:
    """The zones the calling window is judged in (the rule's own :func:`plausible_zones`), each with
    every source that indicates it."""
    indicated: list[tuple[str, str | None]] = [("party record", s.party.time_zone),
                                               ("policy default", s.policy.default_time_zone)]
    for number in s.numbers:
        indicated.append((f"number {number.e164} record", number.time_zone))
        indicated += [(f"number {number.e164} prefix", z) for z in number.prefix_zones]
    return tuple(ZoneUsed(z, tuple(source for source, named in indicated if named == z)) for z in plausible_zones(s))


@dataclass(frozen=True, slots=True)
class _Asked:
    decision: Decision
    party_id: int
    policy: tuple[int, int]  # (client, version)


async def rebuild(session: AsyncSession, decisions: Sequence[Decision]) -> dict[int, Evidence]:
    """The evidence of each decision that names a party and a policy version, by decision id."""
    asked = [_Asked(d, d.party_id, (d.client_id, d.policy_version)) for d in decisions
             if d.party_id is not None and d.client_id is not None and d.policy_version is not None]
    if not asked:
        return {}
    party_ids = {a.party_id for a in asked}
    policies = await _policies(session, {a.policy for a in asked})
    parties = {p.id: p for p in (await session.execute(select(Party).where(Party.id.in_(party_ids)))).scalars()}
    numbers: dict[int, list[NumberFact]] = {}
    for n in (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id.in_(party_ids))
                                    .order_by(PhoneNumber.position, PhoneNumber.id))).scalars():
        numbers.setdefault(n.party_id, []).append(number_fact(n.id, n.e164, n.valid, n.time_zone))
    reach = max((lookback(p) for p in policies.values()), default=dt.timedelta())
    attempts = await _attempts(session, asked, reach)
    out: dict[int, Evidence] = {}
    for a in asked:
        d, party, policy = a.decision, parties.get(a.party_id), policies.get(a.policy)
        if party is None or policy is None:
            continue
        since = d.at - lookback(policy)
        seen = tuple(fact for decision_id, fact in attempts.get(party.id, ())
                     if since < fact.started_at <= d.at and decision_id != d.id)
        snapshot = Snapshot(policy=policy, policy_version=a.policy[1], party=_party(party),
                            numbers=tuple(numbers.get(party.id, ())), attempts=seen, channel=d.channel.value)
        out[d.id] = Evidence(
            zone_sources=policy.calling_window.zone_sources, zones=zones_used(snapshot),
            counts=tuple(CapCount(u.rule, u.used, u.limit, u.window) for u in cap_usage(snapshot, d.at)),
        )
    return out


def _party(p: Party) -> PartyFact:
    return PartyFact(id=p.id, case_id=p.case_id, role=p.role.value, relation=p.relation.value, name="",
                     time_zone=p.time_zone, id_number=p.id_number, debt_related=p.debt_related)


async def _policies(session: AsyncSession, keys: set[tuple[int, int]]) -> dict[tuple[int, int], PolicyDocument]:
    clients = {client for client, _ in keys}
    query = select(PolicyVersion.client_id, PolicyVersion.version, PolicyVersion.document).where(
        PolicyVersion.client_id.in_(clients), PolicyVersion.version.in_({version for _, version in keys}))
    return {(client, version): PolicyDocument.model_validate(document)
            for client, version, document in await session.execute(query) if (client, version) in keys}


async def _attempts(
    session: AsyncSession, asked: Sequence[_Asked], reach: dt.timedelta,
) -> dict[int, list[tuple[int | None, AttemptFact]]]:
    """The attempts of the decisions' parties from the earliest decision's look-back to the latest
    decision, by party, each with the decision that reserved it."""
    instants = [a.decision.at for a in asked]
    query = select(Attempt.party_id, Attempt.decision_id, Attempt.started_at, Attempt.number_id, Attempt.outcome,
                   Attempt.conversation, Attempt.direction).where(
        Attempt.party_id.in_({a.party_id for a in asked}),
        Attempt.started_at > min(instants) - reach, Attempt.started_at <= max(instants),
    ).order_by(Attempt.started_at, Attempt.id)
    out: dict[int, list[tuple[int | None, AttemptFact]]] = {}
    for party_id, decision_id, started_at, number_id, outcome, conversation, direction in await session.execute(query):
        fact = AttemptFact(started_at, number_id, outcome, conversation, direction)
        out.setdefault(party_id, []).append((decision_id, fact))
    return out
