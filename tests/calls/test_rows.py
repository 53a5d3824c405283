"""The fast path's call row (``dialer.calls.rows``) against the model: a column added to ``calls``,
or a default given to one, must be accounted for there, or these fail."""

from __future__ import annotations

import datetime as dt

from dialer.calls.models import Call, CallState, Direction
from dialer.calls.rows import DEFAULTED, SET_BY_RESERVATION, NewOutboundCall

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


def _row() -> dict:
    return NewOutboundCall(carrier="twilio", agent_id=7, seat_id=3, campaign_id=None, from_e164="+862161230000",
                           requested_at=NOW).row()


def test_given_the_model_then_the_row_and_the_reservation_name_every_column_but_the_id() -> None:
    columns = {column.key for column in Call.__table__.columns} - {"id"}
    assert set(_row()) | SET_BY_RESERVATION == columns
    assert not set(_row()) & SET_BY_RESERVATION


def test_given_a_column_with_a_default_then_the_row_sets_it_explicitly() -> None:
    """The row is written by a Core insert naming every column: a model default would be skipped
    (NULL written over it), so each defaulted column must be given its value here."""
    row = _row()
    defaulted = {column.key for column in Call.__table__.columns
                 if column.key != "id" and (column.default is not None or column.server_default is not None)}
    stamped = {"requested_at", "updated_at"}  # the dial's instant and now
    assert defaulted - stamped == set(DEFAULTED), "a column with a default is missing from calls.rows.DEFAULTED"
    for key in defaulted:
        assert row[key] is not None, f"calls.{key} has a default but the fast row writes NULL"
    for key, value in DEFAULTED.items():
        default = Call.__table__.c[key].default
        assert default is not None and default.arg == value, f"calls.{key}: the model's default is not the row's"


def test_given_a_new_outbound_call_then_its_row_is_a_requested_outbound_call_of_the_agent() -> None:
    row = _row()
    assert (row["direction"], row["state"], row["agent_id"], row["seat_id"], row["requested_at"]) == (
        Direction.OUTBOUND, CallState.REQUESTED, 7, 3, NOW)
    assert row["carrier_call_id"] is None and row["outcome"] is None and row["ended_at"] is None
