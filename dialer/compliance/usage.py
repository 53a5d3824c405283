"""How much of each cap a party has used at an instant, and when each resets (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dialer.compliance.calendar_days import WEEK, full_week
from dialer.compliance.rules import AttemptFact, conversations, counted_attempts, day_counts, plausible_zones
from dialer.compliance.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Usage:
    rule: str
    used: int
    limit: int
    window: str
    resets_at: dt.datetime | None  # when the count next drops (None: nothing to drop)


def _daily(s: Snapshot, at: dt.datetime, items: list[AttemptFact], rule: str, limit: int, label: str) -> Usage:
    used, resets = 0, None
    for count, end in day_counts(s, at, items):
        if count >= used:
            used, resets = count, end if count else None
    return Usage(rule, used, limit, f"local day{label}", resets)


def _rolling(at: dt.datetime, items: list[AttemptFact], rule: str, limit: int, span: dt.timedelta, label: str) -> Usage:
    recent = sorted(a.started_at for a in items if at - span < a.started_at <= at)
    return Usage(rule, len(recent), limit, label, recent[0] + span if recent else None)


def _calendar_week(s: Snapshot, at: dt.datetime, items: list[AttemptFact], rule: str, limit: int) -> Usage:
    """The busiest 7 consecutive local days holding today, in the zone where it is busiest, and the
    local midnight from which that count is lower (the rule's own reading: :func:`full_week`)."""
    zones, instants = plausible_zones(s), [a.started_at for a in items]
    busiest = full_week(zones, instants, at, 1)
    if busiest is None:
        return Usage(rule, 0, limit, f"{WEEK} consecutive local days", None)
    drops = full_week(zones, instants, at, busiest.count)
    return Usage(rule, busiest.count, limit,
                 f"{WEEK} consecutive local days, {busiest.first:%Y-%m-%d} to {busiest.last:%Y-%m-%d} in {busiest.zone}",
                 drops.retry_at if drops is not None else None)


def cap_usage(s: Snapshot, at: dt.datetime) -> list[Usage]:
    caps, out = s.policy.caps, []
    attempts = counted_attempts(s)
    if s.party.role == "third_party":
        if caps.third_party_daily_cap is not None:
            out.append(_daily(s, at, attempts, "third_party_daily_cap", caps.third_party_daily_cap, ""))
        if caps.third_party_hourly_cap is not None:
            minutes = caps.third_party_hourly_window_minutes
            out.append(_rolling(at, attempts, "third_party_hourly_cap", caps.third_party_hourly_cap,
                                dt.timedelta(minutes=minutes), f"rolling {minutes} minutes"))
    else:
        if caps.debtor_number_daily_cap is not None:
            for number in s.numbers:
                on_number = [a for a in attempts if a.number_id == number.id]
                out.append(_daily(s, at, on_number, "debtor_number_daily_cap", caps.debtor_number_daily_cap,
                                  f", number {number.e164}"))
        if caps.debtor_conversation_daily_cap is not None:
            out.append(_daily(s, at, conversations(s), "debtor_conversation_daily_cap",
                              caps.debtor_conversation_daily_cap, ", conversations"))
    cap = s.policy.us_style.attempts_in_7_days_cap
    if cap is not None and s.policy.us_style.counting == "calendar_days":
        out.append(_calendar_week(s, at, attempts, "us_7_in_7", cap))
    elif cap is not None:
        out.append(_rolling(at, attempts, "us_7_in_7", cap, dt.timedelta(days=7), "rolling 7 days"))
    return out
