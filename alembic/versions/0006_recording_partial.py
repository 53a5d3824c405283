"""recording partial

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 17:00:00.000000

A recording that holds only part of its call (the SIP media process that wrote it stopped
mid-call: the carrier tells it with ``RecordingPartial=true``) is flagged, so a person sees why it
is short; it is kept like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('recordings') as batch:
        batch.add_column(sa.Column('partial', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('recordings') as batch:
        batch.drop_column('partial')
