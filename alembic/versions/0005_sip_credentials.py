"""sip credentials

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:00:00.000000

The seats' SIP digest credentials, read by the SIP edge (Kamailio's ``auth_db``, through
``db_sqlite`` or ``db_postgres``) straight from this table: one row per seat, the username and
domain of the seat's ``sip:`` identity and the two HA1 digests (``ha1`` for a plain username,
``ha1b`` for ``user@domain``), never the password. The edge's configuration names the columns
(``dialer/telephony/sip/edge/kamailio.cfg``).

No row in a Kamailio ``version`` table: ``auth_db`` checks one only when its ``version_table``
parameter is on, and the edge turns it off — the table is ours, not Kamailio's ``subscriber``
schema, so a pinned "subscriber version 7" would claim a layout this table does not have. So the
schema holds no Kamailio bookkeeping table at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.kit.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('sip_credentials',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('seat_id', _ID, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('domain', sa.String(length=128), nullable=False),
    sa.Column('ha1', sa.String(length=64), nullable=False),
    sa.Column('ha1b', sa.String(length=64), nullable=False),
    sa.Column('rotated_at', dialer.kit.types.UTCDateTime(), nullable=False),
    sa.Column('rotated_by', _ID, nullable=True),
    sa.ForeignKeyConstraint(['seat_id'], ['seats.id'], name=op.f('fk_sip_credentials_seat_id_seats'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rotated_by'], ['users.id'], name=op.f('fk_sip_credentials_rotated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sip_credentials')),
    sa.UniqueConstraint('seat_id', name=op.f('uq_sip_credentials_seat_id')),
    sa.UniqueConstraint('username', name=op.f('uq_sip_credentials_username'))
    )


def downgrade() -> None:
    op.drop_table('sip_credentials')
