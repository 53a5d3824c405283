"""Column types shared by every model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, TypeDecorator


class NaiveDatetimeError(ValueError):
    """A datetime without an offset reached the database layer."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware.

    Refuses naive values on the way in, stores UTC (``timestamptz`` on PostgreSQL, a UTC
    string on SQLite) and always hands back an aware UTC ``datetime``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime refused: {value.isoformat()} (an offset is required)")
        utc = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stored: dt.datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=dt.timezone.utc)
        return stored.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Money(TypeDecorator[Decimal]):
    """An amount with two decimals, stored exactly as integer minor units (fen, cents)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
        minor = amount * 100
        if minor != minor.to_integral_value():
            raise ValueError(f"amount {amount} has more than two decimals")
        return int(minor)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
