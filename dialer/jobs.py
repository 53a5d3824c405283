"""The catalogue of scheduled jobs for a running service (the composition root's view of them)."""

from __future__ import annotations

import datetime as dt
from functools import partial

from dialer.container import Container
from scheduling.jobs import JOBS, JobSpec


def jobs_for(container: Container) -> tuple[JobSpec, ...]:
    """Every scheduled job; those that talk to the carrier exist when a carrier is configured."""
    from dialer.dialing.reconcile import reconcile_job
    from recordings.jobs import capture_job

    if container.carrier is None:
        return JOBS
    return (
        *JOBS,
        JobSpec("recordings", partial(capture_job, source=container.carrier, storage=container.storage),
                dt.timedelta(seconds=container.settings.recording_capture_every_s)),
        JobSpec("calls_reconcile", partial(reconcile_job, carrier=container.carrier), dt.timedelta(minutes=1)),
    )
