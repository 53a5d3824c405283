"""supervisions: each supervisor's time on a live call (monitor, whisper, barge), kept on the call

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dialer.kit.types import UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'supervisions',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('call_id', _ID, nullable=False),
        sa.Column('supervisor_id', _ID, nullable=False),
        sa.Column('seat_id', _ID, nullable=False),
        sa.Column('participant_call_id', sa.String(length=64), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('mode_since', UTCDateTime(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.Column('ended_by', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_supervisions_call_id_calls')),
        sa.ForeignKeyConstraint(['seat_id'], ['seats.id'], name=op.f('fk_supervisions_seat_id_seats')),
        sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_supervisions_supervisor_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supervisions')),
        sa.UniqueConstraint('participant_call_id', name=op.f('uq_supervisions_participant_call_id')),
    )
    op.create_index('ix_supervisions_call', 'supervisions', ['call_id'])
    op.create_index('ix_supervisions_open', 'supervisions', ['call_id'], postgresql_where=sa.text('ended_at IS NULL'),
                    sqlite_where=sa.text('ended_at IS NULL'))
    op.create_index(op.f('ix_supervisions_supervisor_id'), 'supervisions', ['supervisor_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_supervisions_supervisor_id'), table_name='supervisions')
    op.drop_index('ix_supervisions_open', table_name='supervisions')
    op.drop_index('ix_supervisions_call', table_name='supervisions')
    op.drop_table('supervisions')
