"""Collection statistics per agent and team (催收记录统计表, work-instruction 5.3.3) and KPIs, for one
local calendar day or a range of days (at most ``MAX_DAYS``) in ``time_zone``.

Per agent (then summed per team and overall), over the period:

- ``calls``: outbound calls the agent placed (blocked or never-placed requests excluded);
  ``connects``: those answered; ``talk_seconds``; ``cases_called``: distinct cases called;
- ``promises`` / ``promised_amount``: promises to pay the agent took;
- ``kept`` / ``broken``: the agent's promises settled; ``payments`` / ``collected``: payments made
  towards the agent's promises;
- ``refusals``: the agent's real (not dry-run) dial requests the policy refused, by rule;
- ``logged_in_seconds``: time logged in at a seat; ``assigned_cases``: open cases assigned now.

Over a range every figure is the sum of the days' but two: ``cases_called`` counts a case once
however many days it was called, and ``assigned_cases`` is the count now. The report also holds
the series of the days: per day, the figures of all the report's agents together (for charts).

KPIs: connect rate = connects / calls; PTP rate = promises / connects; kept rate = kept /
(kept + broken); average payment = collected / payments; collected and kept promises per
logged-in hour; penetration = cases called / cases assigned. A KPI whose divisor is 0 is null.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Unpack

from sqlalchemy import ColumnElement, Select, and_, case, distinct, false, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dialer.agents.models import AgentSession
from dialer.auth.deps import Principal
from dialer.auth.models import Role, User
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.models import Case, CaseStatus
from dialer.compliance.localtime import local_instant, zone
from dialer.compliance.models import Decision
from dialer.imports.formulas import neutralise
from dialer.kit.errors import InvalidInput
from dialer.notes.models import Payment, PromiseStatus, PromiseToPay
from dialer.kit.zones import AGENCY_ZONE
from dialer.policy.document import RULE_IDS

CENT = Decimal("0.01")
MAX_DAYS = 92
"""The longest range a report covers (a quarter): its per-day queries stay small."""
COUNTS = ("calls", "connects", "talk_seconds", "cases_called", "assigned_cases", "promises", "kept", "broken",
          "payments", "logged_in_seconds")
AMOUNTS = ("promised_amount", "collected")
Rows = Select[Unpack[tuple[Any, ...]]]


@dataclass(slots=True)
class StatsRow:
    scope: str  # agent | team | total | day
    agent_id: int | None = None
    agent: str | None = None
    team: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    amounts: dict[str, Decimal] = field(default_factory=lambda: {name: Decimal("0.00") for name in AMOUNTS})
    refusals: Counter[str] = field(default_factory=Counter)

    def add(self, other: StatsRow | None) -> None:
        if other is None:
            return
        self.counts.update(other.counts)
        self.refusals.update(other.refusals)
        for name in AMOUNTS:
            self.amounts[name] += other.amounts[name]

    def kpis(self) -> dict[str, Any]:
        c, hours = self.counts, Decimal(self.counts["logged_in_seconds"]) / 3600
        collected = self.amounts["collected"]
        return {
            "connect_rate": _rate(c["connects"], c["calls"]),
            "ptp_rate": _rate(c["promises"], c["connects"]),
            "kept_rate": _rate(c["kept"], c["kept"] + c["broken"]),
            "penetration": _rate(c["cases_called"], c["assigned_cases"]),
            "average_payment": (collected / c["payments"]).quantize(CENT) if c["payments"] else None,
            "collected_per_hour": (collected / hours).quantize(CENT) if hours else None,
            "kept_per_hour": round(float(c["kept"] / hours), 4) if hours else None,
        }

    def figures(self) -> dict[str, Any]:
        return {
            **{name: self.counts[name] for name in COUNTS}, **self.amounts,
            "refusals": {rule: self.refusals[rule] for rule in _rule_order(self.refusals)},
            "kpis": self.kpis(),
        }

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "agent_id": self.agent_id, "agent": self.agent, "team": self.team,
                **self.figures()}


@dataclass(frozen=True, slots=True)
class Period:
    """The local calendar days a report covers, ``first`` to ``last`` included."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def label(self, separator: str = "/") -> str:
        """The day, or the range as an ISO 8601 interval (``2026-11-01/2026-11-30``)."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}{separator}{self.last.isoformat()}"


def period_of(*, day: dt.date | None, first: dt.date | None, last: dt.date | None, today: dt.date) -> Period:
    """The period a caller asked for: ``day``; or ``first`` to ``last`` (``last`` defaults to
    today); or today. A range runs forwards and spans at most ``MAX_DAYS`` days."""
    if day is not None and (first is not None or last is not None):
        raise InvalidInput("day: give either a day or a range (from, to), not both", field="day")
    if first is None and last is not None:
        raise InvalidInput("from: a range needs its first day (from) as well as its last (to)", field="from")
    if first is None:
        return Period(day or today, day or today)
    last = last or today
    if last < first:
        raise InvalidInput(f"to: the range ends ({last.isoformat()}) before it starts ({first.isoformat()})",
                           field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"to: a range covers at most {MAX_DAYS} days; this one covers "
                           f"{(last - first).days + 1}", field="to")
    return Period(first, last)


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures a report holds: every team's (``team`` None), one team's, or nobody's."""

    team: str | None = None
    nobody: bool = False


