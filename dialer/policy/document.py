"""The client policy document: every rule of DESIGN.md §1 as validated, frozen data.

Every model forbids unknown keys, so a typo in a client's overrides is an error rather than a
silently ignored setting. Limits are positive integers or ``null`` (= rule off). Local times
are ``"HH:MM"`` strings; an interval is ``[start, end)`` and ``end`` may be ``"24:00"``.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
import re
import string
import zoneinfo
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from dialer.kit.zones import AGENCY_ZONE


@dataclass(frozen=True, slots=True)
class RuleInfo:
    id: str
    title: str
    name_zh: str


RULES: tuple[RuleInfo, ...] = (
    RuleInfo("seat_only", "Registered seats only", "专席专线外呼"),
    RuleInfo("manual_only", "Agent-attended calls only", "人工外呼（禁止预测式外呼）"),
    RuleInfo("sms_blocked", "SMS blocked", "禁止发送短信"),
    RuleInfo("record_everything", "Record every call", "全程录音留痕"),
    RuleInfo("calling_window", "Calling window", "拨打时段"),
    RuleInfo("calling_window_no_overlap", "Calling windows of the plausible zones never overlap", "各可能时区的拨打时段不重叠"),
    RuleInfo("third_party_daily_cap", "Third-party daily cap", "第三方每日拨打上限"),
    RuleInfo("third_party_hourly_cap", "Third-party hourly cap", "第三方每小时拨打上限"),
    RuleInfo("debtor_number_daily_cap", "Debtor number daily cap", "债务人单号码每日拨打上限"),
    RuleInfo("debtor_conversation_daily_cap", "Debtor conversation daily cap", "债务人每日有效通话上限"),
    RuleInfo("stop_contact", "Stop-contact list", "停止联系（停催名单）"),
    RuleInfo("invalid_number", "Invalid numbers", "无效号码禁拨"),
    RuleInfo("wrap_up_first", "Notes before the next dial", "先填写催收记录再拨打"),
    RuleInfo("no_unauthorised_waiver", "No unauthorised waiver", "未经委托方书面授权不得减免"),
    RuleInfo("third_party_after_debtor_unreachable", "Third parties only after the debtor is unreachable", "债务人失联后方可联系第三方"),
    RuleInfo("us_7_in_7", "7 attempts in 7 days", "七日内最多七次"),
    RuleInfo("us_pause_after_conversation", "Pause after a conversation", "通话后暂停联系"),
    RuleInfo("us_third_party_once", "Third party spoken to once", "第三方仅通话一次"),
)
RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)
"""Every rule id a decision can cite; the first 14 are DESIGN.md's table, in its order."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
Outcome = Literal["answered", "no_answer", "busy", "rejected", "failed", "voicemail", "canceled"]
OUTCOMES: tuple[Outcome, ...] = typing.get_args(Outcome)
WHISPER_PLACEHOLDERS = frozenset({"party_role", "relation", "party_name", "client", "company", "agent_identity"})

DEFAULT_WHISPER = "本次通话对象：{party_role}（{relation}）{party_name}。您是受{client}委托的{company}工作人员，请以“{agent_identity}”身份表明来意。"
DEFAULT_THIRD_PARTY_REMINDER = "对方是第三方：不得透露任何债务信息，仅请其转告{party_name}回电。"

_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


# --- field types -------------------------------------------------------------------------


