"""The pure policy engine against the scenarios of DESIGN.md §1 (no database, no clock)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.compliance.decide import Decision, decide_number, decide_party, earliest_allowed
from dialer.compliance.rules import RULES, check_waiver, lookback, plausible_zones
from dialer.compliance.snapshot import (
    AgentFact,
    AttemptFact,
    CallbackFact,
    DebtorReach,
    NumberFact,
    PartyFact,
    Snapshot,
    StopFact,
)
from dialer.policy.document import PolicyDocument
from dialer.policy.presets import build_policy

UTC = dt.timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
OPEN_ALL_DAY = {day: [{"start": "00:00", "end": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


# --- factories ---------------------------------------------------------------------------------


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *,
          tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    """An aware instant given as local wall time (unambiguous times only)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)


def policy(preset: str = "agency-default", **overrides: Any) -> PolicyDocument:
    return build_policy(preset, overrides or None)


def make_party(*, role: str = "debtor", time_zone: str | None = None, party_id: int = 1, **fields: Any) -> PartyFact:
    relation = "self" if role == "debtor" else "friend"
    return PartyFact(id=party_id, case_id=10, role=role, relation=fields.pop("relation", relation),
                     time_zone=time_zone, **fields)


def make_number(number_id: int = 1, *, e164: str | None = None, **fields: Any) -> NumberFact:
    return NumberFact(id=number_id, e164=e164 or f"+8613800000{number_id:03d}", **fields)


def attempt(at: dt.datetime, *, number_id: int = 1, outcome: str | None = "no_answer",
            conversation: bool = False, direction: str = "outbound") -> AttemptFact:
    return AttemptFact(started_at=at, number_id=number_id, outcome=outcome, conversation=conversation,
                       direction=direction)


def snapshot(*, doc: PolicyDocument | None = None, party: PartyFact | None = None,
             numbers: tuple[NumberFact, ...] | None = None, **fields: Any) -> Snapshot:
    return Snapshot(policy=doc or policy(), policy_version=1, party=party or make_party(),
                    numbers=numbers if numbers is not None else (make_number(),), **fields)


def decide(s: Snapshot, at: dt.datetime, number_id: int | None = None) -> Decision:
    number = s.numbers[0] if number_id is None else s.number(number_id)
    return decide_number(s, number, at)


def rules_of(decision: Decision) -> set[str]:
    return {v.rule for v in decision.violations}


def hourly(start: dt.datetime, count: int, *, step: dt.timedelta = dt.timedelta(hours=1), **fields: Any) -> tuple[AttemptFact, ...]:
    return tuple(attempt(start + i * step, **fields) for i in range(count))


# --- third-party daily and hourly caps ---------------------------------------------------------


def test_given_five_attempts_today_when_sixth_to_third_party_then_allowed() -> None:
    s = snapshot(party=make_party(role="third_party"), attempts=hourly(local(2026, 6, 10, 8), 5))
    decision = decide(s, local(2026, 6, 10, 15))
    assert decision.allowed and decision.next_allowed_at == local(2026, 6, 10, 15)
    assert decision.violations == ()


def test_given_six_attempts_today_when_seventh_at_1500_then_refused_until_next_day_0800() -> None:
    s = snapshot(party=make_party(role="third_party"), attempts=hourly(local(2026, 6, 10, 8), 6))
    decision = decide(s, local(2026, 6, 10, 15))
    assert not decision.allowed
    assert rules_of(decision) == {"third_party_daily_cap"}
    (violation,) = decision.violations
    assert violation.retry_at == local(2026, 6, 11, 0)  # the rule alone: next local midnight
    assert decision.next_allowed_at == local(2026, 6, 11, 8)  # every rule: the window opens at 08:00
    assert decision.rule_results["third_party_daily_cap"] == "fail"
    assert decision.rule_results["calling_window"] == "pass"


def test_given_window_open_all_day_when_seventh_attempt_then_next_allowed_is_local_midnight() -> None:
    doc = policy(calling_window={"weekdays": OPEN_ALL_DAY})
    s = snapshot(doc=doc, party=make_party(role="third_party"), attempts=hourly(local(2026, 6, 10, 8), 6))
    decision = decide(s, local(2026, 6, 10, 15))
    assert decision.next_allowed_at == local(2026, 6, 11, 0)
    assert decide(s, local(2026, 6, 10, 23, 59, 59)).allowed is False
    assert decide(s, local(2026, 6, 11, 0)).allowed


def test_given_attempts_of_yesterday_when_third_party_called_today_then_they_do_not_count() -> None:
    s = snapshot(party=make_party(role="third_party"), attempts=hourly(local(2026, 6, 9, 8), 6))
    assert decide(s, local(2026, 6, 10, 8)).allowed


