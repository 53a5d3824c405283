"""Combine the rules into a decision: allowed or not, every violation, and the exact earliest
instant at which every rule allows the call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dialer.compliance.rules import RULES, Violation
from dialer.compliance.snapshot import NumberFact, Snapshot

MAX_STEPS = 200  # each step moves to a later rule boundary; a few suffice in practice


@dataclass(frozen=True, slots=True)
class Decision:
    at: dt.datetime
    allowed: bool
    violations: tuple[Violation, ...]
    next_allowed_at: dt.datetime | None  # None when only a person can lift a block
    rule_results: dict[str, str] = field(default_factory=dict)  # rule -> pass | fail | off
    number_id: int | None = None


def _require_aware(at: dt.datetime) -> None:
    # A naive instant would silently be read as the host's local time by astimezone().
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a compliance decision needs an aware instant, got naive {at.isoformat()}")


def _enabled(s: Snapshot) -> list[str]:
    on = set(s.policy.enabled_rules())
    return [rule for rule in RULES if rule in on]


def _violations(s: Snapshot, number: NumberFact, rules: list[str], at: dt.datetime) -> list[Violation]:
    return [v for rule in rules if (v := RULES[rule](s, number, at)) is not None]


def earliest_allowed(s: Snapshot, number: NumberFact, at: dt.datetime) -> dt.datetime | None:
    """The earliest instant ≥ ``at`` at which every enabled rule allows calling ``number``.

    Each violation's ``retry_at`` is the earliest instant its rule allows, so jumping to the
    latest of them never skips an allowed instant; repeat until no rule objects.
    """
    _require_aware(at)
    rules = _enabled(s)
    t = at
    for _ in range(MAX_STEPS):
        found = _violations(s, number, rules, t)
        if not found:
            return t
        retries = [v.retry_at for v in found if v.retry_at is not None]
        if len(retries) < len(found):
            return None
        later = max(retries)
        if later <= t:
            return None  # a rule that cannot say when: treat as needing a person
        t = later
    return None


def decide_number(s: Snapshot, number: NumberFact, at: dt.datetime) -> Decision:
    _require_aware(at)
    rules = _enabled(s)
    found = _violations(s, number, rules, at)
    failed = {v.rule for v in found}
    results = {rule: ("fail" if rule in failed else "pass") for rule in rules}
    results.update({rule: "off" for rule in RULES if rule not in results})
    if not found:
        return Decision(at, True, (), at, results, number.id)
    return Decision(at, False, tuple(found), earliest_allowed(s, number, at), results, number.id)


def decide_party(s: Snapshot, at: dt.datetime) -> Decision:
    """May the party be called now on any of its numbers? The first allowed number (in the
    order they are listed) is chosen; otherwise the earliest any number becomes callable."""
    _require_aware(at)
    if not s.numbers:
        none = Violation("invalid_number", "the party has no phone number on record", "该联系人没有登记电话号码")
        return Decision(at, False, (none,), None, {"invalid_number": "fail"}, None)
    decisions = [decide_number(s, number, at) for number in s.numbers]
    for decision in decisions:
        if decision.allowed:
            return decision
    seen: dict[tuple[str, str], Violation] = {}
    for decision in decisions:
        for violation in decision.violations:
            seen.setdefault((violation.rule, violation.message_en), violation)
    upcoming = [d.next_allowed_at for d in decisions if d.next_allowed_at is not None]
    merged: dict[str, str] = {}
    for decision in decisions:
        for rule, result in decision.rule_results.items():
            if merged.get(rule) != "fail":
                merged[rule] = result
    return Decision(at, False, tuple(seen.values()), min(upcoming) if upcoming else None, merged, None)
