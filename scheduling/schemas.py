from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from dialer.cases.models import Contactability
from dialer.kit.bounds import Instant, RowId
from dialer.kit.schemas import Schema
from dialer.tasks.models import TaskKind, TaskStatus

# --- tasks -------------------------------------------------------------------------------


class TaskOut(Schema):
    id: int
    case_id: int
    party_id: int | None
    kind: TaskKind
    status: TaskStatus
    priority: int = Field(description="Higher is more urgent")
    due_at: dt.datetime
    due_until: dt.datetime | None
    reason: str | None
    dedupe_key: str | None
    assigned_agent_id: int | None
    created_at: dt.datetime
    done_at: dt.datetime | None


class TaskUpdate(Schema):
    status: Literal[TaskStatus.DONE, TaskStatus.CANCELLED]


# --- minimum frequency ------------------------------------------------------------------


class ReasonOut(BaseModel):
    code: str = Field(description="stop_contact, numbers_invalid, no_numbers or no_calling_time")
    message: str


class UnderMinimumOut(BaseModel):
    case_id: int
    client_id: int
    account_ref: str
    contactability: Contactability
    assigned_agent_id: int | None
    period: str = Field(description="The calendar week (2026-W48) or month (2026-11) the minimum is counted in")
    period_end: dt.datetime
    required: int
    made: int
    expected_by_now: int
    behind: bool = Field(description="Fewer calls than an even pace would have given by now")
    will_miss: bool = Field(description="Cannot reach the minimum without a person's action (see reasons)")
    callable_days_left: int
    reasons: list[ReasonOut]
    summary: str
    next_follow_up_at: dt.datetime | None


# --- payments ------------------------------------------------------------------------------


class PaymentIn(Schema):
    account_ref: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    paid_at: Instant
    reference: str = Field(min_length=1, max_length=128, description="The bank's transaction id, unique per client")
    promise_id: RowId | None = Field(None, description="The promise the payment is for; matched when absent")


class PaymentImport(Schema):
    client_id: RowId
    payments: list[PaymentIn] = Field(min_length=1, max_length=10000)


class PaymentImportOut(BaseModel):
    batch_id: int
    rows: int
    created: dict[str, int]
    promises: dict[str, int] = Field(description="Promises this import settled: kept, broken, reopened")


# --- reports ----------------------------------------------------------------------------------


class KpisOut(BaseModel):
    connect_rate: float | None
    ptp_rate: float | None
    kept_rate: float | None
    penetration: float | None
    average_payment: Decimal | None
    collected_per_hour: Decimal | None
    kept_per_hour: float | None


class FiguresOut(BaseModel):
    calls: int
    connects: int
    talk_seconds: int
    cases_called: int = Field(description="Distinct cases called (over a range: each case once)")
    assigned_cases: int = Field(description="Open cases assigned now")
    promises: int
    promised_amount: Decimal
    kept: int
    broken: int
    payments: int
    collected: Decimal
    logged_in_seconds: int
    refusals: dict[str, int] = Field(description="Dial requests the policy refused, by rule id")
    kpis: KpisOut


class StatsRowOut(FiguresOut):
    scope: Literal["agent", "team", "total"]
    agent_id: int | None
    agent: str | None
    team: str | None


class DayFiguresOut(FiguresOut):
    day: dt.date


class DailyReportOut(BaseModel):
    day: dt.date | None = Field(description="The day of a one-day report; null for a range")
    from_: dt.date = Field(alias="from", description="The period's first day")
    to: dt.date = Field(description="The period's last day (the same as `from` for one day)")
    time_zone: str
    rows: list[StatsRowOut] = Field(description="Per agent (by team, then name), per team, then the total")
    days: list[DayFiguresOut] = Field(description="Per day of the period: the figures of the rows' agents together")


class JobRunOut(BaseModel):
    name: str
    ran: bool
    started_at: dt.datetime
    summary: dict[str, Any]
