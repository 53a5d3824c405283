"""Compliance at work, for the board: the parties a cap is about to stop (at a cap, or one attempt
from it) or a Reg F pause holds, and the calling windows that close soon with the cases they hold.

Both are read on demand (the board asks every minute or so), by the policy engine's own pure
functions on the same snapshots a dial is decided on, so what the board shows is what a dial
would meet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.calendars.store import calendars_of
from dialer.cases.models import Case, CaseStatus, Party
from dialer.clients.models import Client
from dialer.compliance import repository
from dialer.compliance.localtime import window_open, zone
from dialer.compliance.models import Attempt
from dialer.compliance.rules import us_pause_after_conversation
from dialer.compliance.usage import cap_usage

LOOK_BACK = dt.timedelta(days=8)
"""Attempts this recent make a party a candidate: every cap's window (a day, an hour, seven
calendar days) and a Reg F pause (seven days from a conversation) fall inside it."""
PARTIES_LIMIT = 300
"""The most recently attempted parties examined per request (each is one snapshot read)."""
CLOSING_WITHIN = dt.timedelta(minutes=30)
STEP = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Pressure:
    party_id: int
    case_id: int
    account_ref: str
    client_code: str
    role: str
    relation: str
    rule: str
    used: int | None
    limit: int | None
    at_cap: bool
    until: dt.datetime | None
    """When the count drops (a cap) or the pause ends."""


@dataclass(frozen=True, slots=True)
class Closing:
    zone: str
    closes_at: dt.datetime
    clients: list[str]
    cases: int


def cases_seen_by(principal: Principal, team: str | None = None) -> list[ColumnElement[bool]]:
    """Open cases a supervisor may see on the board (their team's); an admin every team's or ``team``'s."""
    wanted = principal.team if principal.role is Role.SUPERVISOR else team
    conditions: list[ColumnElement[bool]] = [Case.status == CaseStatus.OPEN]
    if principal.role is Role.SUPERVISOR and wanted is None:
        conditions.append(Case.id.is_(None))
    elif wanted is not None:
        conditions.append(Case.team == wanted)
    return conditions


async def cap_pressure(session: AsyncSession, principal: Principal, *, now: dt.datetime, team: str | None = None,
                       limit: int = PARTIES_LIMIT) -> list[Pressure]:
    """The parties at a cap or one attempt from it, and those a Reg F pause holds, most urgent
    first (at a cap before one away; then by when it resets)."""
    recent = (
        select(Attempt.party_id, func.max(Attempt.started_at).label("last"))
        .join(Case, Case.id == Attempt.case_id)
        .where(Attempt.started_at > now - LOOK_BACK, Attempt.started_at <= now, *cases_seen_by(principal, team))
        .group_by(Attempt.party_id).order_by(func.max(Attempt.started_at).desc()).limit(limit)
    )
    party_ids = [row.party_id for row in (await session.execute(recent)).all()]
    if not party_ids:
        return []
    names = {row.id: row for row in (await session.execute(
        select(Party.id, Party.role, Party.relation, Case.id.label("case_id"), Case.account_ref, Client.code)
        .join(Case, Case.id == Party.case_id).join(Client, Client.id == Case.client_id)
        .where(Party.id.in_(party_ids)))).all()}
    found: list[Pressure] = []
    for party_id in party_ids:
        snapshot, _ = await repository.load_snapshot(session, at=now, party_id=party_id)
        row = names[party_id]
        for usage in cap_usage(snapshot, now):
            if usage.limit and usage.used >= usage.limit - 1:
                found.append(_pressure(row, usage.rule, usage.used, usage.limit, usage.used >= usage.limit,
                                       usage.resets_at))
        if snapshot.numbers:
            paused = us_pause_after_conversation(snapshot, snapshot.numbers[0], now)
            if paused is not None:
                found.append(_pressure(row, paused.rule, None, None, True, paused.retry_at))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda p: (not p.at_cap, p.until or far, p.party_id, p.rule))


def _pressure(row: Row, rule: str, used: int | None, limit: int | None, at_cap: bool,
              until: dt.datetime | None) -> Pressure:
    return Pressure(row.id, row.case_id, row.account_ref, row.code, row.role.value, row.relation.value, rule, used,
                    limit, at_cap, until)


async def windows_closing(session: AsyncSession, principal: Principal, *, now: dt.datetime, team: str | None = None,
                          within: dt.timedelta = CLOSING_WITHIN) -> list[Closing]:
    """The calling windows open now that close within ``within``, by client zone: when, and how many
    open cases in scope they hold (each client's policy and default zone, its calendar's holidays),
    to the minute."""
    counts = (
        select(Client, func.count(Case.id))
        .join(Case, Case.client_id == Client.id).where(*cases_seen_by(principal, team)).group_by(Client.id)
    )
    by_zone: dict[tuple[str, dt.datetime], tuple[list[str], int]] = {}
    books = await calendars_of(session)
    for client, cases in (await session.execute(counts)).all():
        policy = await repository.policy_for(session, client)
        tz, calendar = zone(client.default_time_zone), books.get(policy.holiday_calendar)
        if not window_open(policy, now, tz, calendar=calendar):
            continue
        at = now + STEP
        while at <= now + within and window_open(policy, at, tz, calendar=calendar):
            at += STEP
        if at > now + within:
            continue
        closes = at.replace(second=0, microsecond=0)
        clients, total = by_zone.get((client.default_time_zone, closes), ([], 0))
        by_zone[(client.default_time_zone, closes)] = ([*clients, client.code], total + cases)
    return [Closing(zone_name, closes, sorted(clients), cases)
            for (zone_name, closes), (clients, cases) in sorted(by_zone.items(), key=lambda item: item[0][1])]
