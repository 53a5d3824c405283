"""carrier event inbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:00:00.000000

Carrier status callbacks are now stored raw and answered at once, then applied by the inbox's
processor (webhooks.inbox): each event carries the call and leg its URL named, what applying it
came to (``outcome``), and for an event whose processing failed the attempts so far and when it
is retried. A partial index finds the pending ones. Events stored before this revision were applied
as they arrived, so they are marked processed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.kit.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('carrier_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('call_id', _ID, nullable=True))
        batch_op.add_column(sa.Column('leg', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retry_at', dialer.kit.types.UTCDateTime(), nullable=True))
    op.execute("UPDATE carrier_events SET processed_at = received_at, outcome = 'applied_on_arrival' "
               "WHERE processed_at IS NULL")
    op.create_index('ix_carrier_events_pending', 'carrier_events', ['id'], unique=False,
                    postgresql_where=sa.text('processed_at IS NULL'), sqlite_where=sa.text('processed_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_carrier_events_pending', table_name='carrier_events')
    with op.batch_alter_table('carrier_events', schema=None) as batch_op:
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('outcome')
        batch_op.drop_column('leg')
        batch_op.drop_column('call_id')
