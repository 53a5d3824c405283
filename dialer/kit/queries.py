"""Small query builders shared by the repositories."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute


def where_given(query: Select, filters: Mapping[InstrumentedAttribute[Any], Any]) -> Select:
    """Add ``column == value`` for every filter whose value is not None."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    return query


def keyset_page(query: Select, id_column: InstrumentedAttribute[int], *, limit: int, after: int | None) -> Select:
    """One page ordered by id: ids greater than ``after``, at most ``limit`` rows."""
    query = query.order_by(id_column).limit(limit)
    return query if after is None else query.where(id_column > after)
