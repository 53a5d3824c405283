"""attempts by instant: the board's recently attempted parties

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 02:00:00.000000

``GET /v1/board/compliance`` reads the parties attempted in the last eight days (cap pressure);
without an index on ``started_at`` alone that read scans every attempt ever made.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_attempts_started', 'attempts', ['started_at'])


def downgrade() -> None:
    op.drop_index('ix_attempts_started', table_name='attempts')
