"""call history indexes: the call list newest first, by client, and a call's page

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 23:00:00.000000

``GET /v1/calls`` pages newest first (``requested_at``, ``id``) and filters by client; a call's
page (``GET /v1/calls/{id}/timeline``) reads its carrier events and its promises by call. Measured
on PostgreSQL with 500,000 calls: an unfiltered page or a supervisor's team page scanned the whole
table (about 220 ms) and takes 0.6–3 ms with ``ix_calls_requested``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_calls_requested', 'calls', ['requested_at', 'id'])
    op.create_index('ix_calls_client_requested', 'calls', ['client_id', 'requested_at'])
    op.create_index('ix_carrier_events_call', 'carrier_events', ['call_id'])
    op.create_index('ix_promises_call', 'promises', ['call_id'])


def downgrade() -> None:
    op.drop_index('ix_promises_call', table_name='promises')
    op.drop_index('ix_carrier_events_call', table_name='carrier_events')
    op.drop_index('ix_calls_client_requested', table_name='calls')
    op.drop_index('ix_calls_requested', table_name='calls')
