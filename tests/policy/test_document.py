from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from dialer.policy.document import OUTCOMES, RULE_IDS, RULES, CallingWindow, Interval, PolicyDocument

DESIGN_TABLE_IDS = (
    "seat_only",
    "manual_only",
    "sms_blocked",
    "record_everything",
    "calling_window",
    "calling_window_no_overlap",
    "third_party_daily_cap",
    "third_party_hourly_cap",
    "debtor_number_daily_cap",
    "debtor_conversation_daily_cap",
    "stop_contact",
    "invalid_number",
    "wrap_up_first",
    "no_unauthorised_waiver",
)


def make(**fields: Any) -> PolicyDocument:
    return PolicyDocument.model_validate({"name": "test", **fields})


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | str, ...]]:
    return [error["loc"] for error in exc.value.errors()]


def day(*intervals: tuple[str, str]) -> list[dict[str, str]]:
    return [{"start": start, "end": end} for start, end in intervals]


def test_rule_ids_are_the_design_table_in_order_then_the_extra_rules() -> None:
    assert RULE_IDS[: len(DESIGN_TABLE_IDS)] == DESIGN_TABLE_IDS
    assert set(RULE_IDS[len(DESIGN_TABLE_IDS) :]) == {
        "third_party_after_debtor_unreachable",
        "us_7_in_7",
        "us_pause_after_conversation",
        "us_third_party_once",
    }
    assert all(rule.name_zh and rule.title for rule in RULES)


def test_given_no_settings_when_built_then_defaults_are_the_design_table() -> None:
    doc = make()

    assert doc.language == "zh-CN"
    assert doc.default_time_zone == "Asia/Shanghai"
    assert doc.rules.seat_only and doc.rules.manual_only and doc.rules.record_everything
    assert doc.rules.sms_allowed is False
    assert doc.rules.stop_contact and doc.rules.invalid_number
    assert doc.rules.wrap_up_first and doc.rules.no_unauthorised_waiver
    for weekday in range(7):
        assert doc.calling_window.weekdays.for_weekday(weekday) == (Interval(start="08:00", end="22:00"),)
    assert doc.calling_window.unknown_zone_strategy == "all_plausible"
    assert doc.caps.third_party_daily_cap == 6
    assert doc.caps.third_party_hourly_cap == 2
    assert doc.caps.third_party_hourly_window_minutes == 60
    assert doc.caps.debtor_number_daily_cap == 6
    assert doc.caps.debtor_conversation_daily_cap == 3
    assert doc.counting.counted_outcomes == OUTCOMES
    assert set(OUTCOMES) == {"answered", "no_answer", "busy", "rejected", "failed", "voicemail", "canceled"}
    assert doc.counting.conversation_counts_inbound is True
    assert doc.third_party.only_after_debtor_unreachable is None
    assert doc.us_style.attempts_in_7_days_cap is None
    assert doc.us_style.pause_after_conversation_days is None
    assert doc.us_style.third_party_spoken_once is False
    ob = doc.obligations
    assert (ob.min_calls_per_week_contactable, ob.min_calls_per_month_lost) == (3, 4)
    assert (ob.follow_up_days_effective, ob.follow_up_days_other) == (1, 2)
    assert (ob.callable_from_overdue_day, ob.no_contact_days_before_field_visit) == (8, 3)
    assert ob.ptp_reminder_working_days_before == 1
    assert ob.ptp_due_day_calls == ("09:00", "12:30", "18:30")
    assert doc.enabled_rules() == DESIGN_TABLE_IDS


def test_document_is_frozen_and_hashable() -> None:
    doc = make()
    with pytest.raises(ValidationError):
        doc.caps.third_party_daily_cap = 9  # type: ignore[misc]
    assert hash(doc) == hash(make())


@pytest.mark.parametrize("bad", ["25:00", "24:00", "8:00", "08:60", "0800", ""])
def test_start_must_be_a_time_of_day(bad: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Interval(start=bad, end="22:00")
    assert error_locs(exc) == [("start",)]


def test_end_may_be_midnight_but_not_later() -> None:
    assert Interval(start="20:00", end="24:00").as_times() == (dt.time(20), None)
    with pytest.raises(ValidationError) as exc:
        Interval(start="20:00", end="24:01")
    assert error_locs(exc) == [("end",)]


@pytest.mark.parametrize(("start", "end"), [("12:00", "12:00"), ("13:00", "12:00")])
def test_start_must_be_before_end(start: str, end: str) -> None:
    with pytest.raises(ValidationError, match="must be before end"):
        Interval(start=start, end=end)


def test_overlapping_intervals_are_refused_and_touching_ones_are_sorted() -> None:
    with pytest.raises(ValidationError, match="overlap") as exc:
        make(calling_window={"weekdays": {"tue": day(("08:00", "12:00"), ("11:59", "14:00"))}})
    assert error_locs(exc) == [("calling_window", "weekdays", "tue")]

    doc = make(calling_window={"weekdays": {"tue": day(("14:00", "20:00"), ("09:00", "14:00"))}})
    assert [i.start for i in doc.calling_window.weekdays.tue] == ["09:00", "14:00"]


def test_unknown_key_anywhere_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        make(caps={"third_party_dayly_cap": 3})
    assert error_locs(exc) == [("caps", "third_party_dayly_cap")]


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "6"])
def test_caps_are_positive_whole_numbers(bad: object) -> None:
    with pytest.raises(ValidationError) as exc:
        make(caps={"debtor_number_daily_cap": bad})
    assert error_locs(exc) == [("caps", "debtor_number_daily_cap")]


