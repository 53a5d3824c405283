"""HOT PATH (bench/dialer.py, bench/policy.py): the new outbound call's row as the reservation writes
it, built from a typed value so that a column added to ``calls`` cannot be silently skipped.

The dial writes the call with a Core ``INSERT`` inside the reservation's one statement and makes
the session's instance from the same values without reading the row back; so the row names every
column, and a column's model default is *not* applied for it. :data:`DEFAULTED` lists the columns
that have a default and the value the row gives each; ``tests/calls/test_rows.py`` fails when the
model gains a column (or a default) this module does not account for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dialer.calls.models import Call, CallState, Direction
from dialer.kit.types import utcnow

SET_BY_RESERVATION = frozenset({"client_id", "case_id", "party_id", "number_id", "to_e164", "decision_id"})
"""The party's columns and the ledger entry, which the reservation adds (``compliance.service``)."""

DEFAULTED = {"state": CallState.REQUESTED, "conversation": False, "recording_missing": False}
"""Columns with a model default, as the new call's row sets them (``requested_at`` and ``updated_at``
are the dial's instant and now)."""

_EMPTY = dict.fromkeys(
    column.key for column in Call.__table__.columns if column.key != "id" and column.key not in SET_BY_RESERVATION
)


@dataclass(frozen=True, slots=True)
class NewOutboundCall:
    """What an outbound call is written with before the party is known."""

    carrier: str
    agent_id: int
    seat_id: int
    campaign_id: int | None
    from_e164: str
    requested_at: dt.datetime

    def row(self) -> dict[str, Any]:
        """Every column of the new call but the reservation's (:data:`SET_BY_RESERVATION`) and ``id``:
        the rest None (no leg yet, no outcome, no time but the request's)."""
        return {
            **_EMPTY, **DEFAULTED, "direction": Direction.OUTBOUND, "carrier": self.carrier,
            "agent_id": self.agent_id, "seat_id": self.seat_id, "campaign_id": self.campaign_id,
            "from_e164": self.from_e164, "requested_at": self.requested_at, "updated_at": utcnow(),
        }
