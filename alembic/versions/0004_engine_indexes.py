"""engine indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:00:00.000000

The work queue's indexes end with "free from" expressions, ``coalesce(held_until, '-infinity')``
and ``coalesce(next_allowed_at, '-infinity')``, the very ones its hand-out compares with the
instant (dialer.agents.repository): the index itself passes over the cases resting after a call
(held until two hours later) or parked by the policy, without reading their rows. Without them a
busy floor's hand-outs read every rested case again and again, more of them with every call.
``ix_cases_backlog`` replaces ``ix_cases_rank`` (the same first columns), ``ix_cases_follow_ups``
replaces ``ix_cases_follow_up_due``. The same text works on SQLite (an ISO string column;
'-infinity' sorts before every one).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FREE = (sa.text("coalesce(held_until, '-infinity')"), sa.text("coalesce(next_allowed_at, '-infinity')"))


def upgrade() -> None:
    op.create_index('ix_cases_backlog', 'cases', ['status', 'bucket', 'total_owed', 'id', *_FREE], unique=False)
    op.create_index('ix_cases_follow_ups', 'cases', ['status', 'next_follow_up_at', *_FREE], unique=False)
    op.drop_index('ix_cases_rank', table_name='cases')
    op.drop_index('ix_cases_follow_up_due', table_name='cases')


def downgrade() -> None:
    op.create_index('ix_cases_follow_up_due', 'cases', ['status', 'next_follow_up_at'], unique=False)
    op.create_index('ix_cases_rank', 'cases', ['status', 'bucket', 'total_owed', 'id'], unique=False)
    op.drop_index('ix_cases_follow_ups', table_name='cases')
    op.drop_index('ix_cases_backlog', table_name='cases')
