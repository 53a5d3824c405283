"""Property-based tests of the pure engine (hypothesis).

1. No sequence of requests lets a cap or the calling window be broken: a simulated dialler
   asks at random instants (and, when told, at the ``next_allowed_at`` it was given), places
   every allowed call, and the resulting history is checked by an independent count.
2. ``next_allowed_at`` is allowed and no earlier instant is.
3. The zones include DST zones, and the instants cluster around their 2026 changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import os
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.compliance.decide import Decision, decide_number, decide_party
from dialer.compliance.localtime import local_instant, next_opening, window_open
from dialer.compliance.snapshot import AttemptFact, NumberFact, PartyFact, Snapshot
from dialer.policy.document import OUTCOMES, WEEKDAYS, PolicyDocument
from dialer.policy.presets import build_policy

UTC = dt.timezone.utc
ZONES = ("America/New_York", "Europe/London", "Australia/Sydney", "Asia/Shanghai", "America/Los_Angeles")
# Starts a few days before a DST change of one of the zones, so a 10-day span crosses it.
BASES = tuple(dt.datetime(*d, tzinfo=UTC) for d in (
    (2026, 3, 4), (2026, 3, 26), (2026, 4, 2), (2026, 6, 10), (2026, 10, 1), (2026, 10, 22), (2026, 10, 29),
))
# The 2026 changes of the DST zones above (UTC): instants are drawn close to them on purpose.
TRANSITIONS = tuple(dt.datetime(*d, tzinfo=UTC) for d in (
    (2026, 3, 8, 7), (2026, 11, 1, 6),  # America/New_York
    (2026, 3, 8, 10), (2026, 11, 1, 9),  # America/Los_Angeles
    (2026, 3, 29, 1), (2026, 10, 25, 1),  # Europe/London
    (2026, 4, 4, 16), (2026, 10, 3, 16),  # Australia/Sydney
))
SPAN = dt.timedelta(days=10)
# DIALER_PROPERTY_EXAMPLES raises the effort for a longer hunt (e.g. 5000); the default keeps each test to seconds.
PROPERTY = settings(max_examples=int(os.environ.get("DIALER_PROPERTY_EXAMPLES", "120")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --- strategies ----------------------------------------------------------------------------------


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def day_windows(draw: st.DrawFn) -> list[dict[str, str]]:
    kind = draw(st.sampled_from(["closed", "default", "all_day", "one", "one", "two"]))
    if kind == "closed":
        return []
    if kind == "default":
        return [{"start": "08:00", "end": "22:00"}]
    if kind == "all_day":
        return [{"start": "00:00", "end": "24:00"}]
    # Quarter hours: boundaries then coincide with DST changes and with other zones' boundaries.
    count = 2 if kind == "one" else 4
    # Some marks in the small hours, where the clocks change (00:00-03:30).
    quarter = st.one_of(st.integers(0, 96), st.integers(0, 14))
    marks = sorted(draw(st.sets(quarter, min_size=count, max_size=count)))
    return [{"start": _clock(marks[i] * 15), "end": _clock(marks[i + 1] * 15)} for i in range(0, count, 2)]


caps = st.one_of(st.none(), st.integers(1, 8))


@st.composite
def policies(draw: st.DrawFn) -> PolicyDocument:
    base = draw(st.sampled_from(BASES))
    holidays = []
    if draw(st.booleans()):
        holidays = [{"date": (base + dt.timedelta(days=draw(st.integers(0, 9)))).date().isoformat(),
                     "intervals": draw(day_windows())}]
    overrides: dict[str, Any] = {
        "default_time_zone": draw(st.sampled_from(ZONES)),
        "holiday_calendar": "none",
        "calling_window": {"weekdays": {day: draw(day_windows()) for day in WEEKDAYS}, "holidays": holidays},
        "caps": {
            "third_party_daily_cap": draw(caps),
            "third_party_hourly_cap": draw(caps),
            "third_party_hourly_window_minutes": draw(st.sampled_from([30, 60, 60, 90])),
            "debtor_number_daily_cap": draw(caps),
            "debtor_conversation_daily_cap": draw(caps),
        },
        "counting": {
            "counted_outcomes": sorted(draw(st.sets(st.sampled_from(OUTCOMES), min_size=1))),
            "conversation_counts_inbound": draw(st.booleans()),
        },
        "us_style": {
            "attempts_in_7_days_cap": draw(st.one_of(st.none(), st.none(), st.integers(1, 8))),
            "pause_after_conversation_days": draw(st.one_of(st.none(), st.none(), st.integers(1, 2))),
        },
    }
    return build_policy("agency-default", overrides)


@st.composite
def parties(draw: st.DrawFn) -> tuple[PartyFact, tuple[NumberFact, ...]]:
    role = draw(st.sampled_from(["debtor", "third_party"]))
    party_zone = draw(st.one_of(st.none(), st.none(), st.sampled_from(ZONES)))
    party = PartyFact(id=1, case_id=1, role=role, relation="self" if role == "debtor" else "friend", time_zone=party_zone)
    numbers = []
    for i in range(draw(st.integers(1, 3))):
        numbers.append(NumberFact(
            id=i + 1, e164=f"+1555000{i:04d}",
            time_zone=draw(st.one_of(st.none(), st.sampled_from(ZONES))),
            prefix_zones=tuple(sorted(draw(st.sets(st.sampled_from(ZONES), max_size=2)))),
        ))
    return party, tuple(numbers)


@st.composite
def starts(draw: st.DrawFn) -> dt.datetime:
    """Somewhere in the 10 days after a base, or within a few hours of a DST change."""
    if draw(st.booleans()):
        return draw(st.sampled_from(BASES)) + dt.timedelta(seconds=draw(st.integers(0, 10 * 86400)))
    return draw(st.sampled_from(TRANSITIONS)) + dt.timedelta(minutes=draw(st.integers(-6 * 60, 6 * 60)))


gaps = st.one_of(
    st.sampled_from([0, 1, 60, 1800, 3600]),
    st.integers(0, 3600),
    st.integers(0, 6 * 3600),
    st.integers(0, 86400),
)


# --- an independent reading of the policy ---------------------------------------------------------


def zones_of(s: Snapshot) -> set[str]:
    if s.party.time_zone:
        return {s.party.time_zone}
    zones = {s.policy.default_time_zone}
    for number in s.numbers:
        zones.update((number.time_zone,) if number.time_zone else number.prefix_zones)
    return zones


def open_in(doc: PolicyDocument, at: dt.datetime, name: str) -> bool:
    wall = at.astimezone(ZoneInfo(name))
    window = doc.calling_window
    intervals = next((h.intervals for h in window.holidays if h.date == wall.date()), None)
    if intervals is None:
        intervals = window.weekdays.for_weekday(wall.weekday())
    second = wall.hour * 3600 + wall.minute * 60 + wall.second + wall.microsecond / 1e6
    return any(i.start_minute * 60 <= second < i.end_minute * 60 for i in intervals)


def counted(doc: PolicyDocument, a: AttemptFact) -> bool:
    return a.direction == "outbound" and (a.outcome is None or a.outcome in doc.counting.counted_outcomes)


def conversation(doc: PolicyDocument, a: AttemptFact) -> bool:
    return a.conversation and (a.direction == "outbound" or doc.counting.conversation_counts_inbound)


def max_in_any_window(instants: list[dt.datetime], span: dt.timedelta) -> int:
    """The most instants in any half-open window [s, s + span)."""
    return max((sum(1 for u in instants if t <= u < t + span) for t in instants), default=0)


def may_call_now(s: Snapshot, at: dt.datetime) -> bool:
    """The conversation rules, recounted at the moment of a call (inbound ones are not ours to cap)."""
    doc = s.policy
    talks = [a.started_at for a in s.attempts if conversation(doc, a) and a.started_at <= at]
    cap = doc.caps.debtor_conversation_daily_cap
    if cap is not None and s.party.role == "debtor":
        for name in zones_of(s):
            tz = ZoneInfo(name)
            if sum(1 for t in talks if t.astimezone(tz).date() == at.astimezone(tz).date()) >= cap:
                return False
    days = doc.us_style.pause_after_conversation_days
    return days is None or not any(t <= at < t + dt.timedelta(days=days) for t in talks)


# --- 1. no cap is ever exceeded ---------------------------------------------------------------


@PROPERTY
@given(doc=policies(), who=parties(), base=starts(), steps=st.lists(gaps, min_size=1, max_size=60), data=st.data())
def test_no_sequence_of_requests_breaks_a_cap_or_the_window(
    doc: PolicyDocument, who: tuple[PartyFact, tuple[NumberFact, ...]], base: dt.datetime, steps: list[int],
    data: st.DataObject,
) -> None:
    party, numbers = who
    s = Snapshot(policy=doc, policy_version=1, party=party, numbers=numbers)
    end = base + SPAN
    queue: list[dt.datetime] = []
    t = base
    for gap in steps:
        t += dt.timedelta(seconds=gap)
        heapq.heappush(queue, t)
    accepted: list[dt.datetime] = []
    for _ in range(200):
        if not queue:
            break
        at = heapq.heappop(queue)
        if at > end:
            break
        if data.draw(st.integers(0, 9)) == 0:  # an inbound conversation happens meanwhile
            s = dataclasses.replace(s, attempts=s.attempts + (
                AttemptFact(at, None, "answered", conversation=True, direction="inbound"),))
        number = numbers[data.draw(st.integers(0, len(numbers) - 1))]
        decision = decide_number(s, number, at)
        if decision.allowed:
            assert decision.next_allowed_at == at and not decision.violations
            assert may_call_now(s, at)
            outcome = data.draw(st.sampled_from((None, *OUTCOMES)))
            talked = outcome == "answered" and data.draw(st.booleans())
            s = dataclasses.replace(s, attempts=s.attempts + (AttemptFact(at, number.id, outcome, talked),))
            accepted.append(at)
            continue
        assert decision.violations
        if decision.next_allowed_at is not None:
            assert decision.next_allowed_at > at
            assert decide_number(s, number, decision.next_allowed_at).allowed
            if data.draw(st.booleans()):  # the dialler comes back exactly when it was told
                heapq.heappush(queue, decision.next_allowed_at)

    zones = zones_of(s)
    outbound = [a for a in s.attempts if a.direction == "outbound"]
    for a in outbound:
        assert all(open_in(doc, a.started_at, z) for z in zones), f"{a.started_at} outside the window"
    attempts = [a for a in outbound if counted(doc, a)]
    caps = doc.caps
    if party.role == "third_party":
        if caps.third_party_daily_cap is not None:
            for name in zones:
                per_day = Counter(a.started_at.astimezone(ZoneInfo(name)).date() for a in attempts)
                assert max(per_day.values(), default=0) <= caps.third_party_daily_cap
        if caps.third_party_hourly_cap is not None:
            span = dt.timedelta(minutes=caps.third_party_hourly_window_minutes)
            assert max_in_any_window([a.started_at for a in attempts], span) <= caps.third_party_hourly_cap
    if party.role == "debtor" and caps.debtor_number_daily_cap is not None:
        for name in zones:
            per_number_day = Counter((a.number_id, a.started_at.astimezone(ZoneInfo(name)).date()) for a in attempts)
            assert max(per_number_day.values(), default=0) <= caps.debtor_number_daily_cap
    if doc.us_style.attempts_in_7_days_cap is not None:
        assert max_in_any_window([a.started_at for a in attempts], dt.timedelta(days=7)) <= doc.us_style.attempts_in_7_days_cap


# --- 2. next_allowed_at is allowed, and nothing earlier is ------------------------------------------


@st.composite
def histories(draw: st.DrawFn, s: Snapshot, at: dt.datetime) -> tuple[AttemptFact, ...]:
    """Any history up to ``at`` (imported history need not have respected the policy)."""
    items = []
    for _ in range(draw(st.integers(0, 25))):
        started = at - dt.timedelta(seconds=draw(st.one_of(st.integers(0, 7200), st.integers(0, 9 * 86400))))
        direction = draw(st.sampled_from(["outbound", "outbound", "outbound", "inbound"]))
        outcome = draw(st.sampled_from((None, *OUTCOMES)))
        number_id = draw(st.sampled_from([n.id for n in s.numbers])) if direction == "outbound" else None
        items.append(AttemptFact(started, number_id, outcome, outcome == "answered" and draw(st.booleans()), direction))
    return tuple(sorted(items, key=lambda a: a.started_at))


def _decide(s: Snapshot, number: NumberFact | None, at: dt.datetime) -> Decision:
    return decide_party(s, at) if number is None else decide_number(s, number, at)


@PROPERTY
@given(doc=policies(), who=parties(), at=starts(),
       fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=20, max_size=20), data=st.data())
def test_next_allowed_at_is_allowed_and_nothing_earlier_is(
    doc: PolicyDocument, who: tuple[PartyFact, tuple[NumberFact, ...]], at: dt.datetime,
    fractions: list[float], data: st.DataObject,
) -> None:
    party, numbers = who
    s = Snapshot(policy=doc, policy_version=1, party=party, numbers=numbers)
    s = dataclasses.replace(s, attempts=data.draw(histories(s, at)))
    number = data.draw(st.sampled_from((None, *numbers)))  # None: the party as a whole
    decision = _decide(s, number, at)
    if decision.allowed:
        assert decision.next_allowed_at == at
        return
    nxt = decision.next_allowed_at
    if nxt is None:
        # Only a person, or a window that never opens in every zone at once: no time soon is allowed.
        probes = [at + dt.timedelta(days=3) * f for f in fractions]
    else:
        assert nxt > at
        assert _decide(s, number, nxt).allowed, f"next_allowed_at {nxt} is not allowed"
        probes = [at + (nxt - at) * f for f in fractions]
        probes += [t for t in (nxt - dt.timedelta(seconds=1), nxt - dt.timedelta(microseconds=1)) if t >= at]
    for probe in probes:
        if nxt is not None and probe >= nxt:  # timedelta * 0.999... rounds to the microsecond
            continue
        assert not _decide(s, number, probe).allowed, f"{probe} allowed before next_allowed_at {nxt}"


# --- 3. local calendar arithmetic in DST zones --------------------------------------------------------


@PROPERTY
@given(doc=policies(), name=st.sampled_from(ZONES + ("America/Havana", "Asia/Beirut")), at=starts(),
       fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=20, max_size=20))
def test_next_opening_is_open_and_nothing_earlier_is(
    doc: PolicyDocument, name: str, at: dt.datetime, fractions: list[float],
) -> None:
    tz = ZoneInfo(name)
    opening = next_opening(doc, at, tz)
    assert window_open(doc, at, tz) == open_in(doc, at, name)
    if opening is None:
        assert not any(open_in(doc, at + dt.timedelta(days=8) * f, name) for f in fractions)
        return
    assert opening >= at and open_in(doc, opening, name)
    probes = [at + (opening - at) * f for f in fractions] + [opening - dt.timedelta(microseconds=1)]
    assert not any(open_in(doc, p, name) for p in probes if at <= p < opening)


@PROPERTY
@given(name=st.sampled_from(ZONES + ("America/Havana", "Asia/Beirut", "America/Santiago")),
       day=st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
       minute=st.integers(0, 1439))
def test_local_instant_is_the_first_instant_at_or_past_the_wall_time(name: str, day: dt.date, minute: int) -> None:
    tz = ZoneInfo(name)
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    instant = local_instant(day, wall.time(), tz)
    assert instant.astimezone(tz).replace(tzinfo=None) >= wall
    assert (instant - dt.timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None) < wall
