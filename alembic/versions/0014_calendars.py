"""calendars: the holiday and working-day years the agency's admins enter, and their revision

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 02:00:00.000000

``calendar_years`` holds one row per (calendar, year) an admin entered (its special days as JSON);
``calendar_state`` one row whose ``revision`` every change moves on, so each replica notices a
change with a one-row read.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from dialer.kit.types import UTCDateTime

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'calendar_years',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('calendar', sa.String(length=16), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('days', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('saved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('saved_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'], name=op.f('fk_calendar_years_saved_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_years')),
        sa.UniqueConstraint('calendar', 'year', name=op.f('uq_calendar_years_calendar_year')),
    )
    state = op.create_table(
        'calendar_state',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_state')),
    )
    op.bulk_insert(state, [{'id': 1, 'revision': 0}])


def downgrade() -> None:
    op.drop_table('calendar_state')
    op.drop_table('calendar_years')
