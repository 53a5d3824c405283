"""What a hash chain alone cannot catch, and what catches it: a chain recomputed or cut short by
someone with write access (an anchor noted outside the database), rows inserted after the fact
(sealed late), rows no sealer reached (unsealed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dialer.audit.chain import seal
from dialer.audit.chain.canonical import chain_hash
from dialer.audit.chain.tables import CHAINS
from dialer.kit.types import utcnow
from tests.audit_chain.rows import audit_rows, bypassing_triggers, entries, later, verified


async def _rewrite_from(engine, session, seq: int) -> None:
    """Re-hash entry ``seq`` for its (edited) row and every entry after it: a consistent forgery."""
    chained = CHAINS["audit"]
    chain = await entries(session, "audit")
    prev = chain[seq - 2].chain_hash
    updates = []
    for entry in chain[seq - 1:]:
        row = (await session.execute(select(*chained.columns(1)).where(chained.rows.c.id == entry.row_id))).one()
        content = chained.content_hash(1, row)
        link = chain_hash(prev, content, entry.seq, entry.sealed_at)
        updates.append(f"UPDATE audit_chain SET content_hash = '{content}', prev_hash = '{prev}', "
                       f"chain_hash = '{link}' WHERE seq = {entry.seq}")
        prev = link
    await session.commit()
    await bypassing_triggers(engine, "audit_chain", *updates)


async def test_given_a_chain_recomputed_after_an_edit_then_only_an_anchor_noted_before_catches_it(engine, session):
    ids = await audit_rows(session, 4)
    await seal(session, now=later(seconds=5))
    await session.commit()
    noted = (await verified(session, table="audit", now=later(minutes=1))).head
    await session.commit()
    assert noted is not None

    await bypassing_triggers(engine, "audit_log", "UPDATE audit_log SET detail = '{\"n\": 7}' WHERE id = :id", id=ids[1])
    await _rewrite_from(engine, session, 2)

    assert (await verified(session, table="audit", now=later(minutes=1))).ok  # consistent: the chain alone is fooled
    caught = await verified(session, table="audit", now=later(minutes=1), anchors={noted.seq: noted.chain_hash})
    assert caught.first_break is not None
    assert (caught.first_break.kind, caught.first_break.seq) == ("anchor_mismatch", 4)


async def test_given_an_anchor_when_the_chain_is_intact_then_it_matches(session):
    await audit_rows(session, 3)
    await seal(session, now=later(seconds=5))
    await session.commit()
    noted = (await verified(session, table="audit", now=later(minutes=1))).head
    await session.commit()
    assert noted is not None
    await audit_rows(session, 2)
    await seal(session, now=later(seconds=6))
    await session.commit()

    report = await verified(session, table="audit", now=later(minutes=1), anchors={noted.seq: noted.chain_hash})
    assert report.ok and report.anchors_checked == 1 and report.checked == 5


async def test_given_the_last_entries_and_rows_removed_then_the_anchor_names_the_cut(engine, session):
    ids = await audit_rows(session, 3)
    await seal(session, now=later(seconds=5))
    await session.commit()
    noted = (await verified(session, table="audit", now=later(minutes=1))).head
    await session.commit()
    assert noted is not None

    await bypassing_triggers(engine, "audit_chain", "DELETE FROM audit_chain WHERE seq = 3")
    await bypassing_triggers(engine, "audit_log", "DELETE FROM audit_log WHERE id = :id", id=ids[2])

    assert (await verified(session, table="audit", now=later(minutes=1))).ok
    cut = await verified(session, table="audit", now=later(minutes=1), anchors={noted.seq: noted.chain_hash})
    assert cut.first_break is not None and (cut.first_break.kind, cut.first_break.seq) == ("anchor_missing", 3)


async def test_given_a_row_inserted_with_an_old_time_then_it_is_reported_sealed_late(session):
    t0 = utcnow()
    await audit_rows(session, 2)
    await seal(session, now=t0 + dt.timedelta(seconds=5))
    await session.commit()
    # Three hours later someone inserts a row that claims to have been written at t0.
    [forged] = await audit_rows(session, 1, at=t0)
    await seal(session, now=t0 + dt.timedelta(hours=3))
    await session.commit()

    report = await verified(session, table="audit", now=t0 + dt.timedelta(hours=3, minutes=1))
    assert report.first_break is None and not report.ok
    assert report.late == 1 and report.late_rows[0].row_id == forged
    assert "after its own time" in report.late_rows[0].reason

    # the daily job reports it once: a verification the next day leaves it out
    assert (await verified(session, table="audit", now=t0 + dt.timedelta(days=2),
                         late_since=t0 + dt.timedelta(days=1))).ok


async def test_given_a_row_inserted_below_ids_sealed_long_before_then_it_is_reported_sealed_late(session):
    t0 = utcnow()
    await audit_rows(session, 2, first_id=50)
    await seal(session, now=t0 + dt.timedelta(seconds=5))
    await session.commit()
    t3 = t0 + dt.timedelta(hours=3)
    [slipped_in] = await audit_rows(session, 1, at=t3, first_id=10)  # a plausible time, an id from the past
    assert await seal(session, now=t3 + dt.timedelta(seconds=5), horizon=None) == 1
    await session.commit()

    report = await verified(session, table="audit", now=t3 + dt.timedelta(minutes=1))
    assert report.late == 1 and report.late_rows[0].row_id == slipped_in
    assert "sealed below row 51" in report.late_rows[0].reason


async def test_given_rows_no_sealer_reached_then_reported_unsealed_past_the_threshold(session):
    t0 = utcnow()
    ids = await audit_rows(session, 3, at=t0)

    assert (await verified(session, table="audit", now=t0 + dt.timedelta(minutes=5))).ok  # not overdue yet
    report = await verified(session, table="audit", now=t0 + dt.timedelta(minutes=20))
    assert not report.ok and report.first_break is None
    assert report.unsealed == 3 and report.unsealed_ids == ids and report.oldest_unsealed_at == t0


async def test_given_a_row_hidden_longer_than_the_horizon_then_only_the_sweep_seals_it(session):
    t0 = utcnow()
    await audit_rows(session, 2, first_id=20)
    await seal(session, now=t0 + dt.timedelta(seconds=5))
    await session.commit()
    t2 = t0 + dt.timedelta(hours=2)
    await audit_rows(session, 1, at=t0, first_id=5)  # a transaction that stayed open for two hours

    assert await seal(session, now=t2) == 0  # below the last run older than the horizon: not looked at
    await session.commit()
    assert (await verified(session, table="audit", now=t2)).unsealed == 1
    assert await seal(session, now=t2, horizon=None) == 1
    await session.commit()
    assert (await verified(session, table="audit", now=t2)).unsealed == 0
