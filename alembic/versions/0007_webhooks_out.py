"""webhooks out

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:41:38.699423

The transactional outbox as it is delivered: ``webhook_events`` (one row per fact, written in
the fact's own transaction), ``webhook_deliveries`` (one per event and endpoint that wants it,
leased while its request is out) and ``webhook_delivery_attempts`` (every request made). The
endpoints gain a description, the clients they take, the previous secret kept during a rotation,
why one was disabled and how many requests may be out to it at once. The ``outbox`` table of
0001, never written, goes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import dialer.kit.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('webhook_events',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('occurred_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('client_id', _ID, nullable=True),
    sa.Column('call_id', _ID, nullable=True),
    sa.Column('recording_id', _ID, nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('fanned_out_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_webhook_events_event_id'))
    )
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_events_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_webhook_events_occurred', ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_events_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index('ix_webhook_events_unfanned', ['id'], unique=False, postgresql_where=sa.text('fanned_out_at IS NULL'), sqlite_where=sa.text('fanned_out_at IS NULL'))

    op.create_table('webhook_deliveries',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('event_pk', _ID, nullable=False),
    sa.Column('endpoint_id', _ID, nullable=False),
    sa.Column('status', sa.Enum('pending', 'delivered', 'dead', name='deliverystatus', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('leased_until', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints')),
    sa.ForeignKeyConstraint(['event_pk'], ['webhook_events.id'], name=op.f('fk_webhook_deliveries_event_pk_webhook_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('event_pk', 'endpoint_id', name=op.f('uq_webhook_deliveries_event_pk_endpoint_id'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['endpoint_id', 'status', 'next_attempt_at'], unique=False)

    op.create_table('webhook_delivery_attempts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('delivery_id', _ID, nullable=False),
    sa.Column('attempted_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_delivery_attempts_delivery_id_webhook_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery_attempts'))
    )
    with op.batch_alter_table('webhook_delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_delivery_attempts_delivery_id'), ['delivery_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_due'))

    op.drop_table('outbox')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('previous_secret', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('previous_secret_until', dialer.kit.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('client_ids', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('disabled_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('max_in_flight', sa.Integer(), server_default='4', nullable=False))
        batch_op.add_column(sa.Column('updated_at', dialer.kit.types.UTCDateTime(), server_default=sa.func.current_timestamp(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('max_in_flight')
        batch_op.drop_column('disabled_reason')
        batch_op.drop_column('client_ids')
        batch_op.drop_column('previous_secret_until')
        batch_op.drop_column('previous_secret')
        batch_op.drop_column('description')

    op.create_table('outbox',
    sa.Column('id', _ID, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('endpoint_id', _ID, nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('attempts', _ID, nullable=False),
    sa.Column('next_attempt_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_outbox_endpoint_id_webhook_endpoints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', 'endpoint_id', name=op.f('uq_outbox_event_id_endpoint_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_due'), ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('webhook_delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_attempts_delivery_id'))

    op.drop_table('webhook_delivery_attempts')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_due')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_events_unfanned', postgresql_where=sa.text('fanned_out_at IS NULL'), sqlite_where=sa.text('fanned_out_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_webhook_events_recording_id'))
        batch_op.drop_index('ix_webhook_events_occurred')
        batch_op.drop_index(batch_op.f('ix_webhook_events_call_id'))

    op.drop_table('webhook_events')
