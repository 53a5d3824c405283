"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 01:08:35.049591

Every table of the domain model, plus database triggers that make the audit log and the
compliance decision ledger append-only on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import dialer.kit.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY_TABLES = ("audit_log", "compliance_decisions")


def _create_append_only_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION refuse_change()"
            )
    else:
        for table in APPEND_ONLY_TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {verb} refused'); END"
                )


def _drop_append_only_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS refuse_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def upgrade() -> None:
    op.create_table('carrier_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('event_key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('carrier_call_id', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('received_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('processed_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_events')),
    sa.UniqueConstraint('carrier', 'event_key', name=op.f('uq_carrier_events_carrier_event_key'))
    )
    with op.batch_alter_table('carrier_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrier_events_carrier_call_id'), ['carrier_call_id'], unique=False)

    op.create_table('clients',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('default_time_zone', sa.String(length=64), nullable=False),
    sa.Column('working_calendar', sa.String(length=16), nullable=False),
    sa.Column('whisper_template', sa.Text(), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('code', name=op.f('uq_clients_code'))
    )
    op.create_table('seats',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('softphone_identity', sa.String(length=200), nullable=False),
    sa.Column('carrier', sa.Enum('twilio', 'sip', name='seatcarrier', native_enum=False, length=24), nullable=False),
    sa.Column('location', sa.String(length=128), nullable=True),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seats')),
    sa.UniqueConstraint('code', name=op.f('uq_seats_code')),
    sa.UniqueConstraint('softphone_identity', name=op.f('uq_seats_softphone_identity'))
    )
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.Enum('agent', 'supervisor', 'admin', 'integration', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=256), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_team'), ['team'], unique=False)

    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('last_used_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_user_id'), ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=True),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('campaigns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('mode', sa.Enum('preview', 'progressive', name='dialmode', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('running', 'paused', 'stopped', name='campaignstatus', native_enum=False, length=24), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_campaigns_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_client_id'), ['client_id'], unique=False)

    op.create_table('import_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('cases', 'stop_list', 'attempts', 'payments', name='importkind', native_enum=False, length=24), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_import_batches_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_batches_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batches_client_id'), ['client_id'], unique=False)

    op.create_table('policy_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('preset', sa.String(length=64), nullable=False),
    sa.Column('overrides', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_policy_versions_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_policy_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_versions')),
    sa.UniqueConstraint('client_id', 'version', name=op.f('uq_policy_versions_client_id_version'))
    )
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_versions_client_id'), ['client_id'], unique=False)

    op.create_table('webhook_endpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('event_types', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_webhook_endpoints_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_table('cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_ref', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=32), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('principal', dialer.kit.types.Money(), nullable=False),
    sa.Column('interest_fees', dialer.kit.types.Money(), nullable=False),
    sa.Column('total_owed', dialer.kit.types.Money(), nullable=False),
    sa.Column('overdue_days', sa.Integer(), nullable=False),
    sa.Column('overdue_as_of', sa.Date(), nullable=False),
    sa.Column('bucket', sa.Enum('M1', 'M2', 'M3+', name='bucket', native_enum=False, length=8), nullable=False),
    sa.Column('status', sa.Enum('open', 'paused', 'settled', 'paid', 'returned', name='casestatus', native_enum=False, length=24), nullable=False),
    sa.Column('contactability', sa.Enum('reachable', 'partly_lost', 'lost', name='contactability', native_enum=False, length=24), nullable=False),
    sa.Column('assigned_agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('next_follow_up_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('last_contact_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('import_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_agent_id'], ['users.id'], name=op.f('fk_cases_assigned_agent_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_cases_client_id_clients')),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batches.id'], name=op.f('fk_cases_import_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('client_id', 'account_ref', name=op.f('uq_cases_client_id_account_ref'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_assigned_agent_id'), ['assigned_agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_cases_queue', ['status', 'client_id', 'bucket', 'next_follow_up_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_team'), ['team'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('endpoint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('pending', 'delivered', 'dead', name='outboxstatus', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_outbox_endpoint_id_webhook_endpoints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', 'endpoint_id', name=op.f('uq_outbox_event_id_endpoint_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('parties',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.Enum('debtor', 'third_party', name='partyrole', native_enum=False, length=24), nullable=False),
    sa.Column('relation', sa.Enum('self', 'spouse', 'parent', 'sibling', 'child', 'colleague', 'friend', 'other', name='relation', native_enum=False, length=24), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('id_number', sa.String(length=32), nullable=True),
    sa.Column('debt_related', sa.Boolean(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_parties_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parties'))
    )
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parties_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parties_id_number'), ['id_number'], unique=False)

    op.create_table('phone_numbers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('e164', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.Enum('mobile', 'home', 'work', 'other', name='numberkind', native_enum=False, length=24), nullable=False),
    sa.Column('region', sa.String(length=2), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('invalid_reason', sa.String(length=200), nullable=True),
    sa.Column('invalid_marked_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_phone_numbers_party_id_parties'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_numbers')),
    sa.UniqueConstraint('party_id', 'e164', name=op.f('uq_phone_numbers_party_id_e164'))
    )
    with op.batch_alter_table('phone_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_numbers_e164'), ['e164'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_numbers_party_id'), ['party_id'], unique=False)

    op.create_table('stop_contacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('e164', sa.String(length=20), nullable=True),
    sa.Column('id_number', sa.String(length=32), nullable=True),
    sa.Column('source', sa.Enum('client_list', 'party_request', 'hostile', name='stopsource', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('import_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('lifted_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('lifted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('party_id IS NOT NULL OR e164 IS NOT NULL OR id_number IS NOT NULL', name=op.f('ck_stop_contacts_has_target')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_stop_contacts_case_id_cases')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_stop_contacts_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stop_contacts_created_by_id_users')),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batches.id'], name=op.f('fk_stop_contacts_import_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name=op.f('fk_stop_contacts_lifted_by_id_users')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_stop_contacts_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stop_contacts'))
    )
    with op.batch_alter_table('stop_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_stop_contacts_client_e164', ['client_id', 'e164'], unique=False)
        batch_op.create_index('ix_stop_contacts_client_id_number', ['client_id', 'id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_stop_contacts_party_id'), ['party_id'], unique=False)

    op.create_table('client_report_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stop_contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.Enum('open', 'reported', name='reportstatus', native_enum=False, length=24), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('reported_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('reported_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('report_reference', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_client_report_items_case_id_cases')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_report_items_client_id_clients')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_client_report_items_party_id_parties')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_client_report_items_reported_by_id_users')),
    sa.ForeignKeyConstraint(['stop_contact_id'], ['stop_contacts.id'], name=op.f('fk_client_report_items_stop_contact_id_stop_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_report_items'))
    )
    with op.batch_alter_table('client_report_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_report_items_client_id'), ['client_id'], unique=False)

    op.create_table('compliance_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('number_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('seat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel', sa.Enum('call', 'sms', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('violations', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('rule_results', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('next_allowed_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_compliance_decisions_agent_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_compliance_decisions_case_id_cases')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_compliance_decisions_client_id_clients')),
    sa.ForeignKeyConstraint(['number_id'], ['phone_numbers.id'], name=op.f('fk_compliance_decisions_number_id_phone_numbers')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_compliance_decisions_party_id_parties')),
    sa.ForeignKeyConstraint(['seat_id'], ['seats.id'], name=op.f('fk_compliance_decisions_seat_id_seats')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_decisions'))
    )
    with op.batch_alter_table('compliance_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_compliance_decisions_party_at', ['party_id', 'at'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('direction', sa.Enum('outbound', 'inbound', name='direction', native_enum=False, length=24), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('carrier_call_id', sa.String(length=64), nullable=True),
    sa.Column('agent_leg_call_id', sa.String(length=64), nullable=True),
    sa.Column('conference_name', sa.String(length=64), nullable=True),
    sa.Column('state', sa.Enum('requested', 'blocked', 'dialing', 'ringing', 'answered', 'bridged', 'completed', 'no_answer', 'busy', 'rejected', 'failed', 'canceled', 'missed', name='callstate', native_enum=False, length=24), nullable=False),
    sa.Column('outcome', sa.Enum('answered', 'no_answer', 'busy', 'rejected', 'failed', 'voicemail', 'canceled', 'missed', name='calloutcome', native_enum=False, length=24), nullable=True),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('number_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('seat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('from_e164', sa.String(length=32), nullable=True),
    sa.Column('to_e164', sa.String(length=32), nullable=True),
    sa.Column('whisper_text', sa.Text(), nullable=True),
    sa.Column('conversation', sa.Boolean(), nullable=False),
    sa.Column('recording_missing', sa.Boolean(), nullable=False),
    sa.Column('hangup_by', sa.String(length=16), nullable=True),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('error_detail', sa.Text(), nullable=True),
    sa.Column('requested_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('dialing_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('ringing_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('answered_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('bridged_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('ended_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=True),
    sa.Column('talk_s', sa.Integer(), nullable=True),
    sa.Column('updated_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_calls_agent_id_users')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_calls_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_calls_case_id_cases')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_calls_client_id_clients')),
    sa.ForeignKeyConstraint(['decision_id'], ['compliance_decisions.id'], name=op.f('fk_calls_decision_id_compliance_decisions')),
    sa.ForeignKeyConstraint(['number_id'], ['phone_numbers.id'], name=op.f('fk_calls_number_id_phone_numbers')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_calls_party_id_parties')),
    sa.ForeignKeyConstraint(['seat_id'], ['seats.id'], name=op.f('fk_calls_seat_id_seats')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('carrier', 'carrier_call_id', name=op.f('uq_calls_carrier_carrier_call_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_agent_requested', ['agent_id', 'requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_calls_case_requested', ['case_id', 'requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_number_id'), ['number_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_seat_id'), ['seat_id'], unique=False)

    op.create_table('agent_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.Enum('offline', 'ready', 'not_ready', 'reserved', 'dialing', 'on_call', 'wrap_up', name='agentstate', native_enum=False, length=24), nullable=False),
    sa.Column('state_reason', sa.String(length=64), nullable=True),
    sa.Column('state_since', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('current_call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('started_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('ended_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_agent_sessions_agent_id_users')),
    sa.ForeignKeyConstraint(['current_call_id'], ['calls.id'], name=op.f('fk_agent_sessions_current_call_id_calls')),
    sa.ForeignKeyConstraint(['seat_id'], ['seats.id'], name=op.f('fk_agent_sessions_seat_id_seats')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_sessions'))
    )
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.create_index('uq_agent_sessions_open_agent', ['agent_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.create_index('uq_agent_sessions_open_seat', ['seat_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('started_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('conversation', sa.Boolean(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('source', sa.Enum('dialer', 'import', name='attemptsource', native_enum=False, length=24), nullable=False),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_attempts_call_id_calls')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attempts_case_id_cases')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_attempts_client_id_clients')),
    sa.ForeignKeyConstraint(['decision_id'], ['compliance_decisions.id'], name=op.f('fk_attempts_decision_id_compliance_decisions')),
    sa.ForeignKeyConstraint(['number_id'], ['phone_numbers.id'], name=op.f('fk_attempts_number_id_phone_numbers')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_attempts_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_attempts_number_started', ['number_id', 'started_at'], unique=False)
        batch_op.create_index('ix_attempts_party_started', ['party_id', 'started_at'], unique=False)

    op.create_table('consents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('callback', 'sms', 'preferred_window', name='consentkind', native_enum=False, length=24), nullable=False),
    sa.Column('callback_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('valid_from', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('valid_until', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('source_call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['number_id'], ['phone_numbers.id'], name=op.f('fk_consents_number_id_phone_numbers')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_consents_party_id_parties')),
    sa.ForeignKeyConstraint(['source_call_id'], ['calls.id'], name=op.f('fk_consents_source_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_party_id'), ['party_id'], unique=False)

    op.create_table('recordings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('carrier_recording_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('pending', 'stored', 'failed', name='recordingstatus', native_enum=False, length=24), nullable=False),
    sa.Column('media_url', sa.String(length=500), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=True),
    sa.Column('channels', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('stored_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('archived_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('retain_until', sa.Date(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_recordings_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('carrier', 'carrier_recording_id', name=op.f('uq_recordings_carrier_carrier_recording_id'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_sha256'), ['sha256'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('callback', 'follow_up', 'ptp_reminder', 'ptp_due', 'min_frequency', 'field_visit', name='taskkind', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'cancelled', name='taskstatus', native_enum=False, length=24), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('due_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('due_until', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source_call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assigned_agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('done_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_agent_id'], ['users.id'], name=op.f('fk_tasks_assigned_agent_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_tasks_case_id_cases')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_tasks_party_id_parties')),
    sa.ForeignKeyConstraint(['source_call_id'], ['calls.id'], name=op.f('fk_tasks_source_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_tasks_dedupe_key'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_tasks_open_due', ['status', 'due_at'], unique=False)

    op.create_table('wrap_up_notes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('disposition', sa.Enum('promise_to_pay', 'paid', 'refused', 'wrong_number', 'no_contact', 'third_party_message', 'third_party_stop', 'hostile', 'callback_requested', name='disposition', native_enum=False, length=24), nullable=False),
    sa.Column('contact_name', sa.String(length=128), nullable=True),
    sa.Column('contact_number', sa.String(length=32), nullable=True),
    sa.Column('contact_status', sa.String(length=64), nullable=True),
    sa.Column('arrears_reason', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('assessment', sa.Text(), nullable=True),
    sa.Column('equipment_status', sa.Text(), nullable=True),
    sa.Column('recovery_likelihood', sa.String(length=32), nullable=True),
    sa.Column('next_action', sa.Text(), nullable=True),
    sa.Column('next_follow_up_date', sa.Date(), nullable=True),
    sa.Column('special_notes', sa.Text(), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_wrap_up_notes_agent_id_users')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_wrap_up_notes_call_id_calls')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_wrap_up_notes_case_id_cases')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_wrap_up_notes_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wrap_up_notes')),
    sa.UniqueConstraint('call_id', name=op.f('uq_wrap_up_notes_call_id'))
    )
    with op.batch_alter_table('wrap_up_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wrap_up_notes_case_id'), ['case_id'], unique=False)

    op.create_table('promises',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('party_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount', dialer.kit.types.Money(), nullable=False),
    sa.Column('reduction', dialer.kit.types.Money(), nullable=False),
    sa.Column('authorisation_ref', sa.String(length=128), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'kept', 'broken', 'cancelled', name='promisestatus', native_enum=False, length=24), nullable=False),
    sa.Column('paid_amount', dialer.kit.types.Money(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('settled_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_promises_call_id_calls')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_promises_case_id_cases')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_promises_created_by_id_users')),
    sa.ForeignKeyConstraint(['note_id'], ['wrap_up_notes.id'], name=op.f('fk_promises_note_id_wrap_up_notes')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_promises_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promises'))
    )
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promises_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promises_due_date'), ['due_date'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('promise_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount', dialer.kit.types.Money(), nullable=False),
    sa.Column('paid_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=False),
    sa.Column('import_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_payments_case_id_cases')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_payments_client_id_clients')),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batches.id'], name=op.f('fk_payments_import_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['promise_id'], ['promises.id'], name=op.f('fk_payments_promise_id_promises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('client_id', 'reference', name=op.f('uq_payments_client_id_reference'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_case_id'), ['case_id'], unique=False)

    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_case_id'))

    op.drop_table('payments')
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promises_due_date'))
        batch_op.drop_index(batch_op.f('ix_promises_case_id'))

    op.drop_table('promises')
    with op.batch_alter_table('wrap_up_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wrap_up_notes_case_id'))

    op.drop_table('wrap_up_notes')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_open_due')
        batch_op.drop_index(batch_op.f('ix_tasks_case_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_sha256'))
        batch_op.drop_index(batch_op.f('ix_recordings_call_id'))

    op.drop_table('recordings')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_party_id'))

    op.drop_table('consents')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_party_started')
        batch_op.drop_index('ix_attempts_number_started')
        batch_op.drop_index(batch_op.f('ix_attempts_call_id'))

    op.drop_table('attempts')
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.drop_index('uq_agent_sessions_open_seat', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index('uq_agent_sessions_open_agent', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.drop_table('agent_sessions')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_seat_id'))
        batch_op.drop_index(batch_op.f('ix_calls_party_id'))
        batch_op.drop_index(batch_op.f('ix_calls_number_id'))
        batch_op.drop_index('ix_calls_case_requested')
        batch_op.drop_index(batch_op.f('ix_calls_campaign_id'))
        batch_op.drop_index('ix_calls_agent_requested')

    op.drop_table('calls')
    with op.batch_alter_table('compliance_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_compliance_decisions_party_at')

    op.drop_table('compliance_decisions')
    with op.batch_alter_table('client_report_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_report_items_client_id'))

    op.drop_table('client_report_items')
    with op.batch_alter_table('stop_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stop_contacts_party_id'))
        batch_op.drop_index('ix_stop_contacts_client_id_number')
        batch_op.drop_index('ix_stop_contacts_client_e164')

    op.drop_table('stop_contacts')
    with op.batch_alter_table('phone_numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_numbers_party_id'))
        batch_op.drop_index(batch_op.f('ix_phone_numbers_e164'))

    op.drop_table('phone_numbers')
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parties_id_number'))
        batch_op.drop_index(batch_op.f('ix_parties_case_id'))

    op.drop_table('parties')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_team'))
        batch_op.drop_index('ix_cases_queue')
        batch_op.drop_index(batch_op.f('ix_cases_client_id'))
        batch_op.drop_index(batch_op.f('ix_cases_assigned_agent_id'))

    op.drop_table('cases')
    op.drop_table('webhook_endpoints')
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_versions_client_id'))

    op.drop_table('policy_versions')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batches_client_id'))

    op.drop_table('import_batches')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_client_id'))

    op.drop_table('campaigns')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_user_id'))

    op.drop_table('api_keys')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_team'))

    op.drop_table('users')
    op.drop_table('seats')
    op.drop_table('clients')
    with op.batch_alter_table('carrier_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carrier_events_carrier_call_id'))

    op.drop_table('carrier_events')
