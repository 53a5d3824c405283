"""The contact status's cap usage reads the 7-in-7 cap as the rule does: under ``calendar_days``
the busiest 7 consecutive local days holding today, and the local midnight the count drops."""

from __future__ import annotations

import datetime as dt

from dialer.compliance.usage import cap_usage
from tests.compliance.test_calendar_days import call, party_snapshot, reg_f, wall


def _seven_in_seven(snapshot, at):
    [usage] = [u for u in cap_usage(snapshot, at) if u.rule == "us_7_in_7"]
    return usage


def test_given_calls_on_three_local_days_when_usage_is_read_then_it_counts_calendar_days_and_the_first_drop():
    calls = [call(wall(2026, 11, 2, 23, 50)), call(wall(2026, 11, 2, 9)), call(wall(2026, 11, 5, 10)),
             call(wall(2026, 11, 8, 9))]
    snapshot = party_snapshot(reg_f(), *calls)

    usage = _seven_in_seven(snapshot, wall(2026, 11, 8, 12))

    assert (usage.used, usage.limit) == (4, 7)
    assert "2026-11-02 to 2026-11-08 in America/New_York" in usage.window
    # 2026-11-02's two calls leave the period at local midnight starting 2026-11-09
    assert usage.resets_at == wall(2026, 11, 9)


def test_given_a_call_at_2359_local_when_read_at_midnight_rolling_and_calendar_counts_differ():
    calls = [call(wall(2026, 11, 1, 23, 59))]
    calendar = _seven_in_seven(party_snapshot(reg_f(), *calls), wall(2026, 11, 8, 0, 0))
    rolling = _seven_in_seven(
        party_snapshot(reg_f(us_style={"counting": "rolling"}), *calls), wall(2026, 11, 8, 0, 0))

    assert calendar.used == 0 and calendar.resets_at is None  # local day 2026-11-01 is 7 days back
    assert rolling.used == 1 and rolling.resets_at == calls[0].started_at + dt.timedelta(days=7)
