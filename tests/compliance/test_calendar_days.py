"""Regulation F counted in calendar days (``us_style.counting: "calendar_days"``, the ``us-reg-f``
preset): 12 CFR 1006.14(b)(2)(i) at most 7 calls within 7 consecutive days, (ii) none within 7
days after a conversation, "the date of the telephone conversation is the first day".

The days are the called party's local calendar days, in every plausible zone at once. Scenarios
at the local midnight (23:59 / 00:00) and across the America/New_York DST changes of 2026 and 2027
(2026-03-08, 2026-11-01, 2027-03-14, 2027-11-07), then hypothesis against a reference reading
written here, independently of the engine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.compliance.decide import decide_number
from dialer.compliance.rules import RULES, lookback
from dialer.compliance.snapshot import AttemptFact, NumberFact, PartyFact, Snapshot
from dialer.policy.document import PolicyDocument
from dialer.policy.presets import build_policy

UTC = dt.timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
ALL_DAY = {d: [{"start": "00:00", "end": "24:00"}] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NO_DAILY_CAPS = {"third_party_daily_cap": None, "third_party_hourly_cap": None, "debtor_number_daily_cap": None,
                 "debtor_conversation_daily_cap": None}


def wall(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *,
         tz: ZoneInfo = NEW_YORK) -> dt.datetime:
    """A UTC instant given as an (unambiguous) local wall time."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)


def reg_f(**overrides: Any) -> PolicyDocument:
    return build_policy("us-reg-f", overrides or None)


def party_snapshot(doc: PolicyDocument, *attempts: AttemptFact, party_zone: str | None = "America/New_York",
                   number_zones: tuple[str, ...] = ()) -> Snapshot:
    """A debtor with one number whose prefix suggests ``number_zones``."""
    return Snapshot(
        policy=doc, policy_version=1,
        party=PartyFact(id=1, case_id=1, role="debtor", time_zone=party_zone),
        numbers=(NumberFact(id=1, e164="+12125550100", prefix_zones=number_zones),),
        attempts=attempts,
    )


def call(at: dt.datetime, *, talked: bool = False) -> AttemptFact:
    return AttemptFact(at, 1, "answered" if talked else "no_answer", conversation=talked)


def rule(name: str, s: Snapshot, at: dt.datetime):
    return RULES[name](s, s.numbers[0], at)


# --- the preset -----------------------------------------------------------------------------------


def test_given_the_us_preset_then_it_counts_calendar_days_and_other_presets_keep_rolling() -> None:
    assert reg_f().us_style.counting == "calendar_days"
    assert build_policy("agency-default").us_style.counting == "rolling"
    assert build_policy("cn-cba-2026").us_style.counting == "rolling"


# --- 7 calls in 7 consecutive local days --------------------------------------------------------


def test_given_a_call_on_each_of_seven_local_days_when_the_eighth_then_it_waits_for_the_midnight_the_first_day_drops_out() -> None:
    doc = reg_f()
    s = party_snapshot(doc, *(call(wall(2026, 6, d, 10)) for d in range(1, 8)))
    decision = decide_number(s, s.numbers[0], wall(2026, 6, 7, 15))

    (violation,) = decision.violations
    assert violation.rule == "us_7_in_7"
    assert violation.retry_at == wall(2026, 6, 8, 0)  # 2026-06-01 leaves the period at local midnight
    assert decision.next_allowed_at == wall(2026, 6, 8, 8)  # ...and the window opens at 08:00
    assert "7 attempts to this person on the 7 consecutive local days 2026-06-01 to 2026-06-07 (America/New_York)" \
        in violation.message_en
    assert "calls may resume at 2026-06-08 00:00 America/New_York" in violation.message_en
    assert "2026-06-01至2026-06-07" in violation.message_zh and "可于2026-06-08 00:00（America/New_York）起再拨打" \
        in violation.message_zh
    # Rolling 7 x 24 hours would have held the call until 10:00, two hours after the window opened.
    rolling = party_snapshot(reg_f(us_style={"counting": "rolling"}), *s.attempts)
    assert decide_number(rolling, s.numbers[0], wall(2026, 6, 7, 15)).next_allowed_at == wall(2026, 6, 8, 10)


