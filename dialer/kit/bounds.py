"""Numbers and times from outside, bounded by what the service can hold and compute with.

A number past a column's range is not a question the database can answer: SQLite refuses to bind
it, PostgreSQL refuses the query (a 500 either way). Every integer a request carries, in a path, a
query or a body, is one of these types, so it is a 422 naming the field instead, and the OpenAPI
document states the range.

Likewise a day or an instant near Python's own limits (years 1 and 9999): moving it into a zone, or
a window of days or years from it, overflows. The ones a request carries lie within ``FIRST_DAY``
and ``LAST_DAY`` (far from the limits and from any debt on record), or are a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator

from dialer.kit.schemas import AwareDatetime

BIGINT_MAX = 2**63 - 1
"""PostgreSQL's BIGINT, and SQLite's INTEGER: the ids (``kit.db.BigIntPK``), sizes in bytes, money in minor units."""
INTEGER_MAX = 2**31 - 1
"""PostgreSQL's INTEGER: days overdue, versions, positions, counts."""

RowId = Annotated[int, Ge(1), Le(BIGINT_MAX)]
"""A row's id."""
AfterId = Annotated[int, Ge(0), Le(BIGINT_MAX)]
"""A keyset cursor: the rows with an id greater than this."""
Count = Annotated[int, Ge(0), Le(INTEGER_MAX)]
"""A number of days, a count, a position: what an INTEGER column holds, from 0."""
Version = Annotated[int, Ge(1), Le(INTEGER_MAX)]
"""A version number (INTEGER), from 1."""

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


def _within_days(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value  # an instant's own (local) day
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"out of range: give a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}")
    return value


Day = Annotated[dt.date, AfterValidator(_within_days)]
"""A calendar day, within ``FIRST_DAY`` and ``LAST_DAY``."""
Instant = Annotated[AwareDatetime, AfterValidator(_within_days)]
"""An instant with its offset (``kit.schemas.AwareDatetime``) whose day lies within ``FIRST_DAY`` and ``LAST_DAY``."""
