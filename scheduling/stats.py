"""Daily collection statistics per agent and team (催收记录统计表, work-instruction 5.3.3) and KPIs.

For one local calendar day in ``time_zone``, per agent (then summed per team and overall):

- ``calls``: outbound calls the agent placed (blocked or never-placed requests excluded);
  ``connects``: those answered; ``talk_seconds``; ``cases_called``: distinct cases called;
- ``promises`` / ``promised_amount``: promises to pay the agent took that day;
- ``kept`` / ``broken``: the agent's promises settled that day; ``payments`` / ``collected``:
  payments made that day towards the agent's promises;
- ``refusals``: the agent's real (not dry-run) dial requests the policy refused, by rule;
- ``logged_in_seconds``: time logged in at a seat; ``assigned_cases``: open cases assigned now.

KPIs: connect rate = connects / calls; PTP rate = promises / connects; kept rate = kept /
(kept + broken); average payment = collected / payments; collected and kept promises per
logged-in hour; penetration = cases called / cases assigned. A KPI whose divisor is 0 is null.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import AgentSession
from dialer.auth.models import Role, User
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.models import Case, CaseStatus
from dialer.compliance.localtime import local_instant, zone
from dialer.compliance.models import Decision
from dialer.imports.formulas import neutralise
from dialer.notes.models import Payment, PromiseStatus, PromiseToPay
from dialer.kit.zones import AGENCY_ZONE
from dialer.policy.document import RULE_IDS

CENT = Decimal("0.01")
COUNTS = ("calls", "connects", "talk_seconds", "cases_called", "assigned_cases", "promises", "kept", "broken",
          "payments", "logged_in_seconds")
AMOUNTS = ("promised_amount", "collected")


@dataclass(slots=True)
class StatsRow:
    scope: str  # agent | team | total
    agent_id: int | None = None
    agent: str | None = None
    team: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    amounts: dict[str, Decimal] = field(default_factory=lambda: {name: Decimal("0.00") for name in AMOUNTS})
    refusals: Counter[str] = field(default_factory=Counter)

    def add(self, other: StatsRow) -> None:
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope, "agent_id": self.agent_id, "agent": self.agent, "team": self.team,
            **{name: self.counts[name] for name in COUNTS}, **self.amounts,
            "refusals": {rule: self.refusals[rule] for rule in _rule_order(self.refusals)},
            "kpis": self.kpis(),
        }


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: dt.date
    time_zone: str
    rows: list[StatsRow]

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day, "time_zone": self.time_zone, "rows": [r.as_dict() for r in self.rows]}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rule_order(rules: Iterable[str]) -> list[str]:
    known = {rule: i for i, rule in enumerate(RULE_IDS)}
    return sorted(set(rules), key=lambda rule: (known.get(rule, len(known)), rule))


async def daily_report(
    session: AsyncSession, *, day: dt.date, now: dt.datetime, time_zone: str = AGENCY_ZONE, team: str | None = None,
) -> DailyReport:
    """Agent rows (ordered by team, then name), a row per team, and a total row last."""
    tz = zone(time_zone)
    start, end = local_instant(day, dt.time(0), tz), local_instant(day, None, tz)
    agents: dict[int | None, StatsRow] = defaultdict(lambda: StatsRow("agent"))  # None: no agent (never kept)

    placed = (Call.direction == Direction.OUTBOUND, Call.agent_id.is_not(None), Call.requested_at >= start,
              Call.requested_at < end, Call.state.not_in((CallState.REQUESTED, CallState.BLOCKED)))
    for agent_id, calls, connects, talk, cases in await session.execute(
        select(
            Call.agent_id, func.count(Call.id), func.count(Call.answered_at), func.coalesce(func.sum(Call.talk_s), 0),
            func.count(distinct(Call.case_id)),
        ).where(*placed).group_by(Call.agent_id)
    ):
        agents[agent_id].counts.update(calls=calls, connects=connects, talk_seconds=int(talk or 0), cases_called=cases)

    for agent_id, count, amount in await session.execute(
        select(PromiseToPay.created_by_id, func.count(PromiseToPay.id), func.sum(PromiseToPay.amount))
        .where(PromiseToPay.created_by_id.is_not(None), PromiseToPay.created_at >= start, PromiseToPay.created_at < end)
        .group_by(PromiseToPay.created_by_id)
    ):
        agents[agent_id].counts["promises"] += count
        agents[agent_id].amounts["promised_amount"] += amount or 0

    for agent_id, status, count in await session.execute(
        select(PromiseToPay.created_by_id, PromiseToPay.status, func.count(PromiseToPay.id))
        .where(PromiseToPay.created_by_id.is_not(None), PromiseToPay.settled_at >= start, PromiseToPay.settled_at < end,
               PromiseToPay.status.in_((PromiseStatus.KEPT, PromiseStatus.BROKEN)))
        .group_by(PromiseToPay.created_by_id, PromiseToPay.status)
    ):
        agents[agent_id].counts[status.value] += count

    for agent_id, count, amount in await session.execute(
        select(PromiseToPay.created_by_id, func.count(Payment.id), func.sum(Payment.amount))
        .join(PromiseToPay, PromiseToPay.id == Payment.promise_id)
        .where(PromiseToPay.created_by_id.is_not(None), Payment.paid_at >= start, Payment.paid_at < end)
        .group_by(PromiseToPay.created_by_id)
    ):
        agents[agent_id].counts["payments"] += count
        agents[agent_id].amounts["collected"] += amount or 0

    for agent_id, violations in await session.execute(
        select(Decision.agent_id, Decision.violations).where(
            Decision.agent_id.is_not(None), Decision.allowed.is_(False), Decision.dry_run.is_(False),
            Decision.at >= start, Decision.at < end,
        )
    ):
        agents[agent_id].refusals.update({v.get("rule", "?") for v in violations or ()})

    for agent_id, started, ended in await session.execute(
        select(AgentSession.agent_id, AgentSession.started_at, AgentSession.ended_at).where(
            AgentSession.started_at < end, or_(AgentSession.ended_at.is_(None), AgentSession.ended_at > start)
        )
    ):
        stop = min(end, ended or now)
        if stop > max(start, started):
            agents[agent_id].counts["logged_in_seconds"] += int((stop - max(start, started)).total_seconds())

    for agent_id, count in await session.execute(
        select(Case.assigned_agent_id, func.count(Case.id))
        .where(Case.status == CaseStatus.OPEN, Case.assigned_agent_id.is_not(None)).group_by(Case.assigned_agent_id)
    ):
        agents[agent_id].counts["assigned_cases"] += count

    return DailyReport(day, time_zone, await _arrange(session, agents, team))


async def _arrange(session: AsyncSession, agents: dict[int | None, StatsRow], team: str | None) -> list[StatsRow]:
    query = select(User).where(or_(User.id.in_([agent_id for agent_id in agents if agent_id is not None]), and_(User.role == Role.AGENT, User.active.is_(True))))
    people = (await session.execute(query)).scalars().all()
    rows: list[StatsRow] = []
    for user in people:
        row = agents.get(user.id) or StatsRow("agent")
        row.agent_id, row.agent, row.team = user.id, user.username, user.team
        if team is None or user.team == team:
            rows.append(row)
    rows.sort(key=lambda r: (r.team or "", r.agent or ""))
    teams: dict[str | None, StatsRow] = {}
    total = StatsRow("total", team=team)
    for row in rows:
        teams.setdefault(row.team, StatsRow("team", team=row.team)).add(row)
        total.add(row)
    return rows + list(teams.values()) + [total]


# --- CSV ---------------------------------------------------------------------------------

HEADERS_ZH = {
    "day": "日期", "scope": "范围", "team": "组别", "agent": "坐席", "calls": "拨打量", "connects": "接通量",
    "talk_seconds": "通话时长(秒)", "cases_called": "拨打案件数", "assigned_cases": "在催案件数",
    "promises": "承诺还款数", "promised_amount": "承诺金额", "kept": "履约数", "broken": "违约数",
    "payments": "还款笔数", "collected": "回款金额", "logged_in_seconds": "在线时长(秒)", "connect_rate": "接通率",
    "ptp_rate": "承诺率", "kept_rate": "履约率", "penetration": "渗透率", "average_payment": "平均还款额",
    "collected_per_hour": "每小时回款", "kept_per_hour": "每小时履约数", "refusals_total": "合规拒拨数",
}


def render_csv(report: DailyReport, *, language: str = "en") -> str:
    """The report as CSV, one line per row of :func:`daily_report`; refusals get one column per
    rule that refused anything that day (``refusals:<rule>``). ``language="zh"``: Chinese headers."""
    rules = _rule_order(rule for row in report.rows for rule in row.refusals)
    kpis = list(StatsRow("total").kpis())
    columns = ["day", "scope", "team", "agent", *COUNTS, *AMOUNTS, *kpis, "refusals_total"]
    columns += [f"refusals:{r}" for r in rules]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    zh = language.startswith("zh")
    writer.writerow([HEADERS_ZH.get(c, c.replace("refusals:", "拒拨:")) if zh else c for c in columns])
    for row in report.rows:
        data = row.as_dict()
        values = {**data, **data["kpis"], "day": report.day.isoformat(),
                  "refusals_total": sum(row.refusals.values()), **{f"refusals:{r}": row.refusals[r] for r in rules}}
        writer.writerow([_csv_cell(values.get(c)) for c in columns])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    """Text (team, agent: typed in by people) is neutralised so a spreadsheet never runs it as a
    formula (CSV injection, OWASP); numbers are written as they are."""
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else value
