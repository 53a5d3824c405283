"""work queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00.000000

The agents' work queue (dialer.agents.queue): on ``cases`` the policy's next allowed instant of a
refused case and the hand-out hold (who holds it, until when), with the indexes the queue reads;
``case_skips`` records each case an agent skipped in preview, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.kit.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_allowed_at', dialer.kit.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('blocked_rules', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('held_by_agent_id', _ID, nullable=True))
        batch_op.add_column(sa.Column('held_until', dialer.kit.types.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_cases_rank', ['status', 'bucket', 'total_owed', 'id'], unique=False)
        batch_op.create_index('ix_cases_follow_up_due', ['status', 'next_follow_up_at'], unique=False)
        batch_op.create_index('ix_cases_held_by', ['held_by_agent_id'], unique=False)

    op.create_table('case_skips',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('case_id', _ID, nullable=False),
    sa.Column('agent_id', _ID, nullable=False),
    sa.Column('seat_id', _ID, nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_case_skips_agent_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_skips_case_id_cases')),
    sa.ForeignKeyConstraint(['seat_id'], ['seats.id'], name=op.f('fk_case_skips_seat_id_seats')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_skips'))
    )
    with op.batch_alter_table('case_skips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_skips_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_skips_agent_at', ['agent_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_skips', schema=None) as batch_op:
        batch_op.drop_index('ix_case_skips_agent_at')
        batch_op.drop_index(batch_op.f('ix_case_skips_case_id'))
    op.drop_table('case_skips')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_held_by')
        batch_op.drop_index('ix_cases_follow_up_due')
        batch_op.drop_index('ix_cases_rank')
        batch_op.drop_column('held_until')
        batch_op.drop_column('held_by_agent_id')
        batch_op.drop_column('blocked_rules')
        batch_op.drop_column('next_allowed_at')