def test_given_two_attempts_within_an_hour_when_third_then_refused_until_first_leaves_window() -> None:
    first = local(2026, 6, 10, 10)
    s = snapshot(party=make_party(role="third_party"),
                 attempts=(attempt(first), attempt(first + dt.timedelta(minutes=20))))
    decision = decide(s, first + dt.timedelta(minutes=40))
    assert rules_of(decision) == {"third_party_hourly_cap"}
    assert decision.violations[0].retry_at == first + dt.timedelta(minutes=60)
    assert decision.next_allowed_at == first + dt.timedelta(minutes=60)
    assert not decide(s, first + dt.timedelta(minutes=59, seconds=59)).allowed
    assert decide(s, first + dt.timedelta(minutes=60)).allowed


def test_given_three_attempts_in_an_hour_when_fourth_then_waits_for_the_second_oldest() -> None:
    # Imported history may already exceed the cap: enough of it must leave the window.
    first = local(2026, 6, 10, 10)
    s = snapshot(party=make_party(role="third_party"),
                 attempts=hourly(first, 3, step=dt.timedelta(minutes=10)))
    decision = decide(s, first + dt.timedelta(minutes=30))
    assert decision.next_allowed_at == first + dt.timedelta(minutes=70)


def test_given_custom_hourly_window_when_deciding_then_span_follows_policy() -> None:
    doc = policy(caps={"third_party_hourly_window_minutes": 90})
    first = local(2026, 6, 10, 10)
    s = snapshot(doc=doc, party=make_party(role="third_party"), attempts=(attempt(first), attempt(first)))
    assert decide(s, first + dt.timedelta(minutes=60)).next_allowed_at == first + dt.timedelta(minutes=90)


def test_given_debtor_when_many_attempts_in_an_hour_then_third_party_caps_do_not_apply() -> None:
    s = snapshot(attempts=hourly(local(2026, 6, 10, 10), 3, step=dt.timedelta(minutes=1)))
    assert decide(s, local(2026, 6, 10, 10, 5)).allowed


# --- calling window ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "allowed", "next_allowed"),
    [
        ((21, 59, 59), True, (2026, 6, 10, 21, 59, 59)),
        ((22, 0, 0), False, (2026, 6, 11, 8, 0, 0)),
        ((7, 59, 59), False, (2026, 6, 10, 8, 0, 0)),
        ((8, 0, 0), True, (2026, 6, 10, 8, 0, 0)),
        ((0, 0, 0), False, (2026, 6, 10, 8, 0, 0)),
    ],
)
def test_given_shanghai_party_when_at_window_edge_then_end_is_exclusive(
    wall: tuple[int, int, int], allowed: bool, next_allowed: tuple[int, ...],
) -> None:
    s = snapshot(party=make_party(time_zone="Asia/Shanghai"))
    decision = decide(s, local(2026, 6, 10, *wall))
    assert decision.allowed is allowed
    assert decision.next_allowed_at == local(*next_allowed)
    if not allowed:
        assert rules_of(decision) == {"calling_window"}
        assert decision.violations[0].retry_at == decision.next_allowed_at


def test_given_chinese_client_party_without_any_zone_when_deciding_then_shanghai_is_used() -> None:
    s = snapshot(party=make_party(time_zone=None), numbers=(make_number(),))
    assert plausible_zones(s) == ("Asia/Shanghai",)
    assert decide(s, local(2026, 6, 10, 7, 30)).next_allowed_at == local(2026, 6, 10, 8)
    assert decide(s, local(2026, 6, 10, 8)).allowed


def test_given_party_zone_when_numbers_suggest_others_then_party_zone_alone_counts() -> None:
    s = snapshot(party=make_party(time_zone="Asia/Urumqi"),
                 numbers=(make_number(time_zone="Asia/Shanghai"), make_number(2, prefix_zones=("Asia/Tokyo",))))
    assert plausible_zones(s) == ("Asia/Urumqi",)
    # 08:00 in Shanghai is 06:00 in Urumqi: closed until 08:00 Urumqi = 10:00 Shanghai.
    assert decide(s, local(2026, 6, 10, 8)).next_allowed_at == local(2026, 6, 10, 10)


def test_given_party_or_default_strategy_when_numbers_suggest_zones_then_default_zone_only() -> None:
    doc = policy(calling_window={"unknown_zone_strategy": "party_or_default"})
    s = snapshot(doc=doc, numbers=(make_number(prefix_zones=("Asia/Urumqi",)),))
    assert plausible_zones(s) == ("Asia/Shanghai",)
    assert decide(s, local(2026, 6, 10, 8)).allowed


