"""Local calendar arithmetic: midnights, windows and openings across DST changes and holidays.

Transitions used (checked against zoneinfo):
- America/New_York 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC); 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).
- America/Havana 2026-03-08 00:00 -> 01:00 (05:00 UTC, midnight skipped);
  2026-11-01 01:00 CDT -> 00:00 CST (05:00 UTC, midnight occurs twice).
- Asia/Beirut 2026-03-29 00:00 -> 01:00 (22:00 UTC the day before, midnight skipped);
  2026-10-25 00:00 -> 2026-10-24 23:00 (21:00 UTC, the last hour of the 24th occurs twice).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.compliance.decide import decide_number
from dialer.compliance.localtime import (
    local_instant,
    next_opening,
    start_of_day,
    start_of_next_day,
    window_open,
)
from dialer.compliance.snapshot import AttemptFact, NumberFact, PartyFact, Snapshot
from dialer.policy.document import PolicyDocument
from dialer.policy.presets import build_policy

UTC = dt.timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
HAVANA = ZoneInfo("America/Havana")
BEIRUT = ZoneInfo("Asia/Beirut")
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def every_day(start: str, end: str, **window: Any) -> PolicyDocument:
    weekdays = {day: [{"start": start, "end": end}] for day in WEEK}
    return build_policy("agency-default", {"calling_window": {"weekdays": weekdays, **window}})


def agency(**window: Any) -> PolicyDocument:
    return build_policy("agency-default", {"calling_window": window} if window else None)


# --- Asia/Shanghai: no DST ------------------------------------------------------------------------


def test_shanghai_midnights_and_instants() -> None:
    at = utc(2026, 6, 10, 7)  # 15:00 Shanghai
    assert start_of_day(at, SHANGHAI) == utc(2026, 6, 9, 16)
    assert start_of_next_day(at, SHANGHAI) == utc(2026, 6, 10, 16)
    assert start_of_next_day(utc(2026, 6, 10, 16), SHANGHAI) == utc(2026, 6, 11, 16)  # midnight itself
    assert start_of_next_day(utc(2026, 6, 10, 15, 59, 59), SHANGHAI) == utc(2026, 6, 10, 16)
    assert local_instant(dt.date(2026, 6, 10), dt.time(8), SHANGHAI) == utc(2026, 6, 10, 0)
    assert local_instant(dt.date(2026, 6, 10), None, SHANGHAI) == utc(2026, 6, 10, 16)


def test_shanghai_window_and_openings() -> None:
    doc = agency()
    assert window_open(doc, utc(2026, 6, 10, 0), SHANGHAI)  # 08:00
    assert not window_open(doc, utc(2026, 6, 9, 23, 59, 59), SHANGHAI)  # 07:59:59
    assert window_open(doc, utc(2026, 6, 10, 13, 59, 59), SHANGHAI)  # 21:59:59
    assert not window_open(doc, utc(2026, 6, 10, 14), SHANGHAI)  # 22:00
    assert next_opening(doc, utc(2026, 6, 10, 14), SHANGHAI) == utc(2026, 6, 11, 0)
    assert next_opening(doc, utc(2026, 6, 10, 3), SHANGHAI) == utc(2026, 6, 10, 3)  # already open


def test_two_intervals_a_day_open_at_the_second_start() -> None:
    weekdays = {day: [{"start": "09:00", "end": "12:00"}, {"start": "14:00", "end": "20:00"}] for day in WEEK}
    doc = build_policy("agency-default", {"calling_window": {"weekdays": weekdays}})
    noon = utc(2026, 6, 10, 4)  # 12:00 Shanghai
    assert not window_open(doc, noon, SHANGHAI)
    assert next_opening(doc, noon, SHANGHAI) == utc(2026, 6, 10, 6)


def test_window_to_midnight_runs_into_next_days_window() -> None:
    doc = every_day("00:00", "24:00")
    assert window_open(doc, utc(2026, 6, 10, 15, 59, 59), SHANGHAI)
    assert window_open(doc, utc(2026, 6, 10, 16), SHANGHAI)


# --- weekly and dated exceptions ------------------------------------------------------------------


def test_closed_sunday_skips_to_monday() -> None:
    doc = agency(weekdays={"sun": []})
    saturday_late = utc(2026, 6, 13, 14, 30)  # Sat 22:30 Shanghai
    assert next_opening(doc, saturday_late, SHANGHAI) == utc(2026, 6, 15, 0)  # Mon 08:00
    sunday_noon = utc(2026, 6, 14, 4)
    assert not window_open(doc, sunday_noon, SHANGHAI)
    party = PartyFact(id=1, case_id=1, role="debtor")
    s = Snapshot(policy=doc, policy_version=1, party=party, numbers=(NumberFact(id=1, e164="+8613800000001"),))
    decision = decide_number(s, s.numbers[0], sunday_noon)
    assert not decision.allowed and decision.next_allowed_at == utc(2026, 6, 15, 0)


def test_dated_holiday_with_its_own_window() -> None:
    doc = agency(holidays=[{"date": "2026-06-10", "intervals": [{"start": "10:00", "end": "12:00"}], "note": "client"}])
    assert not window_open(doc, utc(2026, 6, 10, 1), SHANGHAI)  # 09:00
    assert next_opening(doc, utc(2026, 6, 10, 1), SHANGHAI) == utc(2026, 6, 10, 2)  # 10:00
    assert window_open(doc, utc(2026, 6, 10, 3, 59, 59), SHANGHAI)  # 11:59:59
    assert next_opening(doc, utc(2026, 6, 10, 4), SHANGHAI) == utc(2026, 6, 11, 0)  # back to 08:00 the next day


def test_dated_holiday_closed_all_day() -> None:
    doc = agency(holidays=[{"date": "2026-06-10"}])
    assert next_opening(doc, utc(2026, 6, 9, 14), SHANGHAI) == utc(2026, 6, 11, 0)


def test_public_holidays_closed_when_their_window_is_empty() -> None:
    """``on_calendar_holidays: []`` closes the public holidays (it used to be ignored as falsy)."""
    national_day = utc(2026, 10, 1, 2)  # 10:00 Shanghai, National Day
    assert window_open(agency(), national_day, SHANGHAI)  # None: holidays follow their weekday
    closed = agency(on_calendar_holidays=[])
    assert not window_open(closed, national_day, SHANGHAI)
    assert next_opening(closed, national_day, SHANGHAI) == utc(2026, 10, 8, 0)  # Oct 1-7 are holidays
    short = agency(on_calendar_holidays=[{"start": "10:00", "end": "16:00"}])
    assert not window_open(short, utc(2026, 10, 1, 1), SHANGHAI)  # 09:00
    assert next_opening(short, utc(2026, 10, 1, 1), SHANGHAI) == national_day
    no_calendar = build_policy("agency-default", {"holiday_calendar": "none", "calling_window": {"on_calendar_holidays": []}})
    assert window_open(no_calendar, national_day, SHANGHAI)


def test_dated_holiday_beats_public_holiday_window() -> None:
    doc = agency(on_calendar_holidays=[], holidays=[{"date": "2026-10-01", "intervals": [{"start": "09:00", "end": "10:00"}]}])
    assert window_open(doc, utc(2026, 10, 1, 1, 30), SHANGHAI)


# --- America/New_York spring forward (2026-03-08) and fall back (2026-11-01) ----------------------


def test_new_york_spring_forward_midnights() -> None:
    assert start_of_next_day(utc(2026, 3, 7, 17), NEW_YORK) == utc(2026, 3, 8, 5)  # EST midnight
    assert start_of_day(utc(2026, 3, 8, 17), NEW_YORK) == utc(2026, 3, 8, 5)
    assert start_of_next_day(utc(2026, 3, 8, 17), NEW_YORK) == utc(2026, 3, 9, 4)  # EDT midnight
    assert start_of_next_day(utc(2026, 3, 8, 17), NEW_YORK) - start_of_day(utc(2026, 3, 8, 17), NEW_YORK) == dt.timedelta(hours=23)


def test_new_york_fall_back_midnights() -> None:
    assert start_of_day(utc(2026, 11, 1, 17), NEW_YORK) == utc(2026, 11, 1, 4)  # EDT midnight
    assert start_of_next_day(utc(2026, 11, 1, 17), NEW_YORK) == utc(2026, 11, 2, 5)  # EST midnight
    assert start_of_next_day(utc(2026, 11, 1, 17), NEW_YORK) - start_of_day(utc(2026, 11, 1, 17), NEW_YORK) == dt.timedelta(hours=25)
    # Both readings of 01:30 belong to the same day.
    assert start_of_next_day(utc(2026, 11, 1, 5, 30), NEW_YORK) == start_of_next_day(utc(2026, 11, 1, 6, 30), NEW_YORK)


def test_new_york_skipped_and_repeated_wall_times() -> None:
    assert local_instant(dt.date(2026, 3, 8), dt.time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7)  # the jump
    assert local_instant(dt.date(2026, 3, 8), dt.time(2, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    assert local_instant(dt.date(2026, 3, 8), dt.time(3, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    assert local_instant(dt.date(2026, 3, 8), dt.time(1, 59), NEW_YORK) == utc(2026, 3, 8, 6, 59)
    assert local_instant(dt.date(2026, 11, 1), dt.time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)  # first reading


def test_new_york_0800_opening_on_change_days() -> None:
    doc = every_day("08:00", "21:00")
    assert next_opening(doc, utc(2026, 3, 8, 5), NEW_YORK) == utc(2026, 3, 8, 12)  # 08:00 EDT
    assert next_opening(doc, utc(2026, 3, 7, 2), NEW_YORK) == utc(2026, 3, 7, 13)  # 08:00 EST the day before
    assert next_opening(doc, utc(2026, 11, 1, 4), NEW_YORK) == utc(2026, 11, 1, 13)  # 08:00 EST
    assert next_opening(doc, utc(2026, 10, 31, 1), NEW_YORK) == utc(2026, 10, 31, 12)  # 08:00 EDT
    assert not window_open(doc, utc(2026, 11, 2, 2), NEW_YORK)  # 21:00 EST on Nov 1


def test_new_york_window_0130_0300_on_spring_forward_day() -> None:
    doc = every_day("01:30", "03:00")
    assert next_opening(doc, utc(2026, 3, 8, 5), NEW_YORK) == utc(2026, 3, 8, 6, 30)  # 01:30 EST
    assert window_open(doc, utc(2026, 3, 8, 6, 59, 59), NEW_YORK)  # 01:59:59 EST
    assert not window_open(doc, utc(2026, 3, 8, 7), NEW_YORK)  # 03:00 EDT: the window is over (30 min that day)
    assert next_opening(doc, utc(2026, 3, 8, 7), NEW_YORK) == utc(2026, 3, 9, 5, 30)  # 01:30 EDT next day


def test_new_york_window_inside_the_skipped_hour_never_opens_that_day() -> None:
    doc = every_day("02:00", "03:00")
    assert next_opening(doc, utc(2026, 3, 8, 5), NEW_YORK) == utc(2026, 3, 9, 6)  # 02:00 EDT on the 9th


def test_new_york_window_starting_in_the_skipped_hour_opens_at_the_jump() -> None:
    doc = every_day("02:30", "04:00")
    assert next_opening(doc, utc(2026, 3, 8, 5), NEW_YORK) == utc(2026, 3, 8, 7)  # 03:00 EDT
    assert window_open(doc, utc(2026, 3, 8, 7), NEW_YORK)


def test_new_york_fall_back_second_reading_of_a_start() -> None:
    """Window from 01:30: at 01:10 EST (after 01:59 EDT) it reopens at 01:30 EST, not the next day."""
    doc = every_day("01:30", "22:00")
    assert window_open(doc, utc(2026, 11, 1, 5, 59), NEW_YORK)  # 01:59 EDT
    at = utc(2026, 11, 1, 6, 10)  # 01:10 EST
    assert not window_open(doc, at, NEW_YORK)
    assert next_opening(doc, at, NEW_YORK) == utc(2026, 11, 1, 6, 30)  # 01:30 EST


def test_new_york_fall_back_moves_the_clock_back_into_the_window() -> None:
    """Window 00:00-01:30: closed at 01:45 EDT, open again at 02:00 EDT = 01:00 EST."""
    doc = every_day("00:00", "01:30")
    at = utc(2026, 11, 1, 5, 45)  # 01:45 EDT
    assert not window_open(doc, at, NEW_YORK)
    assert next_opening(doc, at, NEW_YORK) == utc(2026, 11, 1, 6)
    assert window_open(doc, utc(2026, 11, 1, 6), NEW_YORK)
    assert not window_open(doc, utc(2026, 11, 1, 6, 30), NEW_YORK)  # 01:30 EST
    assert next_opening(doc, utc(2026, 11, 1, 6, 30), NEW_YORK) == utc(2026, 11, 2, 5)  # 00:00 EST on the 2nd


# --- zones whose midnight is skipped or repeated -----------------------------------------------


def test_havana_skipped_midnight_next_day_starts_at_the_jump() -> None:
    saturday = utc(2026, 3, 7, 17)  # 12:00 CST
    jump = utc(2026, 3, 8, 5)  # 00:00 CST = 01:00 CDT
    assert start_of_next_day(saturday, HAVANA) == jump
    assert jump.astimezone(HAVANA).replace(tzinfo=None) == dt.datetime(2026, 3, 8, 1)
    assert (jump - dt.timedelta(seconds=1)).astimezone(HAVANA).date() == dt.date(2026, 3, 7)
    assert start_of_day(utc(2026, 3, 8, 16), HAVANA) == jump
    assert local_instant(dt.date(2026, 3, 8), dt.time(0), HAVANA) == jump
    assert local_instant(dt.date(2026, 3, 7), None, HAVANA) == jump


def test_havana_repeated_midnight_day_starts_at_the_first() -> None:
    assert start_of_day(utc(2026, 11, 1, 16), HAVANA) == utc(2026, 11, 1, 4)  # 00:00 CDT
    assert start_of_next_day(utc(2026, 10, 31, 16), HAVANA) == utc(2026, 11, 1, 4)
    assert start_of_next_day(utc(2026, 11, 1, 5, 30), HAVANA) == utc(2026, 11, 2, 5)  # from the second 00:30


def test_beirut_skipped_and_repeated_midnights() -> None:
    assert start_of_next_day(utc(2026, 3, 28, 10), BEIRUT) == utc(2026, 3, 28, 22)  # 01:00 EEST
    assert start_of_next_day(utc(2026, 10, 24, 10), BEIRUT) == utc(2026, 10, 24, 22)  # 00:00 EET after two 23:xx
    late = every_day("23:30", "24:00")
    at = utc(2026, 10, 24, 21)  # the second 23:00
    assert not window_open(late, at, BEIRUT)
    assert next_opening(late, at, BEIRUT) == utc(2026, 10, 24, 21, 30)  # the second 23:30


def test_daily_cap_in_a_zone_with_skipped_midnight_resets_at_the_jump() -> None:
    doc = build_policy("agency-default", {"default_time_zone": "America/Havana",
                                          "calling_window": {"weekdays": {d: [{"start": "00:00", "end": "24:00"}] for d in WEEK}}})
    party = PartyFact(id=1, case_id=1, role="third_party", relation="friend")
    attempts = tuple(AttemptFact(utc(2026, 3, 7, 13 + i), 1, "no_answer") for i in range(6))
    s = Snapshot(policy=doc, policy_version=1, party=party, numbers=(NumberFact(id=1, e164="+5370000000"),), attempts=attempts)
    decision = decide_number(s, s.numbers[0], utc(2026, 3, 7, 23))
    assert [v.rule for v in decision.violations] == ["third_party_daily_cap"]
    assert decision.next_allowed_at == utc(2026, 3, 8, 5)


@pytest.mark.parametrize("name", ["America/New_York", "America/Havana", "Asia/Beirut", "Europe/London", "Australia/Sydney"])
def test_every_local_day_of_2026_starts_where_the_previous_ends(name: str) -> None:
    tz = ZoneInfo(name)
    t = start_of_day(utc(2026, 1, 1, 12), tz)
    for _ in range(365):
        following = start_of_next_day(t, tz)
        assert following.astimezone(tz).date() == t.astimezone(tz).date() + dt.timedelta(days=1)
        assert (following - dt.timedelta(seconds=1)).astimezone(tz).date() == t.astimezone(tz).date()
        assert start_of_day(following + dt.timedelta(hours=12), tz) == following
        t = following


def test_zones_whose_windows_overlap_only_after_a_dst_change_get_that_far_opening() -> None:
    """Shanghai 08:00-08:30 meets London 00:00-00:30 only while London is on GMT (from 25 Oct 2026):
    the common opening is months away, not "never" (the search used to stop after 64 steps)."""
    weekdays = {day: [{"start": "00:00", "end": "00:30"}, {"start": "08:00", "end": "08:30"}] for day in WEEK}
    doc = build_policy("agency-default", {"calling_window": {"weekdays": weekdays}})
    party = PartyFact(id=1, case_id=1, role="debtor")
    s = Snapshot(policy=doc, policy_version=1, party=party,
                 numbers=(NumberFact(id=1, e164="+447700900000", time_zone="Europe/London"),))
    decision = decide_number(s, s.numbers[0], utc(2026, 4, 1))
    assert decision.next_allowed_at == utc(2026, 10, 26, 0)  # 08:00 Shanghai = 00:00 GMT
    assert decide_number(s, s.numbers[0], utc(2026, 10, 26, 0)).allowed
