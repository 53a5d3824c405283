"""engine indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 14:00:00.000000

The work queue's indexes (dialer.agents.repository) end with "free from" expressions,
``coalesce(held_until, '-infinity')`` and ``coalesce(next_allowed_at, '-infinity')``, the very
ones its hand-out compares with the instant: the index itself passes over the cases resting after
a call (held until two hours later) or parked by the policy, without reading their rows. Without
them a busy floor's hand-outs read every rested case again and again, more of them with every call.
``ix_cases_backlog`` replaces ``ix_cases_rank`` (the same first columns), ``ix_cases_follow_ups``
replaces ``ix_cases_follow_up_due`` (due instant, then id: the order the hand-out reads the
longest-due in, so it stops after as many as it ranks). The same text works on SQLite (an ISO
string column; '-infinity' sorts before every one).

``cases.promise_due_on``: the due date of the case's earliest pending promise, kept by triggers on
``promises`` (insert, a change of case, status or due date, delete) and filled in for the cases
there are, so the promise tier is read on ``ix_cases_promises_due`` like the follow-ups — instead
of visiting, at every hand-out, the case of every pending promise due (most of them resting after
their call).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FREE = (sa.text("coalesce(held_until, '-infinity')"), sa.text("coalesce(next_allowed_at, '-infinity')"))


def _earliest(case_id: str) -> str:
    return f"(SELECT min(p.due_date) FROM promises p WHERE p.case_id = {case_id} AND p.status = 'pending')"


def _set_for(case_id: str) -> str:
    """Bring one case's ``promise_due_on`` up to date (its row written only when it changes)."""
    earliest = _earliest(case_id)
    return (f"UPDATE cases SET promise_due_on = {earliest} "
            f"WHERE id = {case_id} AND promise_due_on IS DISTINCT FROM {earliest}")


def _create_promise_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION cases_promise_due_on() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.case_id IS DISTINCT FROM NEW.case_id) THEN
                    {_set_for('OLD.case_id')};
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    {_set_for('NEW.case_id')};
                END IF;
                RETURN NULL;
            END $$
            """
        )
        op.execute("CREATE TRIGGER promises_due_on AFTER INSERT OR DELETE OR UPDATE OF case_id, status, due_date "
                   "ON promises FOR EACH ROW EXECUTE FUNCTION cases_promise_due_on()")
    else:  # SQLite: IS NOT is its IS DISTINCT FROM
        sqlite = lambda case_id: _set_for(case_id).replace("IS DISTINCT FROM", "IS NOT")  # noqa: E731
        op.execute(f"CREATE TRIGGER promises_due_on_insert AFTER INSERT ON promises BEGIN {sqlite('NEW.case_id')}; END")
        op.execute(f"CREATE TRIGGER promises_due_on_update AFTER UPDATE OF case_id, status, due_date ON promises "
                   f"BEGIN {sqlite('OLD.case_id')}; {sqlite('NEW.case_id')}; END")
        op.execute(f"CREATE TRIGGER promises_due_on_delete AFTER DELETE ON promises BEGIN {sqlite('OLD.case_id')}; END")


def _drop_promise_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS promises_due_on ON promises")
        op.execute("DROP FUNCTION IF EXISTS cases_promise_due_on()")
    else:
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS promises_due_on_{verb}")


def upgrade() -> None:
    op.add_column('cases', sa.Column('promise_due_on', sa.Date(), nullable=True))
    op.execute(f"UPDATE cases SET promise_due_on = {_earliest('cases.id')} "
               "WHERE id IN (SELECT case_id FROM promises WHERE status = 'pending')")
    _create_promise_triggers()
    op.create_index('ix_cases_backlog', 'cases', ['status', 'bucket', 'total_owed', 'id', *_FREE], unique=False)
    op.create_index('ix_cases_follow_ups', 'cases', ['status', 'next_follow_up_at', 'id', *_FREE], unique=False)
    op.create_index('ix_cases_promises_due', 'cases', ['status', 'promise_due_on', 'id', *_FREE], unique=False)
    op.drop_index('ix_cases_rank', table_name='cases')
    op.drop_index('ix_cases_follow_up_due', table_name='cases')


def downgrade() -> None:
    op.create_index('ix_cases_follow_up_due', 'cases', ['status', 'next_follow_up_at'], unique=False)
    op.create_index('ix_cases_rank', 'cases', ['status', 'bucket', 'total_owed', 'id'], unique=False)
    op.drop_index('ix_cases_promises_due', table_name='cases')
    op.drop_index('ix_cases_follow_ups', table_name='cases')
    op.drop_index('ix_cases_backlog', table_name='cases')
    _drop_promise_triggers()
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('promise_due_on')