def test_given_prefix_zones_when_deciding_then_every_plausible_zone_must_be_open() -> None:
    s = snapshot(numbers=(make_number(prefix_zones=("Asia/Urumqi", "Asia/Shanghai")),))
    assert plausible_zones(s) == ("Asia/Shanghai", "Asia/Urumqi")
    assert not decide(s, local(2026, 6, 10, 9)).allowed
    assert decide(s, local(2026, 6, 10, 9)).next_allowed_at == local(2026, 6, 10, 10)
    # ...and the window closes by the earliest end: 22:00 Shanghai.
    assert not decide(s, local(2026, 6, 10, 22)).allowed


def test_given_us_party_with_numbers_in_two_zones_when_0830_new_york_then_refused_until_0800_los_angeles() -> None:
    doc = policy("us-reg-f")
    numbers = (make_number(1, e164="+12125550100", time_zone="America/New_York"),
               make_number(2, e164="+13105550100", time_zone="America/Los_Angeles"))
    s = snapshot(doc=doc, numbers=numbers)
    assert set(plausible_zones(s)) == {"America/New_York", "America/Los_Angeles"}
    at = local(2026, 6, 10, 8, 30, tz=NEW_YORK)
    decision = decide(s, at)
    assert rules_of(decision) == {"calling_window"}
    assert "05:30 America/Los_Angeles" in decision.violations[0].message_en
    assert decision.next_allowed_at == local(2026, 6, 10, 8, tz=LOS_ANGELES) == local(2026, 6, 10, 11, tz=NEW_YORK)
    assert decide_party(s, at).next_allowed_at == local(2026, 6, 10, 11, tz=NEW_YORK)
    # The window closes at 21:00 New York (18:00 in LA).
    assert decide(s, local(2026, 6, 10, 20, 59, 59, tz=NEW_YORK)).allowed
    evening = decide(s, local(2026, 6, 10, 21, tz=NEW_YORK))
    assert evening.next_allowed_at == local(2026, 6, 11, 11, tz=NEW_YORK)


# --- blocks only a person can lift ---------------------------------------------------------------


@pytest.mark.parametrize("source", ["client_list", "party_request", "hostile"])
def test_given_stop_entry_for_party_when_deciding_then_refused_with_no_next_time(source: str) -> None:
    s = snapshot(party=make_party(role="third_party"),
                 stops=(StopFact(id=1, source=source, reason="asked", party_id=1),))
    decision = decide(s, local(2026, 6, 10, 10))
    assert rules_of(decision) == {"stop_contact"}
    assert decision.violations[0].retry_at is None
    assert decision.next_allowed_at is None
    assert decide_party(s, local(2026, 6, 10, 10)).next_allowed_at is None


def test_given_stop_entry_by_number_or_id_number_when_deciding_then_refused() -> None:
    by_number = snapshot(stops=(StopFact(id=1, source="client_list", reason="list", e164="+8613800000001"),))
    assert rules_of(decide(by_number, local(2026, 6, 10, 10))) == {"stop_contact"}
    by_id = snapshot(party=make_party(id_number="110101199001011234"),
                     stops=(StopFact(id=1, source="client_list", reason="list", id_number="110101199001011234"),))
    assert rules_of(decide(by_id, local(2026, 6, 10, 10))) == {"stop_contact"}


def test_given_stop_entries_of_others_when_deciding_then_allowed() -> None:
    s = snapshot(stops=(StopFact(id=1, source="client_list", reason="x", party_id=2),
                        StopFact(id=2, source="client_list", reason="x", e164="+8613900000000"),
                        StopFact(id=3, source="client_list", reason="x", id_number="X")))
    assert decide(s, local(2026, 6, 10, 10)).allowed


def test_given_stop_entry_and_a_window_that_opens_later_then_still_no_next_time() -> None:
    s = snapshot(stops=(StopFact(id=1, source="hostile", reason="angry", party_id=1),))
    decision = decide(s, local(2026, 6, 10, 23))
    assert rules_of(decision) == {"stop_contact", "calling_window"}
    assert decision.next_allowed_at is None


def test_given_default_policy_when_sms_then_refused_with_no_next_time() -> None:
    s = snapshot(channel="sms")
    decision = decide(s, local(2026, 6, 10, 10))
    assert rules_of(decision) == {"sms_blocked"}
    assert decision.next_allowed_at is None
    assert decide(snapshot(channel="sms", doc=policy(rules={"sms_allowed": True})), local(2026, 6, 10, 10)).allowed