def scope_of(principal: Principal, team: str | None) -> Scope:
    """A supervisor sees their own team (``team`` is not theirs to choose; a supervisor of no team
    sees nobody); any other role the report admits sees every team, or ``team``."""
    if principal.role is Role.SUPERVISOR:
        return Scope(principal.team, nobody=principal.team is None)
    return Scope(team)


@dataclass(frozen=True, slots=True)
class DailyReport:
    period: Period
    time_zone: str
    rows: list[StatsRow]
    series: list[tuple[dt.date, StatsRow]]
    """Per day of the period: the figures of the report's agents together."""

    @property
    def day(self) -> dt.date | None:
        """The day of a one-day report (None for a range)."""
        return self.period.first if self.period.first == self.period.last else None

    def filename(self, extension: str) -> str:
        return f"daily-{self.period.label('_')}.{extension}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day, "from": self.period.first, "to": self.period.last, "time_zone": self.time_zone,
            "rows": [r.as_dict() for r in self.rows],
            "days": [{"day": day, **row.figures()} for day, row in self.series],
        }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rule_order(rules: Iterable[str]) -> list[str]:
    known = {rule: i for i, rule in enumerate(RULE_IDS)}
    return sorted(set(rules), key=lambda rule: (known.get(rule, len(known)), rule))


async def daily_report(
    session: AsyncSession, *, day: dt.date, now: dt.datetime, time_zone: str = AGENCY_ZONE, team: str | None = None,
) -> DailyReport:
    """One day's report for every team, or ``team``'s (see :func:`report`)."""
    return await report(session, period=Period(day, day), now=now, time_zone=time_zone, scope=Scope(team))


async def report_for(
    session: AsyncSession, *, principal: Principal, now: dt.datetime, time_zone: str, day: dt.date | None = None,
    first: dt.date | None = None, last: dt.date | None = None, team: str | None = None,
) -> DailyReport:
    """The report a caller asked for (a day, a range, today), of the agents they may see."""
    today = now.astimezone(zone(time_zone)).date()
    period = period_of(day=day, first=first, last=last, today=today)
    return await report(session, period=period, now=now, time_zone=time_zone, scope=scope_of(principal, team))


async def report(
    session: AsyncSession, *, period: Period, now: dt.datetime, time_zone: str = AGENCY_ZONE, scope: Scope = Scope(),
) -> DailyReport:
    """Agent rows (ordered by team, then name), a row per team, a total row last; and the series
    of the days."""
    tz = zone(time_zone)
    edges = [local_instant(day, dt.time(0), tz) for day in period.days] + [local_instant(period.last, None, tz)]
    days = await _days(session, edges, now)
    people = await _people(session, {agent_id for day in days for agent_id in day}, scope)
    called = await _cases_called(session, edges[0], edges[-1])
    assigned = await _assigned(session)

    rows: list[StatsRow] = []
    for user in people:
        row = StatsRow("agent", user.id, user.username, user.team)
        for day in days:
            row.add(day.get(user.id))
        row.counts["cases_called"] = called.get(user.id, 0)
        row.counts["assigned_cases"] = assigned.get(user.id, 0)
        rows.append(row)
    rows.sort(key=lambda r: (r.team or "", r.agent or ""))
    teams: dict[str | None, StatsRow] = {}
    total = StatsRow("total", team=scope.team)
    for row in rows:
        teams.setdefault(row.team, StatsRow("team", team=row.team)).add(row)
        total.add(row)

    series = []
    for on, day in zip(period.days, days, strict=True):
        figures = StatsRow("day", team=scope.team)
        for user in people:
            figures.add(day.get(user.id))
        figures.counts["assigned_cases"] = total.counts["assigned_cases"]
        series.append((on, figures))
    return DailyReport(period, time_zone, rows + list(teams.values()) + [total], series)


def _day_of(at: InstrumentedAttribute[Any], edges: Sequence[dt.datetime]) -> ColumnElement[int]:
    """The index of the day ``at`` falls in (``edges``: the days' starts, then the last day's end)."""
    return case(*((at < edge, literal_column(str(index))) for index, edge in enumerate(edges[1:])))