def test_given_the_first_call_at_2359_when_asked_around_the_seventh_midnight_then_the_day_not_the_hour_counts() -> None:
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    s = party_snapshot(doc, call(wall(2026, 6, 1, 23, 59)), *(call(wall(2026, 6, d, 12)) for d in range(2, 8)))
    assert rule("us_7_in_7", s, wall(2026, 6, 7, 23, 59, 59)) is not None
    assert rule("us_7_in_7", s, wall(2026, 6, 8, 0)) is None  # one minute of 24 hours later, a new local day
    assert decide_number(s, s.numbers[0], wall(2026, 6, 7, 23, 59, 59)).next_allowed_at == wall(2026, 6, 8, 0)


def test_given_a_call_on_day_one_at_0000_then_it_counts_for_days_one_to_seven_only() -> None:
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    s = party_snapshot(doc, *(call(wall(2026, 6, d, 0)) for d in range(1, 8)))
    assert rule("us_7_in_7", s, wall(2026, 6, 7, 23, 59)) is not None
    assert rule("us_7_in_7", s, wall(2026, 6, 8, 0)) is None


def test_given_calls_recorded_after_the_instant_then_every_period_holding_its_day_counts() -> None:
    # A dry run for a Monday: seven calls follow from Tuesday to Sunday (two on Sunday), one was a week before.
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    later = [call(wall(2026, 6, d, 9)) for d in range(9, 15)] + [call(wall(2026, 6, 14, 18))]
    s = party_snapshot(doc, call(wall(2026, 6, 1, 9)), *later)
    violation = rule("us_7_in_7", s, wall(2026, 6, 8, 12))
    assert violation is not None  # 2026-06-08..14 already holds 7
    assert violation.retry_at == wall(2026, 6, 16, 0)  # the first day whose every period holds fewer than 7
    assert rule("us_7_in_7", s, wall(2026, 6, 7, 12)) is None  # 06-01..07 holds 1, 06-07..13 holds 5


def test_given_two_plausible_zones_when_the_week_is_full_in_one_then_its_midnight_decides() -> None:
    # Party recorded in Los Angeles, its number's prefix says New York (us-reg-f reads both).
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    calls = [call(wall(2026, 6, d, 22, 30, tz=LOS_ANGELES)) for d in range(1, 8)]  # 01:30 the next day in NY
    at = wall(2026, 6, 8, 0, 30, tz=LOS_ANGELES)
    s = party_snapshot(doc, *calls, party_zone="America/Los_Angeles", number_zones=("America/New_York",))
    violation = rule("us_7_in_7", s, at)
    # In LA the calls fall on 06-01..06-07 and 06-08 has begun: free. In NY they fall on 06-02..06-08,
    # and it is still 06-08 there: full until New York's midnight.
    assert violation is not None and violation.retry_at == wall(2026, 6, 9, 0, tz=NEW_YORK)
    assert "on the 7 consecutive local days 2026-06-02 to 2026-06-08 (America/New_York)" in violation.message_en
    assert "calls may resume at 2026-06-09 00:00 America/New_York" in violation.message_en
    only_la = party_snapshot(doc, *calls, party_zone="America/Los_Angeles")
    assert rule("us_7_in_7", only_la, at) is None


# --- the pause after a conversation -----------------------------------------------------------------


