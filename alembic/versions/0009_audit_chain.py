"""tamper-evident hash chains over the audit log and the compliance ledger

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000

``audit_chain`` and ``decision_chain``: one entry per sealed row of ``audit_log`` and
``compliance_decisions`` (dialer.audit.chain), append-only like those tables (triggers refuse UPDATE
and DELETE on both databases). ``chain_origins`` records, per table, the rows written before the
chains existed (sealed later, without being suspect of a late insertion); append-only too.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.kit.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINS = {"audit_chain": "audit_log", "decision_chain": "compliance_decisions"}
APPEND_ONLY = (*CHAINS, "chain_origins")
_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _create_chain(name: str) -> None:
    op.create_table(name,
    sa.Column('seq', _ID, autoincrement=False, nullable=False),
    sa.Column('row_id', _ID, nullable=False),
    sa.Column('format', sa.SmallInteger(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f(f'pk_{name}')),
    sa.UniqueConstraint('row_id', name=op.f(f'uq_{name}_row_id'))
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_sealed_at'), ['sealed_at'], unique=False)


def _create_append_only_triggers() -> None:
    # PostgreSQL: refuse_change() is 0001's (it raises "append-only table …: … refused").
    for table in APPEND_ONLY:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION refuse_change()")
            continue
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {verb} refused'); END")


def _drop_append_only_triggers() -> None:
    for table in APPEND_ONLY:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            continue
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def upgrade() -> None:
    for name in CHAINS:
        _create_chain(name)
    op.create_table('chain_origins',
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id_through', _ID, nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('table_name', name=op.f('pk_chain_origins'))
    )
    for table in CHAINS.values():
        op.execute(f"INSERT INTO chain_origins (table_name, row_id_through, created_at) "
                   f"SELECT '{table}', COALESCE(MAX(id), 0), CURRENT_TIMESTAMP FROM {table}")
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table('chain_origins')
    for name in CHAINS:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{name}_sealed_at'))
        op.drop_table(name)
