from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.kit.errors import InvalidInput
from dialer.policy.document import RULES, WEEKDAYS, Interval, PolicyDocument
from dialer.policy.presets import build_policy, describe, list_presets, load_preset

PRESETS = ["agency-default", "cn-cba-2026", "us-reg-f"]


def test_the_three_presets_are_shipped() -> None:
    assert list_presets() == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_loads_under_its_own_name(name: str) -> None:
    doc = load_preset(name)
    assert doc.name == name
    assert doc.description
    assert build_policy(name, None) == doc == build_policy(name, {})


def test_agency_default_is_the_schema_default() -> None:
    doc = load_preset("agency-default")
    assert doc == PolicyDocument(name="agency-default", description=doc.description)
    assert doc.caps.third_party_daily_cap == 6
    assert doc.caps.third_party_hourly_cap == 2
    assert doc.caps.debtor_number_daily_cap == 6
    assert doc.caps.debtor_conversation_daily_cap == 3
    assert doc.window_for(dt.date(2026, 11, 24)) == [(dt.time(8), dt.time(22))]


def test_cn_cba_2026_gates_third_parties_on_an_unreachable_debtor() -> None:
    doc = load_preset("cn-cba-2026")
    assert doc.third_party.only_after_debtor_unreachable is not None
    assert doc.third_party.only_after_debtor_unreachable.failed_attempts_in_a_row == 3
    assert doc.third_party.debt_related_distinction is True
    assert doc.default_time_zone == "Asia/Shanghai"
    assert doc.caps == load_preset("agency-default").caps
    assert "third_party_after_debtor_unreachable" in doc.enabled_rules()


def test_us_reg_f_is_eight_to_nine_with_seven_in_seven() -> None:
    doc = load_preset("us-reg-f")
    for weekday in WEEKDAYS:
        assert getattr(doc.calling_window.weekdays, weekday) == (Interval(start="08:00", end="21:00"),)
    assert doc.calling_window.unknown_zone_strategy == "all_plausible"
    assert doc.default_time_zone == "America/New_York"
    assert doc.us_style.attempts_in_7_days_cap == 7
    assert doc.us_style.pause_after_conversation_days == 7
    assert doc.us_style.third_party_spoken_once is True
    assert {"us_7_in_7", "us_pause_after_conversation", "us_third_party_once"} <= set(doc.enabled_rules())


# --- build_policy: merge -------------------------------------------------------------------


def test_overrides_merge_dicts_deeply_and_replace_lists() -> None:
    overrides = {
        "calling_window": {"weekdays": {"sun": [], "sat": [{"start": "09:00", "end": "18:00"}]}},
        "caps": {"third_party_daily_cap": 4},
        "third_party": {"only_after_debtor_unreachable": None},
        "obligations": {"ptp_due_day_calls": ["10:00"]},
    }
    before = copy.deepcopy(overrides)

    doc = build_policy("cn-cba-2026", overrides)

    assert doc.calling_window.weekdays.sun == ()
    assert doc.calling_window.weekdays.sat == (Interval(start="09:00", end="18:00"),)
    assert doc.calling_window.weekdays.mon == (Interval(start="08:00", end="22:00"),)
    assert doc.caps.third_party_daily_cap == 4
    assert doc.caps.third_party_hourly_cap == 2  # untouched sibling kept
    assert doc.third_party.only_after_debtor_unreachable is None
    assert doc.third_party.debt_related_distinction is True
    assert doc.obligations.ptp_due_day_calls == ("10:00",)
    assert overrides == before


def test_an_override_can_switch_on_a_rule_the_preset_leaves_off() -> None:
    doc = build_policy("agency-default", {"third_party": {"only_after_debtor_unreachable": {"failed_attempts_in_a_row": 5}}})
    assert doc.third_party.only_after_debtor_unreachable is not None
    assert doc.third_party.only_after_debtor_unreachable.failed_attempts_in_a_row == 5


