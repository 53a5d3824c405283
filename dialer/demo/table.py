"""The demo's live figures, read from the database: calls placed and their outcomes, refusals by
rule, recordings stored, agents by state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import AgentSession
from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.cases.models import Case
from dialer.compliance.models import Decision
from dialer.notes.models import PromiseToPay

OUTCOMES = ("answered", "no_answer", "busy", "rejected", "failed", "voicemail", "canceled", "missed")


@dataclass
class Figures:
    placed: int = 0
    live: int = 0
    outcomes: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    refused_dials: int = 0
    parked: int = 0
    recordings_stored: int = 0
    recordings_pending: int = 0
    agents: Counter = field(default_factory=Counter)
    promises: int = 0


async def figures(session: AsyncSession) -> Figures:
    out = Figures()
    for outcome, ended, count in await session.execute(
        select(Call.outcome, Call.ended_at.is_not(None), func.count()).group_by(Call.outcome, Call.ended_at.is_not(None))
    ):
        out.placed += count
        if outcome is not None:
            out.outcomes[str(outcome)] += count
        elif not ended:
            out.live += count
    for (violations,) in await session.execute(
        select(Decision.violations).where(Decision.allowed.is_(False), Decision.dry_run.is_(False))
    ):
        out.refused_dials += 1
        out.refusals.update(v.get("rule", "?") for v in violations or [])
    for status, count in await session.execute(select(Recording.status, func.count()).group_by(Recording.status)):
        if status == RecordingStatus.STORED:
            out.recordings_stored += count
        elif status == RecordingStatus.PENDING:
            out.recordings_pending += count
    for state, count in await session.execute(
        select(AgentSession.state, func.count()).where(AgentSession.ended_at.is_(None)).group_by(AgentSession.state)
    ):
        out.agents[str(state)] += count
    for (rules,) in await session.execute(select(Case.blocked_rules).where(Case.blocked_rules.is_not(None))):
        rules = rules or ""
        out.parked += 1  # the work queue asked the policy and set the case aside until it allows a call
        out.refusals.update(rule for rule in rules.split(",") if rule)
    out.promises = (await session.execute(select(func.count()).select_from(PromiseToPay))).scalar_one()
    return out


def render(f: Figures, *, elapsed_s: float, total_s: float) -> str:
    agents = " ".join(f"{state}={n}" for state, n in sorted(f.agents.items())) or "-"
    outcomes = " ".join(f"{o}={f.outcomes[o]}" for o in OUTCOMES if f.outcomes[o]) or "-"
    refusals = " ".join(f"{rule}={n}" for rule, n in f.refusals.most_common(4)) or "-"
    return (f"[{elapsed_s:5.1f}/{total_s:.0f}s] calls {f.placed:4d} (live {f.live}) | {outcomes} | "
            f"refused {f.refused_dials}, parked {f.parked} ({refusals}) | recordings {f.recordings_stored} stored, "
            f"{f.recordings_pending} pending | PTP {f.promises} | agents {agents}")


def summary(f: Figures) -> str:
    lines = ["", "Summary", "-------",
             f"calls placed            {f.placed}"]
    lines += [f"  {o:<21} {f.outcomes[o]}" for o in OUTCOMES if f.outcomes[o]]
    lines += [f"dials refused by policy {f.refused_dials}",
              f"cases set aside by it   {f.parked} (the queue asked first; each waits for its next allowed time)",
              "refusals by rule"]
    lines += [f"  {rule:<34} {n}" for rule, n in f.refusals.most_common()] or ["  -"]
    lines += [f"recordings stored       {f.recordings_stored} (pending {f.recordings_pending})",
              f"promises to pay         {f.promises}"]
    return "\n".join(lines)
