"""recording recovery back-off: when the carrier is next asked for a call's recordings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 12:00:00.000000

``calls.recording_next_ask_at``: an answered call without a recording is asked of the carrier
(``recordings.capture.recover_unreported``); when the carrier has no finished recording for it, the
next ask waits, growing from 30 s to an hour, instead of coming at every capture run. NULL: never
asked, so every call already in the table is asked once more, whatever its age.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.kit.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recording_next_ask_at', dialer.kit.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('recording_next_ask_at')
