"""Where a party may be (``calling_window.zone_sources``) and parties whose windows never meet.

Regulation F's commentary to 12 CFR 1006.6(b)(1)(i): with conflicting information about where the
consumer is, call only at times convenient in *all* the locations it indicates. ``us-reg-f`` reads
every source (``recorded_and_numbers``); the other presets keep the recorded zone alone
(``recorded_only``). A party whose plausible zones have no instant open in all of them is refused
by ``calling_window_no_overlap``, naming the zones, with no next time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from dialer.compliance.decide import Decision, decide_number, decide_party
from dialer.compliance.rules import plausible_zones
from dialer.compliance.snapshot import NumberFact, PartyFact, Snapshot
from dialer.policy.document import WEEKDAYS, PolicyDocument
from dialer.policy.presets import build_policy
from tests.compliance.test_properties import PROPERTY, _clock

UTC = dt.timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NINE_TO_FIVE = {"weekdays": {d: [{"start": "09:00", "end": "17:00"}] for d in WEEKDAYS}}


def wall(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, tz: ZoneInfo = NEW_YORK) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def party_with(doc: PolicyDocument, *numbers: NumberFact, zone: str | None = None) -> Snapshot:
    return Snapshot(policy=doc, policy_version=1, party=PartyFact(id=1, case_id=1, role="debtor", time_zone=zone),
                    numbers=numbers)


def number(number_id: int = 1, *, zone: str | None = None, prefix: tuple[str, ...] = ()) -> NumberFact:
    return NumberFact(id=number_id, e164=f"+1212555{number_id:04d}", time_zone=zone, prefix_zones=prefix)


def rules_of(decision: Decision) -> list[str]:
    return [v.rule for v in decision.violations]


# --- which zones are plausible ------------------------------------------------------------------


def test_given_recorded_only_then_a_recorded_party_zone_overrides_what_the_numbers_say() -> None:
    s = party_with(build_policy("agency-default"), number(prefix=("America/Los_Angeles",)), zone="America/New_York")
    assert plausible_zones(s) == ("America/New_York",)


def test_given_recorded_and_numbers_then_the_party_zone_and_every_number_zone_are_plausible() -> None:
    s = party_with(build_policy("us-reg-f"), number(1, prefix=("America/Los_Angeles",)),
                   number(2, zone="America/Chicago", prefix=("America/Denver",)), zone="America/New_York")
    # A number's recorded zone stands for that number (its prefix is not read); the party's does not
    # stand for its numbers.
    assert plausible_zones(s) == ("America/Chicago", "America/Los_Angeles", "America/New_York")


def test_given_recorded_and_numbers_without_a_party_zone_then_the_client_default_joins_the_numbers() -> None:
    s = party_with(build_policy("us-reg-f"), number(prefix=("America/Los_Angeles",)))
    assert plausible_zones(s) == ("America/Los_Angeles", "America/New_York")
    unknown_everywhere = party_with(build_policy("us-reg-f"), number())
    assert plausible_zones(unknown_everywhere) == ("America/New_York",)


def test_given_a_new_york_party_with_a_los_angeles_number_when_0830_in_new_york_then_refused_until_0800_in_los_angeles() -> None:
    at = wall(2026, 6, 10, 8, 30)
    reg_f = party_with(build_policy("us-reg-f"), number(prefix=("America/Los_Angeles",)), zone="America/New_York")
    decision = decide_number(reg_f, reg_f.numbers[0], at)
    assert rules_of(decision) == ["calling_window"]
    assert "05:30 America/Los_Angeles" in decision.violations[0].message_en
    assert decision.next_allowed_at == wall(2026, 6, 10, 8, tz=LOS_ANGELES) == wall(2026, 6, 10, 11)
    assert not decide_number(reg_f, reg_f.numbers[0], wall(2026, 6, 10, 21, tz=LOS_ANGELES)).allowed  # 00:00 NY
    # The same party under the recorded zone alone: New York's window is open.
    recorded_only = build_policy("us-reg-f", {"calling_window": {"zone_sources": "recorded_only"}})
    assert decide_number(party_with(recorded_only, *reg_f.numbers, zone="America/New_York"), reg_f.numbers[0], at).allowed


# --- windows that never meet ----------------------------------------------------------------------


def test_given_zones_twelve_hours_apart_with_narrow_windows_then_refused_by_no_overlap_naming_the_zones() -> None:
    doc = build_policy("us-reg-f", {"calling_window": NINE_TO_FIVE})
    s = party_with(doc, number(zone="America/New_York"), zone="Asia/Shanghai")
    at = wall(2026, 6, 10, 10)  # 10:00 in New York, 22:00 in Shanghai
    decision = decide_party(s, at)

    assert not decision.allowed and decision.next_allowed_at is None
    assert rules_of(decision) == ["calling_window", "calling_window_no_overlap"]
    overlap = decision.violations[1]
    assert overlap.retry_at is None
    assert "America/New_York 09:00-17:00; Asia/Shanghai 09:00-17:00" in overlap.message_en
    assert "never overlap" in overlap.message_en and "a person must confirm where the party is" in overlap.message_en
    assert "America/New_York 09:00-17:00; Asia/Shanghai 09:00-17:00" in overlap.message_zh
    assert "互不重叠" in overlap.message_zh
    assert decision.rule_results["calling_window_no_overlap"] == "fail"
    assert decision.rule_results["calling_window"] == "fail"
    # Recorded zone alone: Shanghai only, open at 09:00 Shanghai.
    alone = party_with(build_policy("us-reg-f", {"calling_window": {**NINE_TO_FIVE, "zone_sources": "recorded_only"}}),
                       *s.numbers, zone="Asia/Shanghai")
    assert decide_party(alone, at).next_allowed_at == wall(2026, 6, 11, 9, tz=ZoneInfo("Asia/Shanghai"))


def test_given_three_zones_eight_hours_apart_then_each_pair_meets_but_all_three_never_do() -> None:
    doc = build_policy("us-reg-f")  # 08:00-21:00: thirteen hours, so any two zones share an hour
    zones = ("Europe/London", "Asia/Shanghai", "America/Los_Angeles")
    for pair in ((zones[0], zones[1]), (zones[1], zones[2]), (zones[0], zones[2])):
        two = party_with(doc, number(zone=pair[1]), zone=pair[0])
        assert decide_party(two, wall(2026, 6, 10, 12)).next_allowed_at is not None
    three = party_with(doc, number(1, zone=zones[1]), number(2, prefix=(zones[2],)), zone=zones[0])
    for at in (wall(2026, 6, 10, 12), wall(2026, 12, 10, 12)):  # summer and winter offsets
        decision = decide_party(three, at)
        assert "calling_window_no_overlap" in rules_of(decision) and decision.next_allowed_at is None


def test_given_windows_that_meet_only_in_summer_time_then_the_next_allowed_is_after_the_dst_change() -> None:
    # 08:00-09:00 and 20:00-21:00 local. New York on EDT (UTC-4) is twelve hours behind Shanghai and
    # the windows coincide; on EST (UTC-5) they miss each other by an hour.
    window = {"weekdays": {d: [{"start": "08:00", "end": "09:00"}, {"start": "20:00", "end": "21:00"}]
                           for d in WEEKDAYS}}
    s = party_with(build_policy("us-reg-f", {"calling_window": window}), number(zone="Asia/Shanghai"),
                   zone="America/New_York")
    winter = decide_party(s, wall(2026, 1, 10, 12))
    assert rules_of(winter) == ["calling_window"]  # they do meet, later: not a no-overlap refusal
    assert winter.next_allowed_at == dt.datetime(2026, 3, 8, 12, tzinfo=UTC)  # 08:00 EDT, 20:00 in Shanghai
    after_fall_back = decide_party(s, wall(2026, 11, 2, 12))
    assert after_fall_back.next_allowed_at == dt.datetime(2027, 3, 14, 12, tzinfo=UTC)


def test_given_one_zone_whose_window_never_opens_then_the_calling_window_alone_refuses() -> None:
    closed = {"weekdays": {d: [] for d in WEEKDAYS}}
    s = party_with(build_policy("us-reg-f", {"calling_window": closed}), number(zone="Asia/Shanghai"),
                   zone="America/New_York")
    decision = decide_party(s, wall(2026, 6, 10, 12))
    assert rules_of(decision) == ["calling_window"] and decision.next_allowed_at is None
    assert decision.rule_results["calling_window_no_overlap"] == "pass"


# --- hypothesis: allowed exactly when open in every zone the information indicates -------------------

ZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Shanghai", "Asia/Kolkata",
         "Pacific/Honolulu", "Australia/Sydney")
"""Offsets from -10 to +11 hours, whole and half; every change of them falls on a quarter hour."""
BASES = tuple(dt.datetime(*d, tzinfo=UTC) for d in (
    (2026, 3, 6), (2026, 3, 27), (2026, 4, 3), (2026, 10, 2), (2026, 10, 23), (2026, 10, 30),
    (2027, 3, 12), (2027, 11, 5),
))
QUARTER = dt.timedelta(minutes=15)


@st.composite
def windows(draw: st.DrawFn) -> list[dict[str, str]]:
    kind = draw(st.sampled_from(["closed", "us", "narrow", "narrow", "two"]))
    if kind == "closed":
        return []
    if kind == "us":
        return [{"start": "08:00", "end": "21:00"}]
    count = 2 if kind == "narrow" else 4
    marks = sorted(draw(st.sets(st.integers(0, 96), min_size=count, max_size=count)))
    return [{"start": _clock(marks[i] * 15), "end": _clock(marks[i + 1] * 15)} for i in range(0, count, 2)]


@st.composite
def parties(draw: st.DrawFn) -> Snapshot:
    weekly = draw(st.one_of(windows().map(lambda w: {d: w for d in WEEKDAYS}),
                            st.fixed_dictionaries({d: windows() for d in WEEKDAYS})))
    overrides: dict[str, Any] = {"calling_window": {"weekdays": weekly}, "default_time_zone": draw(st.sampled_from(ZONES))}
    numbers = tuple(
        number(i + 1, zone=draw(st.one_of(st.none(), st.sampled_from(ZONES))),
               prefix=tuple(sorted(draw(st.sets(st.sampled_from(ZONES), max_size=2)))))
        for i in range(draw(st.integers(1, 3)))
    )
    return party_with(build_policy("us-reg-f", overrides), *numbers,
                      zone=draw(st.one_of(st.none(), st.sampled_from(ZONES))))


def indicated_zones(s: Snapshot) -> list[str]:
    """Every location the information indicates: the party's recorded zone (else the client's
    default), each number's recorded zone, else every zone its prefix suggests."""
    zones = {s.party.time_zone or s.policy.default_time_zone}
    for n in s.numbers:
        zones.update([n.time_zone] if n.time_zone else n.prefix_zones)
    return sorted(zones)