def test_a_null_cap_switches_the_rule_off() -> None:
    doc = make(caps={"third_party_hourly_cap": None})
    assert "third_party_hourly_cap" not in doc.enabled_rules()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "asia/shanghai", "", "../etc/passwd"])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(ValidationError, match="unknown time zone") as exc:
        make(default_time_zone=zone)
    assert error_locs(exc) == [("default_time_zone",)]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("您好{debtor}", "unknown placeholder"),
        ("{client.__class__}", "unknown placeholder"),
        ("{}", "unknown placeholder"),
        ("{client!r}", "no format spec"),
        ("{client:>10}", "no format spec"),
        ("{client", "malformed"),
    ],
)
def test_whisper_uses_only_known_placeholders(template: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(whisper={"template": template})


def test_whisper_accepts_every_known_placeholder() -> None:
    text = "{party_role}{relation}{party_name}{client}{company}{agent_identity}"
    assert make(whisper={"third_party_reminder": text}).whisper.third_party_reminder == text


def test_counted_outcomes_are_canonical_and_never_empty() -> None:
    doc = make(counting={"counted_outcomes": ["busy", "answered", "busy"]})
    assert doc.counting.counted_outcomes == ("answered", "busy")
    with pytest.raises(ValidationError):
        make(counting={"counted_outcomes": []})
    with pytest.raises(ValidationError):
        make(counting={"counted_outcomes": ["missed"]})


def test_holidays_need_a_real_unique_date() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        make(calling_window={"holidays": [{"date": "2026-10-01"}, {"date": "2026-10-01"}]})
    with pytest.raises(ValidationError) as exc:
        make(calling_window={"holidays": [{"date": 20261001}]})
    assert error_locs(exc) == [("calling_window", "holidays", 0, "date")]


# --- window_for ----------------------------------------------------------------------------

WINDOW = CallingWindow.model_validate(
    {
        "weekdays": {"sat": day(("09:00", "12:00"), ("14:00", "18:00")), "sun": []},
        "holidays": [
            {"date": "2026-10-01", "note": "National Day"},
            {"date": "2026-10-04", "intervals": day(("10:00", "16:00"))},
        ],
        "on_calendar_holidays": day(("09:00", "20:00")),
    }
)


@pytest.mark.parametrize(
    ("day_", "calendar_holiday", "expected"),
    [
        (dt.date(2026, 9, 30), False, [(dt.time(8), dt.time(22))]),  # Wednesday
        (dt.date(2026, 10, 3), False, [(dt.time(9), dt.time(12)), (dt.time(14), dt.time(18))]),  # Saturday
        (dt.date(2026, 10, 11), False, []),  # Sunday, closed
        (dt.date(2026, 10, 1), True, []),  # dated holiday, closed: wins over everything
        (dt.date(2026, 10, 4), False, [(dt.time(10), dt.time(16))]),  # a Sunday with its own hours
        (dt.date(2026, 10, 2), True, [(dt.time(9), dt.time(20))]),  # public holiday from the calendar
        (dt.date(2026, 10, 2), False, [(dt.time(8), dt.time(22))]),  # same Friday, not a public holiday
    ],
)
def test_window_for_dated_holiday_then_calendar_then_weekday(
    day_: dt.date, calendar_holiday: bool, expected: list[tuple[dt.time, dt.time | None]]
) -> None:
    assert WINDOW.window_for(day_, calendar_holiday=calendar_holiday) == expected


def test_calendar_holidays_follow_the_weekday_unless_a_window_is_set() -> None:
    assert make().window_for(dt.date(2026, 10, 2), calendar_holiday=True) == [(dt.time(8), dt.time(22))]


def test_window_for_refuses_a_datetime() -> None:
    with pytest.raises(TypeError, match="local calendar date"):
        make().window_for(dt.datetime(2026, 10, 2, 12, tzinfo=dt.UTC))