def test_given_invalid_number_when_deciding_then_refused_and_party_uses_the_valid_one() -> None:
    s = snapshot(numbers=(make_number(1, valid=False), make_number(2)))
    decision = decide(s, local(2026, 6, 10, 10), number_id=1)
    assert rules_of(decision) == {"invalid_number"}
    assert decision.next_allowed_at is None
    chosen = decide_party(s, local(2026, 6, 10, 10))
    assert chosen.allowed and chosen.number_id == 2


@pytest.mark.parametrize(
    ("agent", "rule"),
    [
        (AgentFact(agent_id=1, seat_id=None, seat_registered=False, session_at_seat=False), "seat_only"),
        (AgentFact(agent_id=1, seat_id=5, seat_registered=False, session_at_seat=True), "seat_only"),
        (AgentFact(agent_id=1, seat_id=5, seat_registered=True, session_at_seat=False), "seat_only"),
        (AgentFact(agent_id=1, seat_id=5, seat_registered=True, session_at_seat=True, open_wrap_up_call_id=77),
         "wrap_up_first"),
    ],
)
def test_given_agent_not_ready_at_a_seat_when_dialling_then_refused_with_no_next_time(agent: AgentFact, rule: str) -> None:
    s = snapshot(agent=agent, mode="preview")
    decision = decide(s, local(2026, 6, 10, 10))
    assert rules_of(decision) == {rule}
    assert decision.next_allowed_at is None


def test_given_agent_logged_in_at_registered_seat_when_preview_or_progressive_then_allowed() -> None:
    agent = AgentFact(agent_id=1, seat_id=5, seat_registered=True, session_at_seat=True)
    for mode in ("preview", "progressive"):
        assert decide(snapshot(agent=agent, mode=mode), local(2026, 6, 10, 10)).allowed


@pytest.mark.parametrize("mode", ["predictive", "agentless"])
def test_given_manual_only_when_predictive_or_agentless_then_refused(mode: str) -> None:
    agent = AgentFact(agent_id=1, seat_id=5, seat_registered=True, session_at_seat=True)
    decision = decide(snapshot(agent=agent, mode=mode), local(2026, 6, 10, 10))
    assert rules_of(decision) == {"manual_only"}
    assert decision.next_allowed_at is None


def test_given_progressive_without_an_agent_when_dialling_then_refused() -> None:
    decision = decide(snapshot(agent=None, mode="progressive"), local(2026, 6, 10, 10))
    assert rules_of(decision) == {"manual_only"}


def test_given_switches_off_when_deciding_then_those_rules_are_off() -> None:
    doc = policy(rules={"seat_only": False, "wrap_up_first": False, "stop_contact": False})
    agent = AgentFact(agent_id=1, seat_id=None, seat_registered=False, session_at_seat=False, open_wrap_up_call_id=3)
    s = snapshot(doc=doc, agent=agent, mode="preview", stops=(StopFact(id=1, source="hostile", reason="", party_id=1),))
    decision = decide(s, local(2026, 6, 10, 10))
    assert decision.allowed
    assert {decision.rule_results[r] for r in ("seat_only", "wrap_up_first", "stop_contact")} == {"off"}


# --- debtor caps ---------------------------------------------------------------------------------


def test_given_six_attempts_on_one_debtor_number_when_deciding_then_other_number_is_chosen() -> None:
    s = snapshot(numbers=(make_number(1), make_number(2)), attempts=hourly(local(2026, 6, 10, 8), 6, number_id=1))
    at = local(2026, 6, 10, 15)
    on_first = decide(s, at, number_id=1)
    assert rules_of(on_first) == {"debtor_number_daily_cap"}
    assert on_first.violations[0].retry_at == local(2026, 6, 11, 0)
    assert on_first.next_allowed_at == local(2026, 6, 11, 8)
    assert decide(s, at, number_id=2).allowed
    chosen = decide_party(s, at)
    assert chosen.allowed and chosen.number_id == 2


def test_given_every_debtor_number_full_when_deciding_party_then_earliest_of_them() -> None:
    attempts = hourly(local(2026, 6, 10, 8), 6, number_id=1) + hourly(local(2026, 6, 10, 8, 30), 6, number_id=2)
    doc = policy(calling_window={"weekdays": OPEN_ALL_DAY})
    s = snapshot(doc=doc, numbers=(make_number(1), make_number(2)), attempts=attempts)
    decision = decide_party(s, local(2026, 6, 10, 15))
    assert not decision.allowed and decision.number_id is None
    assert decision.next_allowed_at == local(2026, 6, 11, 0)
    assert decision.rule_results["debtor_number_daily_cap"] == "fail"
    assert len(decision.violations) == 2  # one per number (each message names its number)


