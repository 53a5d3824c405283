"""Writing tasks by dedupe key on both databases."""

from __future__ import annotations

from dialer.tasks.models import TaskKind, TaskStatus
from dialer.tasks.repository import NewTask, add_tasks, close_open_tasks
from scheduling.reminders import due_key, due_key_prefix, reminder_key
from tests.factories import make_case
from tests.scheduling.helpers import sh, tasks

NOW = sh(2026, 11, 24, 10)


def _task(case_id: int, key: str) -> NewTask:
    return NewTask(case_id=case_id, kind=TaskKind.PTP_DUE, dedupe_key=key, due_at=NOW, priority=1)


async def test_given_keys_already_written_then_only_new_ones_are_inserted_and_counted(session):
    case = await make_case(session)

    first = await add_tasks(session, [_task(case.id, "a"), _task(case.id, "b")], now=NOW)
    second = await add_tasks(session, [_task(case.id, "b"), _task(case.id, "c"), _task(case.id, "a")], now=NOW)

    assert (first, second) == (2, 1)
    assert sorted(t.dedupe_key for t in await tasks(session)) == ["a", "b", "c"]


async def test_closing_one_promises_tasks_leaves_a_promise_whose_id_starts_alike_alone(session):
    case = await make_case(session)
    keys = [reminder_key(5), reminder_key(51), due_key(5, "09:00"), due_key(51, "09:00")]
    await add_tasks(session, [_task(case.id, key) for key in keys], now=NOW)

    closed = await close_open_tasks(session, keys=[reminder_key(5)], prefixes=[due_key_prefix(5)],
                                    status=TaskStatus.CANCELLED, now=NOW)

    assert closed == 2
    session.expire_all()
    still_open = sorted(t.dedupe_key for t in await tasks(session, status=TaskStatus.OPEN))
    assert still_open == ["ptp_due:51:09:00", "ptp_reminder:51"]
