"""The UTC timestamp and money column types on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from dialer.clients.models import Client
from dialer.kit.types import NaiveDatetimeError
from tests.factories import make_case, make_client


async def test_given_aware_time_in_any_zone_when_stored_then_read_back_as_same_instant_in_utc(session):
    shanghai = dt.datetime(2026, 3, 1, 21, 59, 59, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    client = await make_client(session, created_at=shanghai)
    await session.commit()
    session.expunge_all()

    loaded = (await session.execute(select(Client).where(Client.id == client.id))).scalar_one()

    assert loaded.created_at == shanghai
    assert loaded.created_at.tzinfo == dt.timezone.utc
    assert loaded.created_at.hour == 13


async def test_given_naive_time_when_stored_then_refused_and_nothing_written(session):
    with pytest.raises(StatementError) as info:
        await make_client(session, created_at=dt.datetime(2026, 3, 1, 12, 0))
    assert isinstance(info.value.orig, NaiveDatetimeError)
    await session.rollback()
    assert (await session.execute(select(Client))).scalars().all() == []


async def test_given_naive_time_in_a_query_then_refused(session):
    with pytest.raises(StatementError):
        await session.execute(select(Client).where(Client.created_at < dt.datetime(2026, 1, 1)))


async def test_given_amounts_with_fen_when_stored_then_exact(session):
    client = await make_client(session)
    case = await make_case(session, client=client, total_owed=Decimal("123456789.07"))
    await session.commit()
    session.expunge_all()
    from dialer.cases.models import Case

    loaded = (await session.execute(select(Case).where(Case.id == case.id))).scalar_one()
    assert loaded.total_owed == Decimal("123456789.07")


async def test_given_amount_with_three_decimals_then_refused(session):
    client = await make_client(session)
    with pytest.raises(StatementError):
        await make_case(session, client=client, total_owed=Decimal("1.005"))


def test_given_api_time_without_offset_then_schema_refuses_it():
    from pydantic import TypeAdapter, ValidationError

    from dialer.kit.schemas import AwareDatetime

    adapter = TypeAdapter(AwareDatetime)
    assert adapter.validate_python("2026-11-24T09:00:00+08:00").utcoffset() == dt.timedelta(hours=8)
    with pytest.raises(ValidationError, match="naive datetime refused"):
        adapter.validate_python("2026-11-24T09:00:00")
