"""Small query builders shared by the repositories."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dialer.kit.errors import NotFound

T = TypeVar("T")


def where_given(query: Select[Any], filters: Mapping[InstrumentedAttribute[Any], Any]) -> Select[Any]:
    """Add ``column == value`` for every filter whose value is not None."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    return query


def keyset_page(query: Select[Any], id_column: InstrumentedAttribute[int], *, limit: int, after: int | None) -> Select[Any]:
    """One page ordered by id: ids greater than ``after``, at most ``limit`` rows."""
    query = query.order_by(id_column).limit(limit)
    return query if after is None else query.where(id_column > after)


async def get_or_404(session: AsyncSession, model: type[T], row_id: int, label: str) -> T:
    """The row with this primary key, or :class:`NotFound` naming it (``"seat 7 not found"``)."""
    row = await session.get(model, row_id)
    if row is None:
        raise NotFound(f"{label} {row_id} not found")
    return row


async def required(session: AsyncSession, model: type[T], row_id: int | None) -> T:
    """A row a foreign key guarantees (the client of a case, the case of a call): its absence is a
    broken invariant, raised as such rather than met later as an ``AttributeError`` on None."""
    row = await session.get(model, row_id) if row_id is not None else None
    if row is None:
        raise LookupError(f"{model.__name__} {row_id} is missing although a foreign key requires it")
    return row
