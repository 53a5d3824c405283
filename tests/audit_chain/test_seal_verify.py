"""Seal, then verify: a clean chain verifies, and each kind of tampering by someone with write access to
the database (raw SQL, the append-only triggers bypassed) is named at its first entry."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dialer.audit.chain import seal
from dialer.audit.chain.canonical import GENESIS, chain_hash
from tests.audit_chain.rows import audit_rows, bypassing_triggers, decisions, entries, later, verified


async def test_given_rows_when_sealed_then_both_chains_verify_and_name_their_head(session):
    audit_ids = await audit_rows(session, 3)
    decision_ids = await decisions(session, 2)

    sealed = await seal(session, now=later(seconds=5))
    await session.commit()

    assert sealed == len(await entries(session, "audit")) + len(await entries(session, "decisions")) >= 5

    for table, ids in (("audit", audit_ids), ("decisions", decision_ids)):
        chain = await entries(session, table)
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        assert set(ids) <= {e.row_id for e in chain}
        assert chain[0].prev_hash == GENESIS and all(b.prev_hash == a.chain_hash for a, b in zip(chain, chain[1:]))
        report = await verified(session, table=table, now=later(minutes=1))
        assert report.ok and report.first_break is None and report.checked == len(chain)
        assert report.head is not None and report.head.seq == len(chain)
        assert report.head.anchor == f"{table}:{len(chain)}:{chain[-1].chain_hash}"


async def test_given_a_sealed_chain_when_sealed_again_then_nothing_is_added(session):
    await audit_rows(session, 4)
    assert await seal(session, now=later(seconds=5)) == 4
    await session.commit()
    before = await entries(session, "audit")

    assert await seal(session, now=later(seconds=10)) == 0
    await session.commit()
    assert await entries(session, "audit") == before


async def test_given_a_row_younger_than_the_lag_then_it_waits_for_a_later_run(session):
    await audit_rows(session, 1)
    assert await seal(session, now=later(seconds=-60)) == 0  # the row was written after "now - lag"
    await session.commit()
    assert await seal(session, now=later(seconds=5)) == 1


async def test_given_an_audit_row_edited_behind_the_service_then_verify_names_it(engine, session):
    ids = await audit_rows(session, 3)
    await seal(session, now=later(seconds=5))
    await session.commit()

    await bypassing_triggers(engine, "audit_log", "UPDATE audit_log SET detail = '{\"n\": 99}' WHERE id = :id",
                             id=ids[1])

    report = await verified(session, table="audit", now=later(minutes=1))
    assert not report.ok
    assert report.first_break is not None and report.first_break.kind == "row_edited"
    assert (report.first_break.seq, report.first_break.row_id) == (2, ids[1])
    assert f"audit_log row {ids[1]}" in report.first_break.message
    assert report.checked == 1 and report.head is not None and report.head.seq == 1
    with pytest.raises(DBAPIError, match="append-only"):  # the triggers are back
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET action = 'x'"))


async def test_given_a_decision_deleted_then_verify_names_it(engine, session):
    ids = await decisions(session, 3)
    await seal(session, now=later(seconds=5))
    await session.commit()

    await bypassing_triggers(engine, "compliance_decisions", "DELETE FROM compliance_decisions WHERE id = :id",
                             id=ids[2])

    report = await verified(session, table="decisions", now=later(minutes=1))
    assert report.first_break is not None and report.first_break.kind == "row_deleted"
    assert (report.first_break.seq, report.first_break.row_id) == (3, ids[2])
    assert report.checked == 2


async def test_given_a_chain_entry_edited_then_verify_names_it(engine, session):
    await audit_rows(session, 3)
    await seal(session, now=later(seconds=5))
    await session.commit()

    await bypassing_triggers(engine, "audit_chain", "UPDATE audit_chain SET content_hash = :h WHERE seq = 2", h="ab" * 32)

    report = await verified(session, table="audit", now=later(minutes=1))
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == ("chain_entry_edited", 2)


async def test_given_a_row_and_its_entry_rewritten_then_the_next_link_breaks(engine, session):
    ids = await audit_rows(session, 3)
    await seal(session, now=later(seconds=5))
    await session.commit()
    second = (await entries(session, "audit"))[1]

    # The attacker edits the row and re-hashes its entry consistently, but cannot touch entry 3's prev_hash
    # without re-hashing it too (and so on to the head: see the anchor tests).
    await bypassing_triggers(engine, "audit_log", "UPDATE audit_log SET detail = '{\"n\": 99}' WHERE id = :id",
                             id=ids[1])
    from sqlalchemy import select

    from dialer.audit.chain.tables import CHAINS

    chained = CHAINS["audit"]
    row = (await session.execute(select(*chained.columns(1)).where(chained.rows.c.id == ids[1]))).one()
    content = chained.content_hash(1, row)
    await session.commit()
    await bypassing_triggers(engine, "audit_chain",
                             "UPDATE audit_chain SET content_hash = :c, chain_hash = :h WHERE seq = 2",
                             c=content, h=chain_hash(second.prev_hash, content, 2, second.sealed_at))

    report = await verified(session, table="audit", now=later(minutes=1))
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == ("chain_link_broken", 3)


async def test_given_a_chain_entry_removed_then_verify_names_the_gap(engine, session):
    await decisions(session, 4)
    await seal(session, now=later(seconds=5))
    await session.commit()

    await bypassing_triggers(engine, "decision_chain", "DELETE FROM decision_chain WHERE seq = 2")

    report = await verified(session, table="decisions", now=later(minutes=1))
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == ("chain_entry_missing", 2)
    assert report.checked == 1


async def test_given_a_row_committed_late_with_a_lower_id_then_it_is_sealed_later_and_verifies(session):
    # ids 101, 102 commit first; 100 (its transaction was slower) commits after they were sealed
    await audit_rows(session, 2, first_id=101)
    assert await seal(session, now=later(seconds=5)) == 2
    await session.commit()
    await audit_rows(session, 1, first_id=100)

    assert await seal(session, now=later(seconds=6)) == 1
    await session.commit()

    assert [(e.seq, e.row_id) for e in await entries(session, "audit")] == [(1, 101), (2, 102), (3, 100)]
    report = await verified(session, table="audit", now=later(minutes=1))
    assert report.ok, report


async def test_given_a_verification_from_a_later_entry_then_only_that_part_is_walked(session):
    await audit_rows(session, 5)
    await seal(session, now=later(seconds=5))
    await session.commit()

    report = await verified(session, table="audit", now=later(minutes=1), since_seq=3)
    assert report.ok and report.checked == 3 and report.first_seq == 3


async def test_given_an_entrys_seal_time_moved_then_verify_names_the_entry(engine, session, backend):
    await audit_rows(session, 2)
    await seal(session, now=later(seconds=5))
    await session.commit()
    # sealed_at is in the chain hash: moving it (to hide a late insertion) breaks the entry
    await bypassing_triggers(engine, "audit_chain", "UPDATE audit_chain SET sealed_at = :at WHERE seq = 2",
                             at=later(hours=-5))
    moved = await verified(session, table="audit", now=later(minutes=1))
    assert moved.first_break is not None and (moved.first_break.kind, moved.first_break.seq) == ("chain_entry_edited", 2)

    if backend == "sqlite":  # a column SQLite lets hold any text
        await bypassing_triggers(engine, "audit_chain", "UPDATE audit_chain SET sealed_at = 'soon' WHERE seq = 2")
        garbled = await verified(session, table="audit", now=later(minutes=1))
        assert garbled.first_break is not None and "'soon' is not a timestamp" in garbled.first_break.message