def test_given_three_conversations_including_inbound_when_deciding_then_refused_until_next_day() -> None:
    attempts = (
        attempt(local(2026, 6, 10, 9), outcome="answered", conversation=True),
        attempt(local(2026, 6, 10, 10), outcome="answered", conversation=True, number_id=2),
        attempt(local(2026, 6, 10, 11), outcome="answered", conversation=True, direction="inbound", number_id=None),
    )
    s = snapshot(numbers=(make_number(1), make_number(2)), attempts=attempts)
    decision = decide(s, local(2026, 6, 10, 15))
    assert rules_of(decision) == {"debtor_conversation_daily_cap"}
    assert decision.violations[0].retry_at == local(2026, 6, 11, 0)
    assert decision.next_allowed_at == local(2026, 6, 11, 8)
    assert decide_party(s, local(2026, 6, 10, 15)).next_allowed_at == local(2026, 6, 11, 8)

    not_inbound = snapshot(doc=policy(counting={"conversation_counts_inbound": False}),
                           numbers=(make_number(1), make_number(2)), attempts=attempts)
    assert decide(not_inbound, local(2026, 6, 10, 15)).allowed


def test_given_inbound_calls_when_counting_attempts_then_they_are_not_attempts() -> None:
    inbound = hourly(local(2026, 6, 10, 8), 6, direction="inbound", outcome="answered")
    s = snapshot(party=make_party(role="third_party"), attempts=inbound)
    assert decide(s, local(2026, 6, 10, 15)).allowed


def test_given_counted_outcomes_answered_only_when_other_outcomes_then_they_do_not_count() -> None:
    doc = policy(counting={"counted_outcomes": ["answered"]})
    third = make_party(role="third_party")
    failed = tuple(attempt(local(2026, 6, 10, 8 + i), outcome=o)
                   for i, o in enumerate(("no_answer", "busy", "rejected", "failed", "voicemail", "canceled")))
    assert decide(snapshot(doc=doc, party=third, attempts=failed), local(2026, 6, 10, 15)).allowed
    answered = hourly(local(2026, 6, 10, 8), 6, outcome="answered")
    assert rules_of(decide(snapshot(doc=doc, party=third, attempts=answered), local(2026, 6, 10, 15))) == {
        "third_party_daily_cap"}
    # An attempt still in progress (no outcome yet) counts, conservatively.
    in_progress = hourly(local(2026, 6, 10, 8), 6, outcome=None)
    assert not decide(snapshot(doc=doc, party=third, attempts=in_progress), local(2026, 6, 10, 15)).allowed
    two_in_progress = (attempt(local(2026, 6, 10, 14, 30), outcome=None), attempt(local(2026, 6, 10, 14, 40), outcome=None))
    assert rules_of(decide(snapshot(doc=doc, party=third, attempts=two_in_progress), local(2026, 6, 10, 15))) == {
        "third_party_hourly_cap"}


# --- cn-cba-2026: third parties only after the debtor is unreachable -------------------------------


def _failed(n: int, *, outcome: str = "no_answer", **fields: Any) -> tuple[AttemptFact, ...]:
    start = local(2026, 6, 10, 9)
    return tuple(attempt(start - dt.timedelta(hours=i), outcome=outcome, **fields) for i in range(n))  # newest first


@pytest.mark.parametrize(
    ("reach", "allowed"),
    [
        (DebtorReach(), False),
        (DebtorReach(recent_outbound=_failed(2)), False),
        (DebtorReach(recent_outbound=_failed(3)), True),
        (DebtorReach(recent_outbound=_failed(3, outcome="busy")), True),
        (DebtorReach(recent_outbound=(attempt(local(2026, 6, 10, 9), outcome="answered", conversation=True),
                                      *_failed(3))), False),
        (DebtorReach(recent_outbound=(*_failed(2), attempt(local(2026, 6, 10, 6), outcome="answered", conversation=True))),
         False),
        (DebtorReach(recent_outbound=(attempt(local(2026, 6, 10, 9), outcome=None), *_failed(2))), False),
        (DebtorReach(case_lost_contact=True), True),
        (DebtorReach(has_valid_number=False), True),
    ],
)
def test_given_cba_preset_when_calling_third_party_then_debtor_must_be_unreachable(reach: DebtorReach, allowed: bool) -> None:
    s = snapshot(doc=policy("cn-cba-2026"), party=make_party(role="third_party"), debtor=reach)
    decision = decide(s, local(2026, 6, 10, 10))
    assert decision.allowed is allowed
    if not allowed:
        assert rules_of(decision) == {"third_party_after_debtor_unreachable"}
        assert decision.next_allowed_at is None