def _check_clock(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ValueError(f"{value!r} is not a local time; use HH:MM from 00:00 to 23:59")
    return value


def _check_end_clock(value: str) -> str:
    if value != "24:00" and not _CLOCK.fullmatch(value):
        raise ValueError(f"{value!r} is not an end time; use HH:MM from 00:00 to 24:00 (24:00 = midnight)")
    return value


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_zone(value: str) -> str:
    if value not in _known_zones():
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as {AGENCY_ZONE!r}")
    return value


def _check_template(value: str) -> str:
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise ValueError(f"malformed template: {exc}") from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in WHISPER_PLACEHOLDERS:
            allowed = ", ".join("{" + name + "}" for name in sorted(WHISPER_PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {{{field}}}; allowed: {allowed}")
        if spec or conversion:
            raise ValueError(f"placeholder {{{field}}} takes no format spec or conversion")
    return value


def _date_input(value: Any) -> Any:
    if isinstance(value, dt.datetime) or not isinstance(value, str | dt.date):
        raise ValueError("use an ISO date, YYYY-MM-DD")
    return value


Clock = Annotated[str, AfterValidator(_check_clock)]
EndClock = Annotated[str, AfterValidator(_check_end_clock)]
TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
Template = Annotated[str, AfterValidator(_check_template)]
Limit = Annotated[int, Field(ge=1, strict=True)] | None
"""A positive whole number, or ``null`` when the rule or obligation is off."""
LocalDate = Annotated[dt.date, BeforeValidator(_date_input)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Frozen):
    """A local-time interval ``[start, end)``; ``end`` ``"24:00"`` is midnight at the day's end."""

    start: Clock
    end: EndClock

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.start_minute >= self.end_minute:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)

    def as_times(self) -> tuple[dt.time, dt.time | None]:
        """``(start, end)`` as times; ``end`` is ``None`` for 24:00 (runs to midnight)."""
        end = None if self.end == "24:00" else dt.time.fromisoformat(self.end)
        return dt.time.fromisoformat(self.start), end


def _check_day(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    ordered = tuple(sorted(intervals, key=lambda interval: interval.start_minute))
    for before, after in zip(ordered, ordered[1:]):
        if after.start_minute < before.end_minute:
            raise ValueError(f"intervals {before.start}-{before.end} and {after.start}-{after.end} overlap")
    return ordered


DayWindow = Annotated[tuple[Interval, ...], AfterValidator(_check_day)]
"""The open intervals of one day, sorted, non-overlapping; empty means closed all day."""

_DAY_08_22: tuple[Interval, ...] = (Interval(start="08:00", end="22:00"),)


# --- the document's parts ----------------------------------------------------------------


class WeeklyWindow(_Frozen):
    mon: DayWindow = _DAY_08_22
    tue: DayWindow = _DAY_08_22
    wed: DayWindow = _DAY_08_22
    thu: DayWindow = _DAY_08_22
    fri: DayWindow = _DAY_08_22
    sat: DayWindow = _DAY_08_22
    sun: DayWindow = _DAY_08_22

    def for_weekday(self, weekday: int) -> tuple[Interval, ...]:
        return getattr(self, WEEKDAYS[weekday])


class Holiday(_Frozen):
    """A dated exception to the weekly window; empty ``intervals`` means closed all day."""

    date: LocalDate
    intervals: DayWindow = ()
    note: str = ""


def _check_holidays(holidays: tuple[Holiday, ...]) -> tuple[Holiday, ...]:
    ordered = tuple(sorted(holidays, key=lambda holiday: holiday.date))
    for before, after in zip(ordered, ordered[1:]):
        if before.date == after.date:
            raise ValueError(f"date {after.date.isoformat()} is listed twice")
    return ordered


ZoneSources = Literal["recorded_only", "recorded_and_numbers"]
ZONE_SOURCES_DESCRIPTION = (
    "Where the plausible time zones of a party come from; a call is allowed only when it is allowed in "
    "every one of them (calling window, local days of the caps). 'recorded_only': the zone recorded on "
    "the party, and only when none is recorded its numbers' zones and the client's default (as "
    "unknown_zone_strategy says). 'recorded_and_numbers': the party's recorded zone together with every "
    "one of its numbers' zones (a number's recorded zone, else every zone its prefix suggests), plus the "
    "client's default when the party has none recorded: with conflicting information, call only at times "
    "convenient in all the locations it indicates (Regulation F, the official interpretation of "
    "12 CFR 1006.6(b)(1)(i) in Supplement I to part 1006). Parties have no address zone in this data model, so an "
    "address is not a source."
)


class CallingWindow(_Frozen):
    """When a party may be called, in the called party's local time (rule ``calling_window``)."""

    weekdays: WeeklyWindow = WeeklyWindow()
    holidays: Annotated[tuple[Holiday, ...], AfterValidator(_check_holidays)] = ()
    on_calendar_holidays: DayWindow | None = None
    """Window on the holiday calendar's public holidays; ``None``: those days follow their weekday."""
    unknown_zone_strategy: Literal["all_plausible", "party_or_default"] = "all_plausible"
    """``all_plausible``: when the party's zone is unknown, allow a call only when it is allowed in
    every plausible zone (its numbers' zones, the client default). ``party_or_default``: use the
    client's default zone."""
    zone_sources: ZoneSources = Field("recorded_only", description=ZONE_SOURCES_DESCRIPTION)

    @model_validator(mode="after")
    def _sources_need_every_zone(self) -> CallingWindow:
        if self.zone_sources != "recorded_only" and self.unknown_zone_strategy != "all_plausible":
            raise ValueError(f"zone_sources {self.zone_sources!r} reads the numbers' zones; "
                             "it needs unknown_zone_strategy 'all_plausible'")
        return self

    def window_for(self, day: dt.date, *, calendar_holiday: bool = False) -> list[tuple[dt.time, dt.time | None]]:
        """Local intervals open on ``day``: a dated holiday first, then the calendar's public
        holidays (when ``calendar_holiday`` and a window is set for them), then the weekday."""
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise TypeError("window_for takes the called party's local calendar date, not a datetime")
        intervals = next((h.intervals for h in self.holidays if h.date == day), None)
        if intervals is None and calendar_holiday and self.on_calendar_holidays is not None:
            intervals = self.on_calendar_holidays
        if intervals is None:
            intervals = self.weekdays.for_weekday(day.weekday())
        return [interval.as_times() for interval in intervals]


class Switches(_Frozen):
    """On/off rules. Every preset shipped here keeps them on (SMS blocked); a client may switch
    one off, but then the agency's code of practice no longer guards that point for the client.
    ``manual_only`` off would allow agentless/predictive dialling: never do it for collections."""

    seat_only: bool = True
    manual_only: bool = True
    sms_allowed: bool = False
    record_everything: bool = True
    stop_contact: bool = True
    invalid_number: bool = True
    wrap_up_first: bool = True
    no_unauthorised_waiver: bool = True


class Caps(_Frozen):
    """Attempt and conversation caps per local calendar day (and a rolling window for the hourly)."""

    third_party_daily_cap: Limit = 6
    third_party_hourly_cap: Limit = 2
    third_party_hourly_window_minutes: Annotated[int, Field(ge=1, le=1440, strict=True)] = 60
    debtor_number_daily_cap: Limit = 6
    debtor_conversation_daily_cap: Limit = 3


def _canonical_outcomes(outcomes: tuple[Outcome, ...]) -> tuple[Outcome, ...]:
    return tuple(outcome for outcome in OUTCOMES if outcome in outcomes)


class Counting(_Frozen):
    """What counts: an attempt is an outbound call ending in one of ``counted_outcomes``."""

    counted_outcomes: Annotated[tuple[Outcome, ...], Field(min_length=1), AfterValidator(_canonical_outcomes)] = OUTCOMES
    conversation_counts_inbound: bool = True


class DebtorUnreachable(_Frozen):
    failed_attempts_in_a_row: Annotated[int, Field(ge=1, strict=True)] = 3
    within_days: Annotated[int, Field(ge=1, le=366, strict=True)] | None = None
    """The look-back: the failed attempts in a row count only when every one of them was made within
    this many days before the call (``None``: however old — failures months old still count)."""


class ThirdPartyRules(_Frozen):
    only_after_debtor_unreachable: DebtorUnreachable | None = None
    """Rule ``third_party_after_debtor_unreachable``; ``None`` = off."""
    debt_related_distinction: bool = False
    """Whether third parties are told apart as debt-related (e.g. guarantor) or unrelated."""


US_COUNTING_DESCRIPTION = (
    "How the 7-day periods of us_7_in_7 and us_pause_after_conversation are measured. 'rolling': "
    "any 7 x 24 hours (pause_after_conversation_days x 24 hours after the conversation). "
    "'calendar_days': whole local calendar days of the called party, in every plausible zone: at most "
    "attempts_in_7_days_cap attempts on any 7 consecutive local days, and after a conversation no call "
    "until local midnight starting the day pause_after_conversation_days after its date, the date of the "
    "conversation being the first day of the period (Regulation F, 12 CFR 1006.14(b)(2)(i) and (ii))."
)


class UsStyle(_Frozen):
    """Regulation F style limits; all off unless a preset (``us-reg-f``) sets them."""

    attempts_in_7_days_cap: Limit = None
    pause_after_conversation_days: Limit = None
    third_party_spoken_once: bool = False
    counting: Literal["rolling", "calendar_days"] = Field("rolling", description=US_COUNTING_DESCRIPTION)


def _sorted_clocks(clocks: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(clocks)))


class Obligations(_Frozen):
    """Work the scheduler plans for; these never block a call."""

    min_calls_per_week_contactable: Limit = 3
    min_calls_per_month_lost: Limit = 4
    follow_up_days_effective: Limit = 1
    follow_up_days_other: Limit = 2
    callable_from_overdue_day: Annotated[int, Field(ge=0, strict=True)] = 8
    no_contact_days_before_field_visit: Limit = 3
    ptp_reminder_working_days_before: Limit = 1
    ptp_due_day_calls: Annotated[tuple[Clock, ...], AfterValidator(_sorted_clocks)] = ("09:00", "12:30", "18:30")


class Whisper(_Frozen):
    """What the agent hears before being bridged; placeholders from ``WHISPER_PLACEHOLDERS``."""

    template: Template = DEFAULT_WHISPER
    third_party_reminder: Template = DEFAULT_THIRD_PARTY_REMINDER


class RecordingRetention(_Frozen):
    """How long a call's recording is kept after it is stored. ``minimum_days`` is the floor the
    regulation behind a preset sets (Chinese collection rules: two years; US Reg F: three years);
    a client may keep recordings longer, never shorter, and may not lower the preset's floor."""

    retention_days: Annotated[int, Field(ge=1, le=36600, strict=True)] = 1096
    minimum_days: Annotated[int, Field(ge=0, le=36600, strict=True)] = 730

    @model_validator(mode="after")
    def _not_under_floor(self) -> RecordingRetention:
        if self.retention_days < self.minimum_days:
            raise ValueError(f"retention_days {self.retention_days} is under the minimum of {self.minimum_days} days "
                             "this policy's regulation sets")
        return self


class PolicyDocument(_Frozen):
    """A client's effective policy. Defaults are the ``agency-default`` preset."""

    schema_version: Literal[1] = 1
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    description: str = ""
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "zh-CN"
    default_time_zone: TimeZoneName = AGENCY_ZONE
    holiday_calendar: Literal["cn", "none"] = "cn"
    """Public holidays and working days ("cn": Chinese statutory calendar with adjusted workdays)."""
    rules: Switches = Switches()
    calling_window: CallingWindow = CallingWindow()
    caps: Caps = Caps()
    counting: Counting = Counting()
    third_party: ThirdPartyRules = ThirdPartyRules()
    us_style: UsStyle = UsStyle()
    obligations: Obligations = Obligations()
    whisper: Whisper = Whisper()
    recordings: RecordingRetention = RecordingRetention()

    def enabled_rules(self) -> tuple[str, ...]:
        """The rule ids this document enforces, in ``RULE_IDS`` order."""
        on = {
            "seat_only": self.rules.seat_only,
            "manual_only": self.rules.manual_only,
            "sms_blocked": not self.rules.sms_allowed,
            "record_everything": self.rules.record_everything,
            "calling_window": True,
            "calling_window_no_overlap": True,
            "third_party_daily_cap": self.caps.third_party_daily_cap is not None,
            "third_party_hourly_cap": self.caps.third_party_hourly_cap is not None,
            "debtor_number_daily_cap": self.caps.debtor_number_daily_cap is not None,
            "debtor_conversation_daily_cap": self.caps.debtor_conversation_daily_cap is not None,
            "stop_contact": self.rules.stop_contact,
            "invalid_number": self.rules.invalid_number,
            "wrap_up_first": self.rules.wrap_up_first,
            "no_unauthorised_waiver": self.rules.no_unauthorised_waiver,
            "third_party_after_debtor_unreachable": self.third_party.only_after_debtor_unreachable is not None,
            "us_7_in_7": self.us_style.attempts_in_7_days_cap is not None,
            "us_pause_after_conversation": self.us_style.pause_after_conversation_days is not None,
            "us_third_party_once": self.us_style.third_party_spoken_once,
        }
        return tuple(rule_id for rule_id in RULE_IDS if on[rule_id])

    def window_for(self, day: dt.date, *, calendar_holiday: bool = False) -> list[tuple[dt.time, dt.time | None]]:
        """See :meth:`CallingWindow.window_for`."""
        return self.calling_window.window_for(day, calendar_holiday=calendar_holiday)
