"""The tables under a hash chain, the columns each format hashes, and how a row is read for hashing.

A format is the list of a table's columns hashed. Sealing always uses the newest; an entry keeps
the format it was sealed with, so adding a column means adding a format (a test compares the newest
with the model, so a new column cannot be left out silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Enum, Label, Row, String, Table, Text, type_coerce

from dialer.audit.chain.canonical import Kind, column_value, content_hash
from dialer.audit.chain_models import AuditChainEntry, DecisionChainEntry
from dialer.audit.models import AuditEntry
from dialer.compliance.models import Decision
from dialer.kit.db import table_of


@dataclass(frozen=True, slots=True)
class Chained:
    name: str
    """The command line's name: ``audit`` or ``decisions``."""
    rows: Table
    chain: Table
    written_at: str
    """The row's own write time: what "sealed late" and "unsealed too long" are measured from."""
    formats: Mapping[int, tuple[str, ...]]
    kinds: Mapping[str, Kind]

    @property
    def format(self) -> int:
        """The newest format: the one rows are sealed with."""
        return max(self.formats)

    def columns(self, version: int) -> list[Label[Any]]:
        """The row's columns of format ``version``, read raw (labelled ``r_<name>``): timestamps and
        JSON as the driver hands them over, enums as their text, so a value written by hand is
        hashed as it is instead of failing to load."""
        return [_raw(self.rows.c[name], self.kinds[name]).label(f"r_{name}") for name in self.formats[version]]

    def content_hash(self, version: int, row: Row[Any]) -> str:
        """The content hash of ``row`` (selected with :meth:`columns` of the same version)."""
        stored, kinds = row._mapping, self.kinds
        values = {name: column_value(kinds[name], stored[f"r_{name}"]) for name in self.formats[version]}
        return content_hash(self.rows.name, version, values)


def _chained(name: str, rows: Table, chain: Table, written_at: str, formats: Mapping[int, tuple[str, ...]]) -> Chained:
    return Chained(name, rows, chain, written_at, formats, {column.name: _kind(column.type) for column in rows.columns})


def _kind(type_: Any) -> Kind:
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, DateTime) or isinstance(getattr(type_, "impl", None), DateTime):
        return "timestamp"
    if isinstance(type_, JSON):
        return "json"
    return "value"


def _raw(column: Any, kind: Kind) -> Any:
    if kind == "timestamp" or isinstance(column.type, Enum):
        return type_coerce(column, String())
    if kind == "json":
        return type_coerce(column, Text())
    return column


AUDIT_V1 = ("id", "at", "actor_id", "actor_role", "action", "entity", "entity_id", "detail")
DECISIONS_V1 = (
    "id", "client_id", "policy_version", "case_id", "party_id", "number_id", "agent_id", "seat_id", "channel", "at",
    "allowed", "dry_run", "violations", "rule_results", "next_allowed_at", "created_at",
)

CHAINS: dict[str, Chained] = {
    "audit": _chained("audit", table_of(AuditEntry), table_of(AuditChainEntry), "at", {1: AUDIT_V1}),
    "decisions": _chained("decisions", table_of(Decision), table_of(DecisionChainEntry), "created_at",
                          {1: DECISIONS_V1}),
}
