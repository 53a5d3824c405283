"""live events: the event bus's table (one row per event, in the transaction of its change)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 01:00:00.000000

A page following ``/v1/agent/events`` or the supervisor board's stream resumes from the row id
(``Last-Event-ID``) on any replica; rows are kept a day (purged by ``at``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from dialer.kit.types import UTCDateTime

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'live_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('topic', sa.String(length=32), nullable=False),
        sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_live_events')),
    )
    op.create_index('ix_live_events_at', 'live_events', ['at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION live_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                payload text := json_build_object('id', NEW.id, 'at', NEW.at, 'topic', NEW.topic,
                                                  'data', NEW.data)::text;
            BEGIN
                IF octet_length(payload) > 7900 THEN
                    payload := json_build_object('id', NEW.id)::text;
                END IF;
                PERFORM pg_notify('dialer_live', payload);
                RETURN NULL;
            END $$
        """)
        op.execute("CREATE TRIGGER live_events_notify AFTER INSERT ON live_events "
                   "FOR EACH ROW EXECUTE FUNCTION live_events_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER live_events_notify ON live_events")
        op.execute("DROP FUNCTION live_events_notify()")
    op.drop_index('ix_live_events_at', table_name='live_events')
    op.drop_table('live_events')