@pytest.mark.parametrize(("days_old", "within_days", "allowed"), [
    (0, 30, True), (29, 30, True), (30, 30, False), (200, 30, False),  # the preset's look-back: 30 days
    (200, None, True),  # no look-back: failures however old still count (a client may choose it)
])
def test_given_cba_preset_then_only_failures_within_the_look_back_make_the_debtor_unreachable(
        days_old: int, within_days: int | None, allowed: bool) -> None:
    at = local(2026, 6, 10, 10)
    old = tuple(attempt(at - dt.timedelta(days=days_old, hours=1 + i)) for i in range(3))  # newest first
    doc = policy("cn-cba-2026", third_party={"only_after_debtor_unreachable": {"failed_attempts_in_a_row": 3,
                                                                              "within_days": within_days}})
    decision = decide(snapshot(doc=doc, party=make_party(role="third_party"),
                               debtor=DebtorReach(recent_outbound=old)), at)
    assert decision.allowed is allowed
    if not allowed:
        [violation] = decision.violations
        assert violation.rule == "third_party_after_debtor_unreachable" and "within 30 days" in violation.message_en
        assert "30天内连续3次未接通" in violation.message_zh
    assert policy("cn-cba-2026").third_party.only_after_debtor_unreachable.within_days == 30


def test_given_cba_preset_when_calling_debtor_then_unreachable_rule_does_not_apply() -> None:
    s = snapshot(doc=policy("cn-cba-2026"), debtor=DebtorReach())
    assert decide(s, local(2026, 6, 10, 10)).allowed
    assert decide(snapshot(party=make_party(role="third_party")), local(2026, 6, 10, 10)).allowed  # agency-default: off


# --- us-reg-f ------------------------------------------------------------------------------------
# These pin the rolling 7 x 24 hour reading (``us_style.counting: "rolling"``); the preset's own
# calendar-day reading is tested in test_calendar_days.py.

ROLLING = {"counting": "rolling"}


def test_given_us_preset_when_seven_attempts_in_seven_days_then_eighth_waits_for_the_oldest() -> None:
    doc = policy("us-reg-f", us_style=ROLLING)
    first = local(2026, 6, 1, 10, tz=NEW_YORK)
    s = snapshot(doc=doc, party=make_party(time_zone="America/New_York"), attempts=hourly(first, 7, step=dt.timedelta(days=1)))
    at = local(2026, 6, 7, 15, tz=NEW_YORK)
    decision = decide(s, at)
    assert rules_of(decision) == {"us_7_in_7"}
    assert decision.violations[0].retry_at == first + dt.timedelta(days=7)
    assert decision.next_allowed_at == first + dt.timedelta(days=7)
    assert not decide(s, first + dt.timedelta(days=7, seconds=-1)).allowed
    assert decide(s, first + dt.timedelta(days=7)).allowed


def test_given_us_preset_when_a_conversation_took_place_then_pause_for_seven_days() -> None:
    doc = policy("us-reg-f", us_style=ROLLING)
    talk = local(2026, 6, 1, 10, tz=NEW_YORK)
    s = snapshot(doc=doc, party=make_party(time_zone="America/New_York"),
                 attempts=(attempt(talk, outcome="answered", conversation=True),))
    decision = decide(s, local(2026, 6, 3, 12, tz=NEW_YORK))
    assert rules_of(decision) == {"us_pause_after_conversation"}
    assert decision.next_allowed_at == talk + dt.timedelta(days=7)
    assert decide(s, talk + dt.timedelta(days=7)).allowed


def test_given_us_preset_when_the_debtor_asked_for_a_callback_then_that_call_passes_the_frequency_rules() -> None:
    doc = policy("us-reg-f", us_style=ROLLING)
    talk = local(2026, 6, 1, 10, tz=NEW_YORK)
    window = CallbackFact(starts=local(2026, 6, 3, 14, tz=NEW_YORK), ends=local(2026, 6, 3, 15, tz=NEW_YORK),
                          number_id=1, given_at=talk)
    s = snapshot(doc=doc, party=make_party(time_zone="America/New_York"),
                 attempts=(attempt(talk, outcome="answered", conversation=True),), callbacks=(window,))
    assert decide(s, local(2026, 6, 3, 14, 30, tz=NEW_YORK)).allowed  # the call they asked for
    before = decide(s, local(2026, 6, 3, 12, tz=NEW_YORK))
    assert rules_of(before) == {"us_pause_after_conversation"}
    assert before.next_allowed_at == window.starts  # the asked-for time comes before the pause ends
    after = decide(s, local(2026, 6, 3, 15, 1, tz=NEW_YORK))
    assert not after.allowed and after.next_allowed_at == talk + dt.timedelta(days=7)
    other_number = snapshot(doc=doc, party=make_party(time_zone="America/New_York"),
                            numbers=(make_number(1), make_number(2)),
                            attempts=(attempt(talk, outcome="answered", conversation=True),), callbacks=(window,))
    assert not decide(other_number, local(2026, 6, 3, 14, 30, tz=NEW_YORK), number_id=2).allowed