# --- build_policy: errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"caps": {"third_party_daly_cap": 3}}, "overrides.caps.third_party_daly_cap", "unknown field"),
        ({"calling_windows": {}}, "overrides.calling_windows", "unknown field"),
        (
            {"calling_window": {"weekdays": {"mon": [{"start": "25:00", "end": "22:00"}]}}},
            "overrides.calling_window.weekdays.mon[0].start",
            "not a local time",
        ),
        (
            {"calling_window": {"weekdays": {"fri": [{"start": "08:00", "end": "13:00"}, {"start": "12:00", "end": "20:00"}]}}},
            "overrides.calling_window.weekdays.fri",
            "overlap",
        ),
        (
            {"calling_window": {"weekdays": {"wed": [{"start": "22:00", "end": "08:00"}]}}},
            "overrides.calling_window.weekdays.wed[0]",
            "must be before end",
        ),
        ({"default_time_zone": "Asia/Beijing"}, "overrides.default_time_zone", "unknown time zone"),
        ({"caps": {"debtor_number_daily_cap": -2}}, "overrides.caps.debtor_number_daily_cap", "greater than or equal to 1"),
        ({"us_style": {"attempts_in_7_days_cap": 0}}, "overrides.us_style.attempts_in_7_days_cap", "greater than or equal"),
        ({"rules": "all off"}, "overrides.rules", "valid dictionary"),
    ],
)
def test_an_invalid_override_is_refused_naming_the_field(overrides: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        build_policy("agency-default", overrides)

    assert exc.value.detail.startswith(f"{field}: ")
    assert message in exc.value.detail
    assert exc.value.extra["field"] == field
    assert exc.value.extra["errors"][0] == {"field": field, "message": exc.value.extra["errors"][0]["message"]}
    assert message in exc.value.extra["errors"][0]["message"]
    assert exc.value.body()["error"] == "invalid_input"


def test_every_bad_field_is_listed() -> None:
    with pytest.raises(InvalidInput) as exc:
        build_policy("agency-default", {"caps": {"third_party_daily_cap": 0, "typo": 1}, "language": "Chinese"})

    fields = {error["field"] for error in exc.value.extra["errors"]}
    assert fields == {"overrides.caps.third_party_daily_cap", "overrides.caps.typo", "overrides.language"}
    assert "(and 2 more)" in exc.value.detail


def test_overrides_must_be_an_object() -> None:
    with pytest.raises(InvalidInput, match="must be an object") as exc:
        build_policy("agency-default", ["caps"])  # type: ignore[arg-type]
    assert exc.value.extra["field"] == "overrides"


@pytest.mark.parametrize("name", ["nope", "../document", "agency-default.json", ""])
def test_an_unknown_preset_is_refused(name: str) -> None:
    for call in (lambda: load_preset(name), lambda: build_policy(name, {})):
        with pytest.raises(InvalidInput) as exc:
            call()
        assert exc.value.detail.startswith(f"unknown policy preset {name!r}; known: agency-default, cn-cba-2026")
        assert exc.value.extra == {"field": "preset"}


# --- describe ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_describe_mentions_every_rule_and_the_window(name: str) -> None:
    text = describe(load_preset(name))

    for rule in RULES:
        assert f"{rule.id} {rule.name_zh}" in text
    assert ("mon-sun: 08:00-21:00" if name == "us-reg-f" else "mon-sun: 08:00-22:00") in text


def test_describe_shows_overridden_values() -> None:
    doc = build_policy(
        "agency-default",
        {
            "caps": {"third_party_daily_cap": None, "debtor_number_daily_cap": 4},
            "calling_window": {
                "weekdays": {"sat": [], "sun": []},
                "holidays": [{"date": "2026-10-01", "note": "National Day"}],
            },
        },
    )
    text = describe(doc)

    assert "[off] third_party_daily_cap" in text
    assert "at most 4 attempts per local day to one debtor number" in text
    assert "mon-fri: 08:00-22:00" in text and "sat-sun: closed" in text
    assert "2026-10-01 (National Day): closed" in text


# --- property ------------------------------------------------------------------------------

caps = st.none() | st.integers(min_value=1, max_value=10_000)
cap_overrides = st.fixed_dictionaries(
    {},
    optional={
        "third_party_daily_cap": caps,
        "third_party_hourly_cap": caps,
        "third_party_hourly_window_minutes": st.integers(min_value=1, max_value=1440),
        "debtor_number_daily_cap": caps,
        "debtor_conversation_daily_cap": caps,
    },
)


@given(preset=st.sampled_from(PRESETS), cap_values=cap_overrides, us_cap=caps)
def test_valid_cap_overrides_round_trip(preset: str, cap_values: dict[str, Any], us_cap: int | None) -> None:
    doc = build_policy(preset, {"caps": cap_values, "us_style": {"attempts_in_7_days_cap": us_cap}})

    assert build_policy(preset, doc.model_dump(mode="json")) == doc
    assert PolicyDocument.model_validate_json(doc.model_dump_json()) == doc
    for key, value in cap_values.items():
        assert getattr(doc.caps, key) == value
