"""The policy rules: pure functions of a snapshot and an instant.

Each rule returns ``None`` when it allows the call at ``at``, or a :class:`Violation`. A
violation's ``retry_at`` is the earliest instant at which *that rule* would allow the call
(given the history in the snapshot), or ``None`` when waiting does not help and only a person
can lift the block. :mod:`dialer.compliance.decide` combines them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from dialer.compliance import calendar_days
from dialer.compliance.calendar_days import WEEK
from dialer.compliance.localtime import (
    SEARCH_DAYS,
    common_opening,
    day_window_text,
    next_opening,
    start_of_day,
    start_of_next_day,
    window_open,
    zone,
)
from dialer.compliance.snapshot import AttemptFact, NumberFact, Snapshot
from dialer.policy.document import PolicyDocument

FAILED_OUTCOMES = frozenset({"no_answer", "busy", "rejected", "failed", "voicemail", "canceled"})


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    message_en: str
    message_zh: str
    retry_at: dt.datetime | None = None


Rule = Callable[[Snapshot, NumberFact, dt.datetime], Violation | None]


# --- helpers over the snapshot -------------------------------------------------------------

def plausible_zones(s: Snapshot) -> tuple[str, ...]:
    """Every zone the party may be in, as the policy's ``calling_window.zone_sources`` says.

    ``recorded_only``: the party's recorded zone alone when it has one; else every zone its numbers
    suggest (a number's recorded zone, else its prefix's), plus the client's default.
    ``recorded_and_numbers``: the party's recorded zone (the client's default when it has none)
    *and* every zone its numbers suggest: with conflicting information, a call must be convenient
    in all the locations it indicates.
    """
    window = s.policy.calling_window
    recorded = s.party.time_zone
    if window.zone_sources == "recorded_only":
        if recorded:
            return (recorded,)
        if window.unknown_zone_strategy == "party_or_default":
            return (s.policy.default_time_zone,)
    zones = {recorded or s.policy.default_time_zone}
    for number in s.numbers:
        zones.update(number.zones())
    return tuple(sorted(zones))


def _walls(instant: dt.datetime, zones: tuple[str, ...], shown: int = 3) -> str:
    """``instant`` in the local time of each zone (the first few of many)."""
    text = ", ".join(f"{instant.astimezone(zone(z)):%Y-%m-%d %H:%M} {z}" for z in zones[:shown])
    return text + (f" (+{len(zones) - shown} more zones)" if len(zones) > shown else "")


def counted_attempts(s: Snapshot) -> list[AttemptFact]:
    """Outbound attempts that count under the policy (in-progress ones count too)."""
    counted = set(s.policy.counting.counted_outcomes)
    return [
        a for a in s.attempts
        if a.direction == "outbound" and (a.outcome is None or a.outcome in counted)
    ]


def conversations(s: Snapshot) -> list[AttemptFact]:
    inbound = s.policy.counting.conversation_counts_inbound
    return [a for a in s.attempts if a.conversation and (a.direction == "outbound" or inbound)]


def day_counts(s: Snapshot, at: dt.datetime, items: list[AttemptFact]) -> list[tuple[int, dt.datetime]]:
    """For every plausible zone: how many ``items`` fall on the local day containing ``at``, and
    when that day ends (the next local midnight)."""
    counts = []
    for name in plausible_zones(s):
        tz = zone(name)
        start, end = start_of_day(at, tz), start_of_next_day(at, tz)
        counts.append((sum(1 for a in items if start <= a.started_at < end), end))
    return counts


def _daily_cap(
    s: Snapshot, at: dt.datetime, items: list[AttemptFact], cap: int, rule: str, what_en: str, what_zh: str,
) -> Violation | None:
    """At most ``cap`` items per local calendar day, in every plausible zone."""
    retry: dt.datetime | None = None
    worst = 0
    for count, midnight in day_counts(s, at, items):
        if count >= cap:
            worst = max(worst, count)
            retry = midnight if retry is None else max(retry, midnight)
    if retry is None:
        return None
    return Violation(
        rule,
        f"{worst} {what_en} already today (local day of the called party); the limit is {cap} a day",
        f"今日已{what_zh}{worst}次（按被叫方当地日期），每日上限为{cap}次",
        retry,
    )


def _rolling_cap(
    items: list[AttemptFact], at: dt.datetime, cap: int, span: dt.timedelta, rule: str, en: str, zh: str,
) -> Violation | None:
    """At most ``cap`` items in any window of length ``span``.

    A new attempt at ``at`` must fit in *every* window that contains it, so attempts recorded
    after ``at`` count too (a reservation that read its clock before waiting for the party's
    lock, a replica with a skewed clock, a dry run for a past instant).
    """
    times = sorted(a.started_at for a in items if at - span < a.started_at < at + span)
    worst = _busiest_window(times, at, span)
    if worst < cap:
        return None
    # The answer can only change when an attempt leaves the window behind the candidate instant.
    retry = next((t + span for t in times if t + span > at and _busiest_window(times, t + span, span) < cap), None)
    return Violation(rule, en.format(n=worst, cap=cap), zh.format(n=worst, cap=cap), retry)


def _busiest_window(times: list[dt.datetime], at: dt.datetime, span: dt.timedelta) -> int:
    """The most of ``times`` that one window of length ``span`` containing ``at`` holds.

    Windows are (x, x + span]; those containing ``at`` start at ``at - span`` or later, and the
    count can only rise where a later attempt enters, i.e. at x = t - span for t after ``at``.
    """
    starts = [at - span] + [t - span for t in times if at < t < at + span]
    return max(sum(1 for t in times if x < t <= x + span) for x in starts)


# --- the rules --------------------------------------------------------------------------------

def seat_only(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    if s.agent is None:
        return None  # a dry run that names no agent: the origin is checked when dialling
    if s.agent.seat_id is None or not s.agent.seat_registered:
        return Violation("seat_only", "calls may only be placed from a registered seat",
                         "只能在登记的专用坐席上外呼")
    if not s.agent.session_at_seat:
        return Violation("seat_only", "the agent is not logged in at this seat",
                         "坐席员未在该坐席登录")
    return None


def manual_only(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    if s.mode is None:
        return None
    if s.mode not in ("preview", "progressive") or s.agent is None:
        return Violation("manual_only", f"'{s.mode}' dialling is not allowed: every call needs a ready agent "
                         "(preview or progressive, one call per agent)",
                         f"不允许“{s.mode}”外呼：每通电话必须由坐席员人工发起（预览或渐进式，一人一线）")
    return None


def sms_blocked(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    if s.channel == "sms" and not s.policy.rules.sms_allowed:
        return Violation("sms_blocked", "SMS to debtors and third parties is not allowed for this client",
                         "该委托方不允许向债务人或第三方发送短信")
    return None


def calling_window(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    zones = plausible_zones(s)
    closed = [z for z in zones if not window_open(s.policy, at, zone(z), calendar=s.calendar)]
    if not closed:
        return None
    retry = common_opening(s.policy, zones, at, s.calendar)
    local = ", ".join(f"{at.astimezone(zone(z)):%H:%M} {z}" for z in closed)
    return Violation("calling_window", f"outside the calling window in the called party's local time ({local})",
                     f"不在被叫方当地允许拨打时段内（{local}）", retry)


def calling_window_no_overlap(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    """The party's plausible zones have no instant open in all of them (each alone does open):
    waiting does not help; a person must settle where the party is."""
    zones = plausible_zones(s)
    if len(zones) < 2 or all(window_open(s.policy, at, zone(z), calendar=s.calendar) for z in zones):
        return None
    if common_opening(s.policy, zones, at, s.calendar) is not None:
        return None
    if any(next_opening(s.policy, at, zone(z), calendar=s.calendar) is None for z in zones):
        return None  # a window that never opens in one zone: the calling window's own refusal
    windows = "; ".join(f"{z} {day_window_text(s.policy, at, zone(z), calendar=s.calendar)}" for z in zones)
    return Violation(
        "calling_window_no_overlap",
        f"the calling windows of the party's plausible time zones never overlap in the next {SEARCH_DAYS} days "
        f"({windows}, each in its own local time): no call can be inside the window in all of them; "
        "a person must confirm where the party is and correct the time zones of the party and its numbers",
        f"该联系人可能所在各时区的允许拨打时段在未来{SEARCH_DAYS}天内互不重叠（{windows}，均为当地时间），"
        "任何时刻都无法同时处于各时区的拨打时段内；须人工核实其所在地并更正联系人及其号码的时区",
    )


def third_party_daily_cap(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    cap = s.policy.caps.third_party_daily_cap
    if cap is None or s.party.role != "third_party":
        return None
    return _daily_cap(s, at, counted_attempts(s), cap, "third_party_daily_cap",
                      "attempts to this third party", "拨打该第三方")


def third_party_hourly_cap(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    cap = s.policy.caps.third_party_hourly_cap
    if cap is None or s.party.role != "third_party":
        return None
    minutes = s.policy.caps.third_party_hourly_window_minutes
    return _rolling_cap(
        counted_attempts(s), at, cap, dt.timedelta(minutes=minutes), "third_party_hourly_cap",
        f"{{n}} attempts to this third party in the last {minutes} minutes; the limit is {{cap}}",
        f"最近{minutes}分钟内已拨打该第三方{{n}}次，上限为{{cap}}次",
    )


def debtor_number_daily_cap(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    cap = s.policy.caps.debtor_number_daily_cap
    if cap is None or s.party.role != "debtor":
        return None
    on_number = [a for a in counted_attempts(s) if a.number_id == number.id]
    return _daily_cap(s, at, on_number, cap, "debtor_number_daily_cap",
                      f"attempts to {number.e164}", f"拨打号码{number.e164}")


def debtor_conversation_daily_cap(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    cap = s.policy.caps.debtor_conversation_daily_cap
    if cap is None or s.party.role != "debtor":
        return None
    return _daily_cap(s, at, conversations(s), cap, "debtor_conversation_daily_cap",
                      "conversations with the debtor", "与债务人有效通话")


_STOP_SOURCES = {
    "client_list": ("on the client's stop-contact list", "在委托方停催名单上"),
    "party_request": ("asked not to be called", "本人要求停止联系"),
    "hostile": ("marked hostile (strong displeasure)", "已标记为强烈反感"),
}


def stop_contact(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    if not s.policy.rules.stop_contact:
        return None
    for stop in s.stops:
        hit = (
            (stop.party_id is not None and stop.party_id == s.party.id)
            or (stop.e164 is not None and stop.e164 == number.e164)
            or (stop.id_number is not None and stop.id_number == s.party.id_number)
        )
        if hit:
            en, zh = _STOP_SOURCES.get(stop.source, (stop.source, stop.source))
            return Violation("stop_contact", f"never call: {en} ({stop.reason}); only a supervisor can lift it",
                             f"禁止拨打：{zh}（{stop.reason}），仅主管可解除")
    return None


def invalid_number(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    if s.policy.rules.invalid_number and not number.valid:
        return Violation("invalid_number", f"{number.e164} is marked invalid / not in service",
                         f"号码{number.e164}已标记为无效/空号")
    return None


def wrap_up_first(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    if s.policy.rules.wrap_up_first and s.agent is not None and s.agent.open_wrap_up_call_id is not None:
        return Violation("wrap_up_first",
                         f"save the notes of call {s.agent.open_wrap_up_call_id} before dialling again",
                         f"请先填写通话{s.agent.open_wrap_up_call_id}的催收记录再拨打")
    return None


def third_party_after_debtor_unreachable(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    rule = s.policy.third_party.only_after_debtor_unreachable
    if rule is None or s.party.role != "third_party":
        return None
    n, days = rule.failed_attempts_in_a_row, rule.within_days
    debtor = s.debtor
    recent = [a for a in debtor.recent_outbound if a.started_at <= at][:n]
    since = None if days is None else at - dt.timedelta(days=days)
    unreachable = (
        debtor.case_lost_contact
        or not debtor.has_valid_number
        or (len(recent) == n and all(a.outcome in FAILED_OUTCOMES and not a.conversation
                                     and (since is None or a.started_at > since) for a in recent))
    )
    if unreachable:
        return None
    within, within_zh = ("", "") if days is None else (f" within {days} days", f"{days}天内")
    return Violation("third_party_after_debtor_unreachable",
                     f"third parties may be called only after the debtor is unreachable ({n} failed attempts in a "
                     f"row{within})", f"须在债务人失联（{within_zh}连续{n}次未接通）后方可联系第三方")


CONSENT_FRESH = dt.timedelta(days=7)
"""Reg F 1006.14(b)(3)(i): a callback the consumer asked for directly within the prior seven days
is not counted against the frequency presumptions."""


def _asked_for(s: Snapshot, number: NumberFact, at: dt.datetime) -> bool:
    return any(c.covers(number.id, at) and (c.given_at is None or at - c.given_at <= CONSENT_FRESH)
               for c in s.callbacks)


def _or_callback(s: Snapshot, number: NumberFact, at: dt.datetime, v: Violation | None) -> Violation | None:
    """A frequency refusal, unless the party asked for this call; its ``retry_at`` is the start of
    an asked-for callback when that comes first."""
    if v is None or _asked_for(s, number, at):
        return None
    starts = [c.starts for c in s.callbacks
              if c.number_id in (None, number.id) and at < c.starts and (v.retry_at is None or c.starts < v.retry_at)
              and (c.given_at is None or c.starts - c.given_at <= CONSENT_FRESH)]
    return replace(v, retry_at=min(starts)) if starts else v


def us_7_in_7(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    cap = s.policy.us_style.attempts_in_7_days_cap
    if cap is None:
        return None
    if s.policy.us_style.counting == "calendar_days":
        return _or_callback(s, number, at, _calendar_week_cap(s, at, cap))
    return _or_callback(s, number, at, _rolling_cap(
        counted_attempts(s), at, cap, dt.timedelta(days=WEEK), "us_7_in_7",
        "{n} attempts to this person in the last 7 days; the limit is {cap}", "最近7天内已拨打此人{n}次，上限为{cap}次"))


def _calendar_week_cap(s: Snapshot, at: dt.datetime, cap: int) -> Violation | None:
    """At most ``cap`` attempts on any 7 consecutive local days, in every plausible zone."""
    week = calendar_days.full_week(plausible_zones(s), [a.started_at for a in counted_attempts(s)], at, cap)
    if week is None:
        return None
    first, last = week.first.isoformat(), week.last.isoformat()
    resume = f"{week.retry_at.astimezone(zone(week.retry_zone)):%Y-%m-%d %H:%M}" if week.retry_at else ""
    return Violation(
        "us_7_in_7",
        f"{week.count} attempts to this person on the 7 consecutive local days {first} to {last} ({week.zone}); "
        f"the limit is {cap} in any 7 consecutive days"
        + (f"; calls may resume at {resume} {week.retry_zone}" if resume else ""),
        f"连续7个当地日（{week.zone}，{first}至{last}）内已拨打此人{week.count}次，任意连续7天上限为{cap}次"
        + (f"，可于{resume}（{week.retry_zone}）起再拨打" if resume else ""),
        week.retry_at,
    )


def us_pause_after_conversation(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    days = s.policy.us_style.pause_after_conversation_days
    if days is None:
        return None
    if s.policy.us_style.counting == "calendar_days":
        return _or_callback(s, number, at, _calendar_pause(s, at, days))
    span = dt.timedelta(days=days)
    recent = [a.started_at for a in conversations(s) if at - span < a.started_at <= at]
    if not recent:
        return None
    last = max(recent)
    ends = _walls(last + span, plausible_zones(s))
    return _or_callback(s, number, at, Violation(
        "us_pause_after_conversation",
        f"a conversation took place {last:%Y-%m-%d %H:%M} UTC; no call within {days} days after it: "
        f"the pause ends {ends}",
        f"已于{last:%Y-%m-%d %H:%M}（UTC）通话，通话后{days}天内不得再拨打，暂停至{ends}结束", last + span))


def _calendar_pause(s: Snapshot, at: dt.datetime, days: int) -> Violation | None:
    """No call on the ``days`` local days that begin with the day of a conversation, in every
    plausible zone (:func:`calendar_days.pause`)."""
    found = calendar_days.pause(plausible_zones(s), [a.started_at for a in conversations(s)], at, days)
    if found is None:
        return None
    end = f"{found.ends_at.astimezone(zone(found.zone)):%Y-%m-%d %H:%M}"
    return Violation(
        "us_pause_after_conversation",
        f"a conversation took place on {found.day.isoformat()} (local date, {found.zone}); no call on that day or "
        f"the {days - 1} days after it: the pause ends {end} {found.zone}",
        f"已于{found.day.isoformat()}（当地日期，{found.zone}）通话；自通话当日起{days}天内不得再拨打，"
        f"暂停至{end}（{found.zone}）结束",
        found.retry_at,
    )


def us_third_party_once(s: Snapshot, number: NumberFact, at: dt.datetime) -> Violation | None:
    if s.policy.us_style.third_party_spoken_once and s.party.role == "third_party" and s.third_party_conversed:
        return Violation("us_third_party_once", "this third party has already been spoken to once",
                         "已与该第三方通话过一次，不得再次联系")
    return None


RULES: dict[str, Rule] = {
    "seat_only": seat_only,
    "manual_only": manual_only,
    "sms_blocked": sms_blocked,
    "calling_window": calling_window,
    "calling_window_no_overlap": calling_window_no_overlap,
    "third_party_daily_cap": third_party_daily_cap,
    "third_party_hourly_cap": third_party_hourly_cap,
    "debtor_number_daily_cap": debtor_number_daily_cap,
    "debtor_conversation_daily_cap": debtor_conversation_daily_cap,
    "stop_contact": stop_contact,
    "invalid_number": invalid_number,
    "wrap_up_first": wrap_up_first,
    "third_party_after_debtor_unreachable": third_party_after_debtor_unreachable,
    "us_7_in_7": us_7_in_7,
    "us_pause_after_conversation": us_pause_after_conversation,
    "us_third_party_once": us_third_party_once,
}
"""Every rule evaluated at dial time. ``record_everything`` is enforced by the call flow and
``no_unauthorised_waiver`` when a promise is saved (:func:`check_waiver`)."""


def check_waiver(*, reduction: object, authorisation_ref: str | None, enforced: bool = True) -> Violation | None:
    """``no_unauthorised_waiver``: a promise with any reduction needs the client's written authorisation.

    Only a reduction that is plainly zero or negative needs none: ``NaN`` is not "no reduction".
    """
    if enforced and reduction and not float(str(reduction)) <= 0 and not (authorisation_ref or "").strip():
        return Violation("no_unauthorised_waiver",
                         "a reduction needs the client's written authorisation reference",
                         "任何减免须提供委托方书面授权编号")
    return None


def lookback(policy: PolicyDocument) -> dt.timedelta:
    """How far back attempts must be loaded for every rule of ``policy`` to be exact (attempts
    after the instant are always loaded).

    A local day in any zone fits in two UTC days. ``us_7_in_7`` looks back 7 x 24 hours (rolling)
    or to the start of the 7th local day before the instant's (calendar days): 6 days and one
    local day, at most 25 hours across a DST change, so 8 days cover both. A conversation holds
    ``us_pause_after_conversation`` for N x 24 hours (rolling) or until the local midnight N days
    after its date (calendar days): at most N days and a DST hour after it, so N + 1 days.
    """
    days = 2
    if policy.us_style.attempts_in_7_days_cap is not None:
        days = max(days, WEEK + 1)
    if policy.us_style.pause_after_conversation_days is not None:
        days = max(days, policy.us_style.pause_after_conversation_days + 1)
    return dt.timedelta(days=days)
