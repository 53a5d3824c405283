"""The catalogue of scheduled jobs for a running service (the composition root's view of them)."""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.audit.chain.jobs import SEAL_EVERY, VERIFY_EVERY, chain_seal_job, chain_verify_job
from dialer.dialing.carrier_actions import CarrierActions
from dialer.dialing.reconcile import reconcile_job
from dialer.kit.clock import Clock
from dialer.kit.types import utcnow
from dialer.live.purge import purge_job as live_purge_job
from dialer.outbox import events
from dialer.outbox.models import EventType
from dialer.telephony.carrier import Carrier
from recordings.jobs import capture_job, completeness_job, purge_job
from recordings.purge import delete_media
from recordings.storage import RecordingStorage
from scheduling.jobs import JOBS, AfterCommit, JobFunc, JobSpec
from scheduling.runner import run_job


def jobs_for(
    *, carrier: Carrier | None, storage: RecordingStorage, actions: CarrierActions, capture_every: dt.timedelta,
    zone: str,
) -> tuple[JobSpec, ...]:
    """Every scheduled job; those that talk to the carrier exist when a carrier is configured."""
    archive = (
        JobSpec("live_events_purge", live_purge_job, dt.timedelta(hours=1)),
        JobSpec("recordings_purge", partial(recordings_purge, storage=storage), dt.timedelta(hours=1)),
        JobSpec("recordings_completeness", partial(completeness_job, storage=storage, zone=zone),
                dt.timedelta(hours=24)),
    )
    if carrier is None:
        return (*JOBS, *archive, *CHAIN_JOBS)
    return (
        *JOBS, *archive, *CHAIN_JOBS,
        JobSpec("recordings", partial(capture_job, source=carrier, storage=storage, index=carrier), capture_every),
        JobSpec("calls_reconcile", partial(calls_reconcile, carrier=carrier, actions=actions),
                dt.timedelta(minutes=1)),
    )


async def calls_reconcile(session: AsyncSession, *, now: dt.datetime, carrier: Carrier,
                          actions: CarrierActions, open_before: dt.datetime | None = None,
                          after_id: int = 0) -> AfterCommit:
    """The reconciler's sweep; the legs left up by the calls it ended are hung up after its commit."""
    swept = await reconcile_job(session, now=now, carrier=carrier, open_before=open_before, after_id=after_id)
    return AfterCommit(swept.summary, partial(actions.run, swept.effects))


async def reconcile_at_start(sessions: async_sessionmaker[AsyncSession], *, clock: Clock, carrier: Carrier,
                             actions: CarrierActions, storage: RecordingStorage) -> int:
    """Every call left open by the service's last run is settled against the carrier now (not after
    the quiet quarter of an hour): ended there, it ends here, its agent to wrap-up and its legs still
    up hung up; live there, it carries on. Batch after batch until every open call was looked at;
    returns how many ended. (One SIP node: a leg its B2BUA does not know is over.) Then the
    recordings of every call that ended before this start and has none are asked of the carrier at
    once (:func:`recover_at_start`)."""
    started = clock()
    settled = await _settle_open_calls(sessions, clock=clock, carrier=carrier, actions=actions, before=started)
    await recover_at_start(sessions, clock=clock, carrier=carrier, storage=storage, started_at=started)
    return settled


async def recover_at_start(sessions: async_sessionmaker[AsyncSession], *, clock: Clock, carrier: Carrier,
                           storage: RecordingStorage, started_at: dt.datetime) -> None:
    """One run of the recordings job that asks the carrier, without the usual two minutes' wait,
    for the recordings of calls that ended before ``started_at``: their callbacks went to the
    process that is gone. What is not finished yet is asked again by the scheduled runs."""
    job = partial(capture_job, source=carrier, storage=storage, index=carrier, started_at=started_at)
    while not (await run_job(sessions, "recordings", job, clock=clock)).ran:
        await asyncio.sleep(1.0)  # the scheduled run holds the lock: wait for it


async def _settle_open_calls(sessions: async_sessionmaker[AsyncSession], *, clock: Clock, carrier: Carrier,
                             actions: CarrierActions, before: dt.datetime) -> int:
    settled, after = 0, 0
    while True:
        run = await run_job(sessions, "calls_reconcile", partial(
            calls_reconcile, carrier=carrier, actions=actions, open_before=before, after_id=after), clock=clock)
        if not run.ran:
            await asyncio.sleep(1.0)  # the scheduled sweep holds the lock: wait for it
            continue
        settled += run.summary["settled"]
        if run.summary["examined"] == 0:
            return settled
        after = run.summary["last_id"]


async def recordings_purge(session: AsyncSession, *, now: dt.datetime, storage: RecordingStorage) -> AfterCommit:
    """The purge's tombstones commit first; then their files are deleted."""
    purged = await purge_job(session, now=now)
    return AfterCommit(purged.summary, partial(_delete_files, storage, purged.keys))


async def _delete_files(storage: RecordingStorage, keys: list[str]) -> None:
    await delete_media(storage, keys)


async def chain_verify_and_publish(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """The daily verification of the hash chains; their verified heads are then told to the
    integrations (``audit.chain_head``), so a copy of each day's anchor lives outside our database
    and an edit that rewrote a chain to its head is still caught (``dialer audit verify --anchor``)."""
    summary = await chain_verify_job(session, now=now)
    chains = {name: {"ok": result["ok"], "anchor": result["anchor"], "entries": result["checked"]}
              for name, result in summary.items() if isinstance(result, dict) and "anchor" in result}
    await events.emit(session, EventType.AUDIT_CHAIN_HEAD, {"verified_at": now.isoformat(), "chains": chains}, at=now)
    return summary


def on_wall_time(job: JobFunc) -> JobFunc:
    """``job`` run at the wall clock's now, whatever the scheduler's clock says. The hash chains
    compare each row's own write time (its column default: the wall clock) with when it was sealed;
    sealed on a simulated clock (the demo's runs hours ahead) every row would look sealed late."""
    async def run(session: AsyncSession, *, now: dt.datetime) -> Any:
        return await job(session, now=utcnow())

    run.__name__ = run.__qualname__ = job.__name__
    return run


CHAIN_JOBS = (  # the ledger's and audit log's hash chains
    JobSpec("audit_chain_seal", on_wall_time(chain_seal_job), SEAL_EVERY),
    JobSpec("audit_chain_verify", on_wall_time(chain_verify_and_publish), VERIFY_EVERY),
)