def _by_agent_and_day(inner: Rows, *figures: Any) -> Rows:
    """``figures`` (functions of ``inner``'s columns) grouped by its ``agent_id`` and ``day``; the
    day is computed in a subquery so that GROUP BY names a column, not an expression."""
    rows = inner.subquery()
    return select(rows.c.agent_id, rows.c.day, *(f(rows.c) for f in figures)).group_by(rows.c.agent_id, rows.c.day)


async def _days(session: AsyncSession, edges: Sequence[dt.datetime], now: dt.datetime) -> list[dict[int, StatsRow]]:
    """Per day of the period (between consecutive ``edges``), each agent's figures but the assigned cases."""
    start, end = edges[0], edges[-1]
    days: list[dict[int, StatsRow]] = [defaultdict(lambda: StatsRow("agent")) for _ in edges[1:]]

    placed = select(Call.agent_id, _day_of(Call.requested_at, edges).label("day"), Call.id, Call.answered_at,
                    Call.talk_s, Call.case_id).where(
        Call.direction == Direction.OUTBOUND, Call.agent_id.is_not(None), Call.requested_at >= start,
        Call.requested_at < end, Call.state.not_in((CallState.REQUESTED, CallState.BLOCKED)))
    for agent_id, day, calls, connects, talk, cases in await session.execute(_by_agent_and_day(
        placed, lambda c: func.count(c.id), lambda c: func.count(c.answered_at),
        lambda c: func.coalesce(func.sum(c.talk_s), 0), lambda c: func.count(distinct(c.case_id)),
    )):
        days[day][agent_id].counts.update(calls=calls, connects=connects, talk_seconds=int(talk or 0),
                                          cases_called=cases)

    taken = select(PromiseToPay.created_by_id.label("agent_id"), _day_of(PromiseToPay.created_at, edges).label("day"),
                   PromiseToPay.id, PromiseToPay.amount).where(
        PromiseToPay.created_by_id.is_not(None), PromiseToPay.created_at >= start, PromiseToPay.created_at < end)
    for agent_id, day, count, amount in await session.execute(_by_agent_and_day(
        taken, lambda c: func.count(c.id), lambda c: func.sum(c.amount),
    )):
        days[day][agent_id].counts["promises"] += count
        days[day][agent_id].amounts["promised_amount"] += amount or 0

    settled = select(PromiseToPay.created_by_id.label("agent_id"), _day_of(PromiseToPay.settled_at, edges).label("day"),
                     PromiseToPay.id, PromiseToPay.status).where(
        PromiseToPay.created_by_id.is_not(None), PromiseToPay.settled_at >= start, PromiseToPay.settled_at < end,
        PromiseToPay.status.in_((PromiseStatus.KEPT, PromiseStatus.BROKEN)))
    rows = settled.subquery()
    for agent_id, day, status, count in await session.execute(
        select(rows.c.agent_id, rows.c.day, rows.c.status, func.count(rows.c.id))
        .group_by(rows.c.agent_id, rows.c.day, rows.c.status)
    ):
        days[day][agent_id].counts[PromiseStatus(status).value] += count

    paid = select(PromiseToPay.created_by_id.label("agent_id"), _day_of(Payment.paid_at, edges).label("day"),
                  Payment.id, Payment.amount).join(PromiseToPay, PromiseToPay.id == Payment.promise_id).where(
        PromiseToPay.created_by_id.is_not(None), Payment.paid_at >= start, Payment.paid_at < end)
    for agent_id, day, count, amount in await session.execute(_by_agent_and_day(
        paid, lambda c: func.count(c.id), lambda c: func.sum(c.amount),
    )):
        days[day][agent_id].counts["payments"] += count
        days[day][agent_id].amounts["collected"] += amount or 0

    for agent_id, at, violations in await session.execute(
        select(Decision.agent_id, Decision.at, Decision.violations).where(
            Decision.agent_id.is_not(None), Decision.allowed.is_(False), Decision.dry_run.is_(False),
            Decision.at >= start, Decision.at < end,
        )
    ):
        days[bisect.bisect_right(edges, at) - 1][agent_id].refusals.update(
            {v.get("rule", "?") for v in violations or ()})

    for agent_id, started, ended in await session.execute(
        select(AgentSession.agent_id, AgentSession.started_at, AgentSession.ended_at).where(
            AgentSession.started_at < end, or_(AgentSession.ended_at.is_(None), AgentSession.ended_at > start)
        )
    ):
        for index, (day_start, day_end) in enumerate(zip(edges, edges[1:])):
            stop = min(day_end, ended or now)
            if stop > max(day_start, started):
                days[index][agent_id].counts["logged_in_seconds"] += int((stop - max(day_start, started)).total_seconds())
    return days


