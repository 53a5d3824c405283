"""The catalogue of scheduled jobs for a running service (the composition root's view of them)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.dialing.carrier_actions import CarrierActions
from dialer.dialing.reconcile import reconcile_job
from dialer.telephony.carrier import Carrier
from recordings.jobs import capture_job
from scheduling.jobs import JOBS, AfterCommit, JobSpec

if TYPE_CHECKING:
    from dialer.container import Container


def jobs_for(container: Container) -> tuple[JobSpec, ...]:
    """Every scheduled job; those that talk to the carrier exist when a carrier is configured."""
    if container.carrier is None:
        return JOBS
    return (
        *JOBS,
        JobSpec("recordings", partial(capture_job, source=container.carrier, storage=container.storage),
                dt.timedelta(seconds=container.settings.recording_capture_every_s)),
        JobSpec("calls_reconcile", partial(calls_reconcile, carrier=container.carrier, actions=container.actions),
                dt.timedelta(minutes=1)),
    )


async def calls_reconcile(session: AsyncSession, *, now: dt.datetime, carrier: Carrier,
                          actions: CarrierActions) -> AfterCommit:
    """The reconciler's sweep; the legs left up by the calls it ended are hung up after its commit."""
    swept = await reconcile_job(session, now=now, carrier=carrier)
    return AfterCommit(swept.summary, partial(actions.run, swept.effects))
