"""Recording retention in the policy document: a preset's floor no client may go under."""

from __future__ import annotations

import pytest

from dialer.kit.errors import InvalidInput
from dialer.policy.presets import build_policy, describe, load_preset


def test_given_each_preset_then_three_years_kept_and_its_regulations_floor():
    assert load_preset("agency-default").recordings.retention_days == 1096
    assert load_preset("cn-cba-2026").recordings.minimum_days == 730  # two years
    assert load_preset("us-reg-f").recordings.minimum_days == 1096  # three years


def test_given_a_longer_retention_then_accepted_and_described():
    doc = build_policy("cn-cba-2026", {"recordings": {"retention_days": 2000}})

    assert doc.recordings.retention_days == 2000
    assert "Recordings kept 2000 days" in describe(doc)


def test_given_retention_under_the_floor_then_refused_naming_the_field():
    with pytest.raises(InvalidInput) as refused:
        build_policy("us-reg-f", {"recordings": {"retention_days": 800}})

    assert refused.value.detail.startswith("overrides.recordings:")
    assert "under the minimum of 1096 days" in refused.value.detail


def test_given_an_override_lowering_the_presets_floor_then_refused():
    with pytest.raises(InvalidInput) as refused:
        build_policy("us-reg-f", {"recordings": {"retention_days": 800, "minimum_days": 700}})

    assert refused.value.extra["field"] == "overrides.recordings.minimum_days"
    assert "at least 1096 days" in refused.value.detail


def test_given_a_client_raising_the_floor_then_kept():
    doc = build_policy("cn-cba-2026", {"recordings": {"minimum_days": 1500, "retention_days": 1500}})

    assert doc.recordings.minimum_days == 1500
