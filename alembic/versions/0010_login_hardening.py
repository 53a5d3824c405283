"""login hardening: token versions and login throttles

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00.000000

``users.token_version``: carried in every bearer token and raised by a password change or a
deactivation, so the tokens issued before die. ``login_throttles``: failed logins per username and
per source address, in the database so every replica sees the same counts and locks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.kit.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table('login_throttles',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('locked_until', dialer.kit.types.UTCDateTime(), nullable=True),
    sa.Column('lockouts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_login_throttles_scope_key'))
    )


def downgrade() -> None:
    op.drop_table('login_throttles')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
