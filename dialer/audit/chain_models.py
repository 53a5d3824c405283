"""The hash chains sealed over the append-only audit log and compliance ledger (dialer.audit.chain).

One entry per sealed row, in seal order (``seq`` 1, 2, 3 …), append-only like the tables they seal
(database triggers refuse UPDATE and DELETE). No foreign key to the row: a row deleted behind the
service's back must leave its entry behind, as the evidence of its deletion.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.db import Base, BigIntPK
from dialer.kit.types import UTCDateTime


class _ChainEntry:
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    row_id: Mapped[int] = mapped_column(BigIntPK, unique=True)
    format: Mapped[int] = mapped_column(SmallInteger)
    """The columns hashed (dialer.audit.chain.tables.Chained.formats)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class AuditChainEntry(_ChainEntry, Base):
    __tablename__ = "audit_chain"


class DecisionChainEntry(_ChainEntry, Base):
    __tablename__ = "decision_chain"


class ChainOrigin(Base):
    """Where a chain began: the rows up to ``row_id_through`` were written before it existed (the
    migration that created it recorded them), so they are sealed late without being suspect."""

    __tablename__ = "chain_origins"

    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_id_through: Mapped[int] = mapped_column(BigIntPK)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
