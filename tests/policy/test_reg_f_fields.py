"""The policy fields of issue #17: ``us_style.counting`` (how Regulation F's 7-day periods are
measured) and ``calling_window.zone_sources`` (where a party's plausible zones come from)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.kit.errors import InvalidInput
from dialer.policy.document import PolicyDocument
from dialer.policy.presets import build_policy, describe, load_preset


def test_given_no_settings_then_the_periods_roll_and_the_recorded_zone_alone_counts() -> None:
    doc = PolicyDocument(name="test")
    assert doc.us_style.counting == "rolling"
    assert doc.calling_window.zone_sources == "recorded_only"


@pytest.mark.parametrize(("preset", "counting", "sources"), [
    ("agency-default", "rolling", "recorded_only"),
    ("cn-cba-2026", "rolling", "recorded_only"),
    ("us-reg-f", "calendar_days", "recorded_and_numbers"),
])
def test_each_preset_states_its_counting_and_zone_sources(preset: str, counting: str, sources: str) -> None:
    doc = load_preset(preset)
    assert doc.us_style.counting == counting
    assert doc.calling_window.zone_sources == sources


def test_the_field_descriptions_name_their_source_in_regulation_f() -> None:
    schema = PolicyDocument.model_json_schema()["$defs"]
    counting = schema["UsStyle"]["properties"]["counting"]
    assert counting["enum"] == ["rolling", "calendar_days"] and counting["default"] == "rolling"
    assert "12 CFR 1006.14(b)(2)(i) and (ii)" in counting["description"]
    assert "the date of the conversation being the first day" in counting["description"]
    sources = schema["CallingWindow"]["properties"]["zone_sources"]
    assert sources["enum"] == ["recorded_only", "recorded_and_numbers"] and sources["default"] == "recorded_only"
    assert "12 CFR 1006.6(b)(1)(i)" in sources["description"]
    assert "no address zone" in sources["description"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"us_style": {"counting": "weeks"}}, "overrides.us_style.counting"),
    ({"calling_window": {"zone_sources": "recorded_numbers_and_address"}}, "overrides.calling_window.zone_sources"),
])
def test_an_unknown_choice_is_refused_naming_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        build_policy("us-reg-f", overrides)
    assert exc.value.extra["field"] == field


def test_given_every_source_then_the_default_zone_strategy_cannot_ignore_the_numbers() -> None:
    with pytest.raises(InvalidInput) as exc:
        build_policy("us-reg-f", {"calling_window": {"unknown_zone_strategy": "party_or_default"}})
    assert exc.value.extra["field"] == "overrides.calling_window"
    assert "needs unknown_zone_strategy 'all_plausible'" in exc.value.detail
    relaxed = build_policy("us-reg-f", {"calling_window": {"unknown_zone_strategy": "party_or_default",
                                                           "zone_sources": "recorded_only"}})
    assert relaxed.calling_window.unknown_zone_strategy == "party_or_default"


def test_describe_says_how_the_days_are_counted_and_where_the_zones_come_from() -> None:
    reg_f = describe(load_preset("us-reg-f"))
    assert "at most 7 attempts in 7 consecutive local calendar days per person per debt" in reg_f
    assert "no call on the 7 local calendar days from the day of a conversation" in reg_f
    assert "plausible zones: the party's recorded zone and every zone its numbers indicate, all at once" in reg_f
    assert "[on ] calling_window_no_overlap" in reg_f
    rolling = describe(build_policy("us-reg-f", {"us_style": {"counting": "rolling"},
                                                 "calling_window": {"zone_sources": "recorded_only"}}))
    assert "at most 7 attempts in 7 consecutive days (rolling 7 x 24 hours) per person per debt" in rolling
    assert "no call within 7 days (rolling 24 hours each) after a conversation" in rolling
    assert "plausible zones: the party's recorded zone alone when it has one" in rolling


@given(preset=st.sampled_from(["agency-default", "cn-cba-2026", "us-reg-f"]),
       counting=st.sampled_from(["rolling", "calendar_days"]),
       sources=st.sampled_from(["recorded_only", "recorded_and_numbers"]))
def test_the_choices_round_trip_through_a_stored_document(preset: str, counting: str, sources: str) -> None:
    doc = build_policy(preset, {"us_style": {"counting": counting}, "calling_window": {"zone_sources": sources}})
    assert (doc.us_style.counting, doc.calling_window.zone_sources) == (counting, sources)
    assert PolicyDocument.model_validate_json(doc.model_dump_json()) == doc


def test_a_document_stored_before_these_fields_reads_as_todays_behaviour() -> None:
    stored = load_preset("us-reg-f").model_dump(mode="json")
    del stored["us_style"]["counting"], stored["calling_window"]["zone_sources"]
    doc = PolicyDocument.model_validate(stored)
    assert (doc.us_style.counting, doc.calling_window.zone_sources) == ("rolling", "recorded_only")