def test_given_us_preset_when_seven_attempts_and_a_callback_asked_for_then_only_that_window_is_open() -> None:
    doc = policy("us-reg-f", us_style=ROLLING)
    first = local(2026, 6, 1, 10, tz=NEW_YORK)
    window = CallbackFact(starts=local(2026, 6, 7, 16, tz=NEW_YORK), ends=local(2026, 6, 7, 17, tz=NEW_YORK),
                          given_at=local(2026, 6, 6, 10, tz=NEW_YORK))
    s = snapshot(doc=doc, party=make_party(time_zone="America/New_York"),
                 attempts=hourly(first, 7, step=dt.timedelta(days=1)), callbacks=(window,))
    assert decide(s, local(2026, 6, 7, 16, 30, tz=NEW_YORK)).allowed
    assert decide(s, local(2026, 6, 7, 15, tz=NEW_YORK)).next_allowed_at == window.starts


def test_given_us_preset_when_the_callback_was_asked_for_more_than_seven_days_before_then_it_no_longer_counts() -> None:
    doc = policy("us-reg-f", us_style=ROLLING)
    first = local(2026, 6, 1, 10, tz=NEW_YORK)
    stale = CallbackFact(starts=local(2026, 6, 7, 16, tz=NEW_YORK), ends=local(2026, 6, 7, 17, tz=NEW_YORK),
                         given_at=local(2026, 5, 30, 10, tz=NEW_YORK))
    s = snapshot(doc=doc, party=make_party(time_zone="America/New_York"),
                 attempts=hourly(first, 7, step=dt.timedelta(days=1)), callbacks=(stale,))
    decision = decide(s, local(2026, 6, 7, 16, 30, tz=NEW_YORK))
    assert rules_of(decision) == {"us_7_in_7"} and decision.next_allowed_at == first + dt.timedelta(days=7)


def test_given_us_preset_when_pause_ends_at_night_then_next_allowed_is_next_window() -> None:
    doc = policy("us-reg-f", us_style=ROLLING)
    talk = local(2026, 6, 1, 20, 30, tz=NEW_YORK)
    s = snapshot(doc=doc, party=make_party(time_zone="America/Los_Angeles"),
                 attempts=(attempt(talk, outcome="answered", conversation=True),))
    # 20:30 New York + 7 days = 17:30 LA: inside the LA window.
    assert decide(s, local(2026, 6, 3, 12, tz=NEW_YORK)).next_allowed_at == talk + dt.timedelta(days=7)
    s_ny = snapshot(doc=doc, party=make_party(time_zone="America/New_York"),
                    attempts=(attempt(talk, outcome="answered", conversation=True),))
    assert decide(s_ny, local(2026, 6, 3, 12, tz=NEW_YORK)).next_allowed_at == local(2026, 6, 8, 20, 30, tz=NEW_YORK)
    late = local(2026, 6, 1, 20, 59, tz=NEW_YORK)
    s_late = snapshot(doc=doc, party=make_party(time_zone="America/New_York"),
                      attempts=(attempt(late, outcome="answered", conversation=True),))
    # the pause ends at 20:59 on the 8th; that is still in the window.
    assert decide(s_late, local(2026, 6, 3, 12, tz=NEW_YORK)).next_allowed_at == late + dt.timedelta(days=7)


def test_given_us_preset_when_third_party_was_spoken_to_then_refused_for_good() -> None:
    doc = policy("us-reg-f")
    s = snapshot(doc=doc, party=make_party(role="third_party", time_zone="America/New_York"), third_party_conversed=True)
    decision = decide(s, local(2026, 6, 10, 12, tz=NEW_YORK))
    assert rules_of(decision) == {"us_third_party_once"}
    assert decision.next_allowed_at is None
    assert decide(snapshot(doc=doc, party=make_party(role="third_party", time_zone="America/New_York")),
                  local(2026, 6, 10, 12, tz=NEW_YORK)).allowed


# --- combinations, decisions and helpers ----------------------------------------------------------


