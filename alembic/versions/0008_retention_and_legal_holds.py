"""retention and legal holds

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:47:37.297699

Recordings past their retention are purged: the media deleted, the row kept as a tombstone
(``purged_at``, ``purge_rule``: which retention ran out under which policy version). Legal holds
(by call, party or case, with who set and lifted them and why) keep recordings past retention.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.kit.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('legal_holds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scope', sa.Enum('call', 'party', 'case', name='holdscope', native_enum=False, length=24), nullable=False),
    sa.Column('scope_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('set_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('lifted_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lifted_at', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('lift_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['lifted_by'], ['users.id'], name=op.f('fk_legal_holds_lifted_by_users')),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'], name=op.f('fk_legal_holds_set_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index('ix_legal_holds_active', ['scope', 'scope_id'], unique=False, postgresql_where=sa.text('lifted_at IS NULL'), sqlite_where=sa.text('lifted_at IS NULL'))

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', dialer.kit.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('purge_rule', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_recordings_retain_until'), ['retain_until'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_retain_until'))
        batch_op.drop_column('purge_rule')
        batch_op.drop_column('purged_at')

    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_holds_active', postgresql_where=sa.text('lifted_at IS NULL'), sqlite_where=sa.text('lifted_at IS NULL'))

    op.drop_table('legal_holds')