def open_in(doc: PolicyDocument, at: dt.datetime, name: str) -> bool:
    local = at.astimezone(ZoneInfo(name))
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    day = getattr(doc.calling_window.weekdays, WEEKDAYS[local.weekday()])
    return any(i.start_minute * 60 <= seconds < i.end_minute * 60 for i in day)


def open_everywhere(s: Snapshot, at: dt.datetime) -> bool:
    return all(open_in(s.policy, at, name) for name in indicated_zones(s))


def quarter_marks(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """``start`` and every quarter hour after it, before ``end``: where an opening can fall."""
    first = dt.datetime.fromtimestamp(-(-start.timestamp() // QUARTER.total_seconds()) * QUARTER.total_seconds(), UTC)
    marks = [start]
    while first < end:
        marks.append(first)
        first += QUARTER
    return [m for m in marks if m < end]


@PROPERTY
@given(s=parties(), base=st.sampled_from(BASES), seconds=st.integers(0, 8 * 86400))
def test_a_dial_is_allowed_exactly_when_every_indicated_zone_is_inside_its_window(
    s: Snapshot, base: dt.datetime, seconds: int,
) -> None:
    at = base + dt.timedelta(seconds=seconds)
    assert set(plausible_zones(s)) == set(indicated_zones(s))
    for n in s.numbers:
        assert decide_number(s, n, at).allowed == open_everywhere(s, at)


@PROPERTY
@given(s=parties(), base=st.sampled_from(BASES), seconds=st.integers(0, 8 * 86400))
def test_the_next_allowed_time_is_open_in_every_zone_and_nothing_earlier_is(
    s: Snapshot, base: dt.datetime, seconds: int,
) -> None:
    at = base + dt.timedelta(seconds=seconds)
    decision = decide_party(s, at)
    if decision.allowed:
        return
    nxt = decision.next_allowed_at
    rules = rules_of(decision)
    if nxt is None:
        never_opens = all(not getattr(s.policy.calling_window.weekdays, d) for d in WEEKDAYS)
        assert ("calling_window_no_overlap" in rules) == (not never_opens)
        assert rules[0] == "calling_window"
        assert not any(open_everywhere(s, t) for t in quarter_marks(at, at + dt.timedelta(days=8)))
        return
    assert "calling_window_no_overlap" not in rules
    assert nxt > at and open_everywhere(s, nxt) and decide_party(s, nxt).allowed
    horizon = min(nxt, at + dt.timedelta(days=20))
    assert not any(open_everywhere(s, t) for t in quarter_marks(at, horizon)), f"open before {nxt}"