def test_given_several_rules_failing_when_deciding_then_every_violation_is_listed() -> None:
    doc = policy(calling_window={"weekdays": {"thu": []}})  # 2026-06-11 is a Thursday
    history = hourly(local(2026, 6, 10, 16), 4) + (attempt(local(2026, 6, 10, 21, 50)), attempt(local(2026, 6, 10, 21, 59)))
    s = snapshot(doc=doc, party=make_party(role="third_party"), attempts=history)
    at = local(2026, 6, 10, 22, 30)
    decision = decide(s, at)
    assert rules_of(decision) == {"calling_window", "third_party_daily_cap", "third_party_hourly_cap"}
    assert decision.next_allowed_at == local(2026, 6, 12, 8)  # Thursday closed: Friday 08:00


def test_given_a_decision_then_rule_results_cover_every_rule() -> None:
    decision = decide(snapshot(), local(2026, 6, 10, 10))
    assert set(decision.rule_results) == set(RULES)
    assert decision.rule_results["third_party_after_debtor_unreachable"] == "off"
    assert decision.rule_results["calling_window"] == "pass"
    assert decision.number_id == 1


def test_given_a_window_that_never_opens_then_no_next_time() -> None:
    doc = policy(calling_window={"weekdays": {day: [] for day in OPEN_ALL_DAY}})
    decision = decide(snapshot(doc=doc), local(2026, 6, 10, 10))
    assert rules_of(decision) == {"calling_window"}
    assert decision.next_allowed_at is None


def test_earliest_allowed_when_already_allowed_is_the_instant_itself() -> None:
    s = snapshot()
    at = local(2026, 6, 10, 10)
    assert earliest_allowed(s, s.numbers[0], at) == at


def test_given_a_naive_instant_when_deciding_then_refused_loudly() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(snapshot(), dt.datetime(2026, 6, 10, 10))
    with pytest.raises(ValueError, match="aware"):
        decide_party(snapshot(), dt.datetime(2026, 6, 10, 10))


def test_given_decide_party_with_no_numbers_then_invalid_number() -> None:
    decision = decide_party(snapshot(numbers=()), local(2026, 6, 10, 10))
    assert not decision.allowed
    assert rules_of(decision) == {"invalid_number"}
    assert decision.next_allowed_at is None and decision.number_id is None


@pytest.mark.parametrize(
    ("reduction", "ref", "violates"),
    [
        (Decimal("100.00"), None, True),
        (Decimal("0.01"), "", True),
        ("250", "   ", True),
        (Decimal("NaN"), None, True),  # not a number is not "no reduction"
        (float("nan"), None, True),
        (Decimal("100.00"), "AUTH-2026-001", False),
        (Decimal("-5"), None, False),
        (Decimal("0"), None, False),
        ("0.00", None, False),
        (0, None, False),
        (None, None, False),
    ],
)
def test_check_waiver(reduction: object, ref: str | None, violates: bool) -> None:
    violation = check_waiver(reduction=reduction, authorisation_ref=ref)
    assert (violation is not None) is violates
    if violation is not None:
        assert violation.rule == "no_unauthorised_waiver" and violation.retry_at is None


def test_check_waiver_when_not_enforced_then_none() -> None:
    assert check_waiver(reduction=Decimal("5"), authorisation_ref=None, enforced=False) is None


def test_lookback_covers_every_rule() -> None:
    assert lookback(policy()) >= dt.timedelta(days=2)
    assert lookback(policy("us-reg-f")) >= dt.timedelta(days=8)
    assert lookback(policy("us-reg-f", us_style={"attempts_in_7_days_cap": None, "pause_after_conversation_days": 30})) \
        >= dt.timedelta(days=31)


def test_given_later_attempts_already_recorded_when_earlier_instant_decided_then_they_count() -> None:
    # A reservation read its clock (11:55) before waiting for the party's lock; meanwhile two
    # attempts at 12:00 and 12:10 were recorded. A third inside one 60-minute span is refused.
    s = snapshot(party=make_party(role="third_party"), attempts=(
        attempt(local(2026, 11, 24, 12, 0)), attempt(local(2026, 11, 24, 12, 10))))
    d = decide(s, local(2026, 11, 24, 11, 55))
    assert rules_of(d) == {"third_party_hourly_cap"}
    # Allowed once 12:00 has left every window holding 11:55+: at 13:00 only 12:10 is within the hour.
    assert d.next_allowed_at == local(2026, 11, 24, 13, 0)


def test_given_attempts_far_apart_around_instant_then_each_window_holds_the_cap() -> None:
    # 10:10 and 11:50 are 100 minutes apart: every 60-minute window that contains 11:00 holds at
    # most one of them, so a call at 11:00 keeps every window within the cap of 2.
    s = snapshot(party=make_party(role="third_party"), attempts=(
        attempt(local(2026, 11, 24, 10, 10)), attempt(local(2026, 11, 24, 11, 50))))
    assert decide(s, local(2026, 11, 24, 11, 0)).allowed