async def _cases_called(session: AsyncSession, start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    """Per agent: the distinct cases called over the whole period (a case called on two days counts once)."""
    query = (
        select(Call.agent_id, func.count(distinct(Call.case_id)))
        .where(Call.direction == Direction.OUTBOUND, Call.agent_id.is_not(None), Call.requested_at >= start,
               Call.requested_at < end, Call.state.not_in((CallState.REQUESTED, CallState.BLOCKED)))
        .group_by(Call.agent_id)
    )
    return {agent_id: count for agent_id, count in await session.execute(query) if agent_id is not None}


async def _assigned(session: AsyncSession) -> dict[int, int]:
    query = (
        select(Case.assigned_agent_id, func.count(Case.id))
        .where(Case.status == CaseStatus.OPEN, Case.assigned_agent_id.is_not(None)).group_by(Case.assigned_agent_id)
    )
    return {agent_id: count for agent_id, count in await session.execute(query) if agent_id is not None}


async def _people(session: AsyncSession, worked: set[int], scope: Scope) -> list[User]:
    """The report's agents: whoever worked in the period, and every active agent, in ``scope``."""
    query = select(User).where(or_(User.id.in_(worked), and_(User.role == Role.AGENT, User.active.is_(True))))
    if scope.nobody:
        query = query.where(false())
    elif scope.team is not None:
        query = query.where(User.team == scope.team)
    return list((await session.execute(query)).scalars())


# --- CSV ---------------------------------------------------------------------------------

HEADERS_ZH = {
    "day": "日期", "scope": "范围", "team": "组别", "agent": "坐席", "calls": "拨打量", "connects": "接通量",
    "talk_seconds": "通话时长(秒)", "cases_called": "拨打案件数", "assigned_cases": "在催案件数",
    "promises": "承诺还款数", "promised_amount": "承诺金额", "kept": "履约数", "broken": "违约数",
    "payments": "还款笔数", "collected": "回款金额", "logged_in_seconds": "在线时长(秒)", "connect_rate": "接通率",
    "ptp_rate": "承诺率", "kept_rate": "履约率", "penetration": "渗透率", "average_payment": "平均还款额",
    "collected_per_hour": "每小时回款", "kept_per_hour": "每小时履约数", "refusals_total": "合规拒拨数",
}
KPIS = tuple(StatsRow("total").kpis())


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of cells under a header, as a file shows them (see :func:`cell`)."""

    header: list[str]
    columns: list[str]
    rows: list[list[Any]]


def _headers(columns: Iterable[str], language: str) -> list[str]:
    zh = language.startswith("zh")
    return [HEADERS_ZH.get(c, c.replace("refusals:", "拒拨:")) if zh else c for c in columns]


def table(report: DailyReport, *, language: str = "en") -> Table:
    """The report's rows; refusals get one column per rule that refused anything in the period
    (``refusals:<rule>``). ``language="zh"``: Chinese headers. The day column holds the day, or the
    range as an ISO 8601 interval."""
    rules = _rule_order(rule for row in report.rows for rule in row.refusals)
    columns = ["day", "scope", "team", "agent", *COUNTS, *AMOUNTS, *KPIS, "refusals_total"]
    columns += [f"refusals:{r}" for r in rules]
    rows = []
    for row in report.rows:
        data = row.as_dict()
        values = {**data, **data["kpis"], "day": report.period.label(),
                  "refusals_total": sum(row.refusals.values()), **{f"refusals:{r}": row.refusals[r] for r in rules}}
        rows.append([cell(values.get(c)) for c in columns])
    return Table(_headers(columns, language), columns, rows)


def series_table(report: DailyReport, *, language: str = "en") -> Table:
    """The series of the days: one line per day with its figures and KPIs."""
    columns = ["day", *(c for c in COUNTS if c != "assigned_cases"), *AMOUNTS, *KPIS, "refusals_total"]
    rows = []
    for day, row in report.series:
        values = {**row.as_dict(), **row.kpis(), "day": day.isoformat(), "refusals_total": sum(row.refusals.values())}
        rows.append([cell(values.get(c)) for c in columns])
    return Table(_headers(columns, language), columns, rows)


def render_csv(report: DailyReport, *, language: str = "en") -> str:
    """The report as CSV, one line per row of :func:`report` (see :func:`table`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    rows = table(report, language=language)
    writer.writerow(rows.header)
    writer.writerows(rows.rows)
    return out.getvalue()


def cell(value: Any) -> Any:
    """Text (team, agent: typed in by people) is neutralised so a spreadsheet never runs it as a
    formula (CSV injection, OWASP); numbers are written as they are; nothing (a KPI without a
    divisor) stays None, an empty cell."""
    return neutralise(value) if isinstance(value, str) else value
