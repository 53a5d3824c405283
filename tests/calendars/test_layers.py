"""The calendars as values: the shipped data, an entered year over it, what is missing. Pure."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.calendars.service import missing_years
from dialer.kit.calendars import (
    HOLIDAY,
    WORKDAY,
    SpecialDay,
    build,
    is_public_holiday,
    is_working_day,
    ordinary,
    shipped,
)

D = dt.date
YEAR = 2030
kinds = st.sampled_from([HOLIDAY, WORKDAY])
days_of_year = st.dates(min_value=D(YEAR, 1, 1), max_value=D(YEAR, 12, 31))
special_days = st.dictionaries(days_of_year, kinds.map(lambda kind: SpecialDay(kind, kind)), max_size=40)


def test_given_every_day_of_2025_and_2026_then_the_shipped_data_answers_as_chinese_calendar_does() -> None:
    day = D(2025, 1, 1)
    while day.year < 2027:
        assert is_working_day("cn", day) == chinese_calendar.is_workday(day), day
        holiday, name = chinese_calendar.get_holiday_detail(day)
        assert is_public_holiday("cn", day) == bool(holiday and name), day
        day += dt.timedelta(days=1)


def test_given_a_year_nothing_ships_then_its_days_are_ordinary_and_it_is_not_known() -> None:
    cn = shipped().get("cn")

    assert cn.knows(2026) and not cn.knows(2027)
    assert cn.is_working_day(D(2027, 2, 8)) and not cn.is_public_holiday(D(2027, 2, 8))
    assert not cn.is_working_day(D(2027, 2, 14))  # a Sunday


def test_given_a_calendar_nobody_entered_then_it_is_monday_to_friday() -> None:
    assert shipped().get("us") is ordinary("us")
    assert [ordinary("us").is_working_day(D(2026, 10, day)) for day in range(1, 8)] == [True, True, False, False,
                                                                                         True, True, True]


@settings(max_examples=200, deadline=None)
@given(shipped_days=special_days, entered_days=special_days, probe=days_of_year)
def test_given_shipped_and_entered_days_then_an_entered_day_wins_and_every_other_day_follows_the_shipped_or_weekday(
        shipped_days, entered_days, probe) -> None:
    calendars = build({"cn": {YEAR: entered_days}}, revision=1, shipped={"cn": {YEAR: shipped_days}})
    cn = calendars.get("cn")

    expected = entered_days.get(probe) or shipped_days.get(probe)
    if expected is None:
        assert cn.is_working_day(probe) == (probe.weekday() < 5) and not cn.is_public_holiday(probe)
    else:
        assert cn.is_working_day(probe) == (expected.kind == WORKDAY)
        assert cn.is_public_holiday(probe) == (expected.kind == HOLIDAY)
    assert cn.knows(YEAR) and cn.entered_years == {YEAR}


@settings(max_examples=100, deadline=None)
@given(entered_days=special_days, other_year_day=st.dates(min_value=D(YEAR + 1, 1, 1), max_value=D(YEAR + 1, 12, 31)),
       kind=kinds)
def test_given_an_entered_year_then_it_leaves_the_shipped_days_of_other_years_alone(
        entered_days, other_year_day, kind) -> None:
    shipped_data = {"cn": {YEAR + 1: {other_year_day: SpecialDay(kind, "x")}}}

    cn = build({"cn": {YEAR: entered_days}}, revision=1, shipped=shipped_data).get("cn")

    assert cn.is_working_day(other_year_day) == (kind == WORKDAY)
    assert cn.years == {YEAR, YEAR + 1} and cn.entered_years == {YEAR}


def test_given_the_date_then_next_year_is_missing_from_1_december_and_this_year_always() -> None:
    calendars = shipped()  # cn: up to 2026

    assert missing_years(calendars, D(2026, 11, 30)) == []
    assert [(m.calendar, m.year) for m in missing_years(calendars, D(2026, 12, 1))] == [("cn", 2027)]
    assert [(m.calendar, m.year) for m in missing_years(calendars, D(2027, 1, 2))] == [("cn", 2027)]
    assert [(m.calendar, m.year) for m in missing_years(calendars, D(2027, 12, 1))] == [("cn", 2027), ("cn", 2028)]


def test_given_another_calendar_with_data_then_its_missing_years_are_named_too() -> None:
    calendars = build({"cn": {2027: {}}, "cn-bank-x": {2026: {}}}, revision=2)

    assert [(m.calendar, m.year) for m in missing_years(calendars, D(2026, 12, 24))] == [("cn-bank-x", 2027)]