def test_given_a_conversation_at_2359_then_the_pause_ends_at_local_midnight_seven_days_after_its_date() -> None:
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    s = party_snapshot(doc, call(wall(2026, 6, 1, 23, 59), talked=True))
    violation = rule("us_pause_after_conversation", s, wall(2026, 6, 2, 12))
    assert violation is not None and violation.retry_at == wall(2026, 6, 8, 0)
    assert violation.message_en == ("a conversation took place on 2026-06-01 (local date, America/New_York); "
                                    "no call on that day or the 6 days after it: the pause ends 2026-06-08 00:00 "
                                    "America/New_York")
    assert violation.message_zh == ("已于2026-06-01（当地日期，America/New_York）通话；自通话当日起7天内不得再拨打，"
                                    "暂停至2026-06-08 00:00（America/New_York）结束")
    assert rule("us_pause_after_conversation", s, wall(2026, 6, 7, 23, 59, 59)) is not None
    assert rule("us_pause_after_conversation", s, wall(2026, 6, 8, 0)) is None
    assert decide_number(s, s.numbers[0], wall(2026, 6, 2, 12)).next_allowed_at == wall(2026, 6, 8, 0)


def test_given_a_conversation_at_0000_then_the_pause_is_the_same_seven_days() -> None:
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    s = party_snapshot(doc, call(wall(2026, 6, 1, 0, 0), talked=True))
    violation = rule("us_pause_after_conversation", s, wall(2026, 6, 1, 0, 0))
    assert violation is not None and violation.retry_at == wall(2026, 6, 8, 0)


def test_given_the_us_preset_window_when_the_pause_ends_at_midnight_then_the_next_call_is_at_0800() -> None:
    s = party_snapshot(reg_f(), call(wall(2026, 6, 1, 20, 30), talked=True))
    assert decide_number(s, s.numbers[0], wall(2026, 6, 3, 12)).next_allowed_at == wall(2026, 6, 8, 8)


def test_given_conversations_before_each_dst_change_of_2026_and_2027_then_the_pause_ends_at_local_midnight() -> None:
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    cases = [
        (wall(2026, 3, 2, 10), dt.datetime(2026, 3, 9, 4, tzinfo=UTC)),  # EST talk, EDT midnight (UTC-4)
        (wall(2026, 10, 26, 10), dt.datetime(2026, 11, 2, 5, tzinfo=UTC)),  # EDT talk, EST midnight (UTC-5)
        (wall(2027, 3, 8, 23, 59), dt.datetime(2027, 3, 15, 4, tzinfo=UTC)),
        (wall(2027, 11, 1, 0, 0), dt.datetime(2027, 11, 8, 5, tzinfo=UTC)),
        (wall(2026, 3, 8, 1, 59), dt.datetime(2026, 3, 15, 4, tzinfo=UTC)),  # on the day of the change itself
        (wall(2026, 11, 1, 23, 59), dt.datetime(2026, 11, 8, 5, tzinfo=UTC)),
    ]
    for talk, end in cases:
        s = party_snapshot(doc, call(talk, talked=True))
        violation = rule("us_pause_after_conversation", s, talk + dt.timedelta(hours=1))
        assert violation is not None and violation.retry_at == end, talk
        assert end.astimezone(NEW_YORK).time() == dt.time(0)
        assert rule("us_pause_after_conversation", s, end - dt.timedelta(microseconds=1)) is not None
        assert rule("us_pause_after_conversation", s, end) is None


def test_given_a_week_that_crosses_a_dst_change_then_the_full_week_ends_at_the_local_midnight() -> None:
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    s = party_snapshot(doc, *(call(wall(2027, 11, d, 12)) for d in range(1, 8)))  # 2027-11-07: EDT -> EST
    violation = rule("us_7_in_7", s, wall(2027, 11, 7, 18))
    assert violation is not None and violation.retry_at == dt.datetime(2027, 11, 8, 5, tzinfo=UTC)


def test_given_two_plausible_zones_then_the_pause_ends_at_the_latest_local_midnight() -> None:
    # 22:30 in Los Angeles is 01:30 the next day in New York: the New York date is a day later.
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    talk = wall(2026, 6, 1, 22, 30, tz=LOS_ANGELES)
    s = party_snapshot(doc, call(talk, talked=True), number_zones=("America/Los_Angeles",))
    violation = rule("us_pause_after_conversation", s, talk + dt.timedelta(hours=1))
    assert violation is not None
    assert violation.retry_at == wall(2026, 6, 9, 0, tz=NEW_YORK)  # later than LA's 2026-06-08 00:00
    assert "on 2026-06-02 (local date, America/New_York)" in violation.message_en
    assert "the pause ends 2026-06-09 00:00 America/New_York" in violation.message_en
    assert rule("us_pause_after_conversation", s, wall(2026, 6, 8, 23, 59, tz=NEW_YORK)) is not None


