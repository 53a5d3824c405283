"""What ``/v1/audit`` reads and exports: the audit log's and the ledger's filters and pages, and an
export's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from dialer.compliance.models import Channel
from dialer.kit.bounds import Instant, RowId
from dialer.kit.schemas import Schema


class _Range(Schema):
    """A half-open range of instants ``[from, to)``, both optional, with their offsets."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Instant | None = Field(None, alias="from", description="At or after this instant, with offset")
    to: Instant | None = Field(None, description="Before this instant, with offset")

    @field_validator("from_", "to")
    @classmethod
    def _in_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else value.astimezone(dt.timezone.utc)

    @field_validator("to")
    @classmethod
    def _after_from(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        start = info.data.get("from_")
        if value is not None and start is not None and value <= start:
            raise ValueError("'to' must be after 'from'")
        return value


class LogFilters(_Range):
    """``GET /v1/audit/log``'s query: every filter given narrows the log (they combine with AND)."""

    actor_id: RowId | None = Field(None, description="Entries written by this user")
    action: str | None = Field(None, min_length=1, max_length=64, description="e.g. `recording.media`, `user.create`")
    entity: str | None = Field(None, min_length=1, max_length=32, description="e.g. `recording`, `call`, `user`")
    entity_id: str | None = Field(None, min_length=1, max_length=64, description="With `entity`: that row's entries")
    limit: int = Field(50, ge=1, le=500)
    before: RowId | None = Field(None, description="Continue with entries older than this id (`next_before`)")


class LogEntryOut(Schema):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str | None
    actor_role: str | None
    action: str
    entity: str | None
    entity_id: str | None
    detail: dict[str, Any]


class LogPage(Schema):
    items: list[LogEntryOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null on the last page")


class DecisionFilters(_Range):
    """``GET /v1/audit/decisions``'s query (on the decision's instant ``at``)."""

    client_id: RowId | None = None
    case_id: RowId | None = None
    party_id: RowId | None = None
    agent_id: RowId | None = None
    allowed: bool | None = Field(None, description="true: the allowed decisions; false: the refusals")
    dry_run: bool | None = Field(None, description="true: the compliance checks' dry runs; false: real dials")
    limit: int = Field(50, ge=1, le=500)
    before: RowId | None = Field(None, description="Continue with decisions older than this id (`next_before`)")


class DecisionEntryOut(Schema):
    """A ledger entry as it was written: each rule's result (pass, fail or off), the violations and
    the policy version used."""

    id: int
    at: dt.datetime
    client_id: int | None
    case_id: int | None
    party_id: int | None
    number_id: int | None
    agent_id: int | None
    seat_id: int | None
    channel: Channel
    allowed: bool
    dry_run: bool
    policy_version: int | None
    rule_results: dict[str, Any]
    violations: list[dict[str, Any]]
    next_allowed_at: dt.datetime | None
    created_at: dt.datetime


class DecisionPage(Schema):
    items: list[DecisionEntryOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null on the last page")


ExportFormat = Literal["csv", "xlsx", "json"]


class ExportQuery(_Range):
    """``GET /v1/audit/exports``'s query: at most one of party, case and client, and the range of
    the attempts' and decisions' instants; with none of the three, ``from`` and ``to`` are needed."""

    party_id: RowId | None = None
    case_id: RowId | None = None
    client_id: RowId | None = Field(None, validate_default=True)
    format: ExportFormat = Field("csv", description="csv (formula-like text neutralised), xlsx or json")
    include_dry_runs: bool = Field(False, description="Also the refused dry runs (compliance checks); allowed "
                                                      "dry runs reserved nothing and are never exported")

    @field_validator("client_id")
    @classmethod
    def _one_scope(cls, value: int | None, info: ValidationInfo) -> int | None:
        """Checked here (every time: ``validate_default``), where the fields before it are known; not
        when one of them failed (it is missing from ``info.data``): that error names it already."""
        if not {"from_", "to", "party_id", "case_id"} <= info.data.keys():
            return value
        given = [name for name in ("party_id", "case_id") if info.data.get(name) is not None]
        if value is not None:
            given.append("client_id")
        if len(given) > 1:
            raise ValueError(f"give at most one of party_id, case_id and client_id (got {', '.join(given)})")
        if not given and (info.data.get("from_") is None or info.data.get("to") is None):
            raise ValueError("give party_id, case_id or client_id; an export of every client needs both "
                             "'from' and 'to'")
        return value

    def scope(self) -> dict[str, Any]:
        """What the export covered, as its audit entry records it."""
        return {name: value.isoformat() if isinstance(value, dt.datetime) else value
                for name, value in (("party_id", self.party_id), ("case_id", self.case_id),
                                    ("client_id", self.client_id), ("from", self.from_), ("to", self.to),
                                    ("include_dry_runs", self.include_dry_runs)) if value is not None}
