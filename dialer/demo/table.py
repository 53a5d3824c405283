"""The demo's live figures, read from the database: calls placed and their outcomes, what the
policy refused, notes, recordings stored, agents by state.

What the policy refused is counted once per thing refused, by the set of rules that refused it,
so the figures add up: the cases the work queue set aside before dialing (it asks the policy
before it hands a case out; a case refused on every number waits for its next allowed time, with
the rules that refused it) and the dials the policy refused at reservation (the last check,
at the moment of dialing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import AgentSession
from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.cases.models import Case
from dialer.compliance.models import Decision
from dialer.notes.models import PromiseToPay, WrapUpNote

OUTCOMES = ("answered", "no_answer", "busy", "rejected", "failed", "voicemail", "canceled", "missed")
FAR_END = {"answer": "a person", "voicemail": "a voicemail", "no_answer": "no answer", "busy": "busy",
           "reject": "declined after ringing", "fail": "not routable"}
"""The emulator's (and the SIP trunk's) scripted behaviours, in words."""
CARRIER_NOTE = ("        (the far end: what the emulator's scenario had the number do. A declined call is told from\n"
                "        a busy one by its SIP 603; a voicemail is reported as answered unless the call asks for\n"
                "        answering-machine detection, which the service does not yet: the agents heard the\n"
                "        voicemails and noted them as such)")
SIP_NOTE = ("        (the far end: what the demo's SIP trunk (sipp, dialer/demo/sip_trunk.xml) does for the number,\n"
            "        by its last two digits: a person answers, nobody answers (480 after ringing) or busy (486))")


@dataclass
class Figures:
    placed: int = 0
    live: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    far_ends: dict[str, Counter[str]] = field(default_factory=dict)  # outcome → what the numbers were scripted to do
    set_aside: Counter[str] = field(default_factory=Counter)  # cases set aside by the work queue, by their rules
    refused: Counter[str] = field(default_factory=Counter)  # dials refused at reservation, by their rules
    notes: Counter[str] = field(default_factory=Counter)  # wrap-up notes by contact status
    recordings_stored: int = 0
    recordings_pending: int = 0
    audio_files: int = 0  # distinct contents among the stored recordings
    agents: Counter[str] = field(default_factory=Counter)  # open agent sessions by state
    promises: int = 0  # made on the shift's calls

    @property
    def parked(self) -> int:
        """Cases set aside by the work queue (before dialing)."""
        return sum(self.set_aside.values())

    @property
    def refused_dials(self) -> int:
        """Dials the policy refused at reservation."""
        return sum(self.refused.values())

    @property
    def refusals(self) -> Counter[str]:
        """Each rule: how many of the set-aside cases and refused dials it was among the reasons of
        (a case refused by two rules counts for both, so these do not add up; the rule sets do)."""
        hits: Counter[str] = Counter()
        for rules, n in (self.set_aside + self.refused).items():
            for rule in rules.split(" + "):
                hits[rule] += n
        return hits

    @property
    def sessions_open(self) -> int:
        return sum(self.agents.values())


def rule_set(rules: Iterable[str | None]) -> str:
    """The rules of one refusal, sorted, as one label (``stop_contact + third_party_hourly_cap``)."""
    return " + ".join(sorted({rule for rule in rules if rule})) or "unknown"


async def figures(session: AsyncSession, *, scripted: Mapping[str, str] | None = None) -> Figures:
    """The figures now. ``scripted``: each number's behaviour in the emulator's scenario, to show
    next to the outcome the service recorded (the summary's "the far end")."""
    out = Figures()
    for outcome, ended, to, count in await session.execute(
        select(Call.outcome, Call.ended_at.is_not(None), Call.to_e164, func.count())
        .group_by(Call.outcome, Call.ended_at.is_not(None), Call.to_e164)
    ):
        out.placed += count
        if outcome is not None:
            out.outcomes[str(outcome)] += count
            if scripted is not None and to is not None and to in scripted:
                out.far_ends.setdefault(str(outcome), Counter())[scripted[to]] += count
        elif not ended:
            out.live += count
    for (violations,) in await session.execute(
        select(Decision.violations).where(Decision.allowed.is_(False), Decision.dry_run.is_(False))
    ):
        out.refused[rule_set(v.get("rule") for v in violations or [])] += 1
    for (rules,) in await session.execute(select(Case.blocked_rules).where(Case.blocked_rules.is_not(None))):
        out.set_aside[rule_set((rules or "").split(","))] += 1
    for status, count in await session.execute(select(Recording.status, func.count()).group_by(Recording.status)):
        if status == RecordingStatus.STORED:
            out.recordings_stored += count
        elif status == RecordingStatus.PENDING:
            out.recordings_pending += count
    out.audio_files = (await session.execute(
        select(func.count(func.distinct(Recording.sha256))).where(Recording.status == RecordingStatus.STORED)
    )).scalar_one()
    for state, count in await session.execute(
        select(AgentSession.state, func.count()).where(AgentSession.ended_at.is_(None)).group_by(AgentSession.state)
    ):
        out.agents[str(state)] += count
    for contact_status, count in await session.execute(
        select(WrapUpNote.contact_status, func.count()).group_by(WrapUpNote.contact_status)
    ):
        out.notes[str(contact_status)] += count
    out.promises = (await session.execute(
        select(func.count()).select_from(PromiseToPay).where(PromiseToPay.call_id.is_not(None))
    )).scalar_one()
    return out


def render(f: Figures, *, elapsed_s: float, total_s: float) -> str:
    """One line of the live table."""
    agents = " ".join(f"{state}={n}" for state, n in sorted(f.agents.items())) or "-"
    outcomes = " ".join(f"{o}={f.outcomes[o]}" for o in OUTCOMES if f.outcomes[o]) or "-"
    rules = " ".join(f"{rule}={n}" for rule, n in f.refusals.most_common(3)) or "-"
    return (f"[{elapsed_s:5.1f}/{total_s:.0f}s] calls {f.placed:4d} (live {f.live}) | {outcomes} | "
            f"set aside {f.parked}, dials refused {f.refused_dials} ({rules}) | recordings {f.recordings_stored} "
            f"stored, {f.recordings_pending} pending | PTP {f.promises} | agents {agents}")


Row = tuple[int, str, int, str]
"""(depth, label, count, comment): a row at some depth counts what the rows one deeper under it count."""


def refusal_rows(f: Figures) -> list[Row]:
    """What the policy refused: every case set aside and every dial refused once, by its rules."""
    rows: list[Row] = [
        (0, "refused by the policy (cases and dials)", f.parked + f.refused_dials, ""),
        (1, "cases set aside before dialing", f.parked,
         "the work queue asks the policy first; each case waits for its next allowed time"),
    ]
    rows += [(2, rules, n, "") for rules, n in sorted(f.set_aside.items(), key=lambda kv: (-kv[1], kv[0]))]
    rows.append((1, "dials refused at reservation", f.refused_dials, "the last check, as the number is dialed"))
    rows += [(2, rules, n, "") for rules, n in sorted(f.refused.items(), key=lambda kv: (-kv[1], kv[0]))]
    return rows


def summary_rows(f: Figures) -> list[Row]:
    rows: list[Row] = [(0, "calls placed", f.placed, "")]
    for outcome in OUTCOMES:
        if f.outcomes[outcome]:
            far = f.far_ends.get(outcome, Counter())
            said = ", ".join(f"{FAR_END.get(b, b)} {n}" for b, n in sorted(far.items(), key=lambda kv: (-kv[1], kv[0])))
            rows.append((1, outcome, f.outcomes[outcome], f"the far end: {said}" if said else ""))
    if f.live:
        rows.append((1, "still live", f.live, ""))
    rows.append((0, "wrap-up notes, by contact status", sum(f.notes.values()), ""))
    rows += [(1, status, n, "") for status, n in f.notes.most_common()]
    rows += refusal_rows(f)
    rows += [
        (0, "recordings stored", f.recordings_stored,
         f"{f.audio_files} distinct audio files; {f.recordings_pending} pending"),
        (0, "promises to pay made", f.promises, ""),
        (0, "agent sessions open", f.sessions_open,
         "every agent finished their call and note, then logged out" if not f.sessions_open
         else "still logged in: " + ", ".join(f"{s}={n}" for s, n in sorted(f.agents.items()))),
    ]
    return rows


def summary(f: Figures, *, heading: str = "Summary", note: str = CARRIER_NOTE) -> str:
    """The figures as one table, the count first: each indented row is part of the row above it.
    ``note``: what "the far end" means (the emulator's scenario, or the SIP trunk's script)."""
    rows = summary_rows(f)
    width = max(len("  " * depth + label) for depth, label, _, comment in rows if comment) + 3
    lines = ["", heading, "-" * len(heading)]
    for depth, label, count, comment in rows:
        if depth == 0 and label.startswith("wrap-up notes"):
            lines.append(note)  # under the calls, before the notes
        text = "  " * depth + label
        lines.append(f"{count:>6}  {text:<{width}}{comment}".rstrip() if comment else f"{count:>6}  {text}")
    return "\n".join(lines)