def test_given_a_conversation_recorded_after_the_instant_then_the_retry_waits_for_its_pause_too() -> None:
    doc = reg_f(calling_window={"weekdays": ALL_DAY})
    s = party_snapshot(doc, call(wall(2026, 6, 1, 10), talked=True), call(wall(2026, 6, 5, 10), talked=True))
    violation = rule("us_pause_after_conversation", s, wall(2026, 6, 3, 12))
    assert violation is not None and violation.retry_at == wall(2026, 6, 12, 0)
    assert "the pause ends 2026-06-08 00:00" in violation.message_en  # the pause running now


def test_given_calendar_days_then_the_look_back_still_covers_every_rule() -> None:
    assert lookback(reg_f()) >= dt.timedelta(days=8)
    assert lookback(reg_f(us_style={"attempts_in_7_days_cap": None, "pause_after_conversation_days": 30})) \
        >= dt.timedelta(days=31)


# --- hypothesis against an independent reading --------------------------------------------------------

ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
         "America/Anchorage", "Pacific/Honolulu", "Asia/Shanghai")
"""Zones whose local midnight always exists once (their clocks change at 02:00, or never)."""
DST_DAYS = (dt.date(2026, 3, 8), dt.date(2026, 11, 1), dt.date(2027, 3, 14), dt.date(2027, 11, 7))
PROPERTY = settings(max_examples=int(os.environ.get("DIALER_PROPERTY_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def midnight(day: dt.date, name: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(name)).astimezone(UTC)


def reference_zones(s: Snapshot) -> list[str]:
    """``recorded_and_numbers``: the party's zone (else the client's default) and its numbers'."""
    zones = {s.party.time_zone or s.policy.default_time_zone}
    for number in s.numbers:
        zones.update([number.time_zone] if number.time_zone else number.prefix_zones)
    return sorted(zones)


def too_many_calls(s: Snapshot, t: dt.datetime) -> bool:
    """Calling at ``t`` would make 8 calls on some 7 consecutive local days, in some zone."""
    cap = s.policy.us_style.attempts_in_7_days_cap
    assert cap is not None
    for name in reference_zones(s):
        tz = ZoneInfo(name)
        day = t.astimezone(tz).date()
        dates = [a.started_at.astimezone(tz).date() for a in s.attempts if a.direction == "outbound"]
        for last in (day + dt.timedelta(days=k) for k in range(7)):
            if sum(1 for d in dates if last - dt.timedelta(days=6) <= d <= last) >= cap:
                return True
    return False


def in_a_pause(s: Snapshot, t: dt.datetime) -> bool:
    """``t`` lies on one of the 7 local days starting with the date of a conversation, in some zone."""
    for name in reference_zones(s):
        tz = ZoneInfo(name)
        for a in s.attempts:
            if a.conversation and a.started_at <= t:
                first = a.started_at.astimezone(tz).date()
                if first <= t.astimezone(tz).date() <= first + dt.timedelta(days=6):
                    return True
    return False


def reference_earliest(s: Snapshot, at: dt.datetime, refused: Any) -> dt.datetime:
    """The first of ``at`` and the local midnights after it (in any zone) that is not refused."""
    if not refused(s, at):
        return at
    days = [at.date() + dt.timedelta(days=k) for k in range(-1, 30)]
    candidates = sorted({m for day in days for name in reference_zones(s) if (m := midnight(day, name)) > at})
    return next(t for t in candidates if not refused(s, t))


@st.composite
def instants(draw: st.DrawFn) -> dt.datetime:
    """Near a DST change, often exactly at, or a minute either side of, a local midnight."""
    day = draw(st.sampled_from(DST_DAYS)) + dt.timedelta(days=draw(st.integers(-9, 9)))
    name = draw(st.sampled_from(ZONES))
    kind = draw(st.sampled_from(["midnight", "before", "after", "any"]))
    base = midnight(day, name)
    if kind == "midnight":
        return base
    if kind == "before":
        return base - dt.timedelta(seconds=draw(st.sampled_from([1, 60])))
    if kind == "after":
        return base + dt.timedelta(seconds=draw(st.sampled_from([1, 60])))
    return base + dt.timedelta(minutes=draw(st.integers(0, 24 * 60 - 1)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Snapshot, dt.datetime]:
    party_zone = draw(st.one_of(st.none(), st.sampled_from(ZONES)))
    number_zones = tuple(sorted(draw(st.sets(st.sampled_from(ZONES), max_size=2))))
    doc = reg_f(calling_window={"weekdays": ALL_DAY}, caps=NO_DAILY_CAPS, default_time_zone=draw(st.sampled_from(ZONES)),
                us_style={"attempts_in_7_days_cap": draw(st.integers(1, 8))})
    at = draw(instants())
    history = []
    for _ in range(draw(st.integers(0, 14))):
        offset = draw(st.one_of(st.integers(-10 * 86400, 2 * 86400), st.integers(-86400, 86400)))
        started = at + dt.timedelta(seconds=offset)
        if draw(st.booleans()):  # snap to a local midnight or the minute before one
            midnight_at = midnight(started.astimezone(ZoneInfo(draw(st.sampled_from(ZONES)))).date(),
                                   draw(st.sampled_from(ZONES)))
            started = midnight_at - dt.timedelta(seconds=draw(st.sampled_from([0, 60])))
        history.append(call(started, talked=draw(st.integers(0, 4)) == 0))
    s = party_snapshot(doc, *sorted(history, key=lambda a: a.started_at), party_zone=party_zone,
                       number_zones=number_zones)
    return s, at


@PROPERTY
@given(case=cases())
def test_the_seven_in_seven_rule_refuses_exactly_when_the_reference_does_and_retries_at_its_earliest(
    case: tuple[Snapshot, dt.datetime],
) -> None:
    s, at = case
    violation = rule("us_7_in_7", s, at)
    assert (violation is not None) == too_many_calls(s, at)
    if violation is not None:
        assert violation.retry_at == reference_earliest(s, at, too_many_calls)


@PROPERTY
@given(case=cases())
def test_the_pause_refuses_exactly_when_the_reference_does_and_retries_at_its_earliest(
    case: tuple[Snapshot, dt.datetime],
) -> None:
    s, at = case
    violation = rule("us_pause_after_conversation", s, at)
    assert (violation is not None) == in_a_pause(s, at)
    if violation is not None:
        assert violation.retry_at == reference_earliest(s, at, in_a_pause)


@PROPERTY
@given(case=cases())
def test_the_decision_is_the_reference_with_both_rules_together(case: tuple[Snapshot, dt.datetime]) -> None:
    s, at = case

    def refused(s: Snapshot, t: dt.datetime) -> bool:
        return too_many_calls(s, t) or in_a_pause(s, t)

    decision = decide_number(s, s.numbers[0], at)
    assert decision.allowed == (not refused(s, at))
    assert decision.next_allowed_at == reference_earliest(s, at, refused)


@PROPERTY
@given(case=cases())
def test_the_look_back_loads_every_call_the_calendar_day_rules_can_see(case: tuple[Snapshot, dt.datetime]) -> None:
    s, at = case
    since = at - lookback(s.policy)
    loaded = dataclasses.replace(s, attempts=tuple(a for a in s.attempts if a.started_at >= since))
    full, read = decide_number(s, s.numbers[0], at), decide_number(loaded, loaded.numbers[0], at)
    assert (read.allowed, read.next_allowed_at, read.violations) == (full.allowed, full.next_allowed_at, full.violations)
