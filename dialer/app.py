"""The application factory. Its lifespan runs the composition root: migrations, then everything
built from the settings (``dialer.container.build_container``), the live events' bus and its
listener, then the scheduler, the progressive engine and the carrier events inbox, stopped in the
reverse order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sse_starlette.sse import AppStatus

from dialer.container import build_container
from dialer.kit import error_handlers
from dialer.kit.body_limit import BodyLimit, MiB
from dialer.kit.clock import Clock, system_clock
from dialer.kit.db import create_engine
from dialer.kit.migrations import upgrade_to_head
from dialer.kit.query_text import refuse_control_characters
from dialer.live.bus import Bus
from dialer.live.listen import Listener, table_reader
from dialer.settings import Settings
from dialer.telephony.carrier import CarrierError
from webhooks.refusals import RefusalWindows, write_last_windows

log = logging.getLogger("dialer")


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        try:
            if settings.auto_migrate:
                await upgrade_to_head(engine, settings.migrations_dir)
            container = app.state.container = build_container(settings, clock=clock, engine=engine)
            refusals = app.state.webhook_refusals = RefusalWindows()  # refused webhooks counted per source
            # the live pages' events, every replica's: read on an engine of their own (a SQLite process
            # reads the table ten times a second; the requests' engine counts only the requests' work)
            live_engine = create_engine(settings.database_url)
            # sse-starlette's process-wide "the server is exiting" flag, set by the last server's
            # signal in this process (a demo's Ctrl+C, a test): this app serves, so its streams live
            AppStatus.should_exit = False
            bus = app.state.live_bus = Bus(backlog=table_reader(live_engine))
            listener = Listener(live_engine, bus)
            await listener.start()
            await _check_storage(container.storage)
            scheduler, running = None, set[asyncio.Task[Any]]()
            if settings.run_scheduler:
                from scheduling.runner import build_scheduler

                scheduler = build_scheduler(container.write_sessions, clock=clock, running=running, jobs=container.jobs,
                                            current=container.job)  # a swapped carrier reaches the jobs too
                scheduler.start()  # inside the running loop; each job takes its advisory lock
            if container.carrier is not None:
                try:
                    await container.carrier.start()  # the SIP carrier's B2BUA binds its port here
                except CarrierError as exc:  # the service still serves; dials fail cleanly until it is up
                    log.error("the carrier is not ready (%s); dials are refused until it is", exc.detail)
            settling = None
            if container.carrier is not None and container.callback_secret is not None:
                from dialer.jobs import reconcile_at_start  # calls left open by the last run: settled now

                settling = asyncio.create_task(reconcile_at_start(
                    container.write_sessions, clock=container.clock, carrier=container.carrier,
                    actions=container.actions, storage=container.storage), name="reconcile-at-start")
                settling.add_done_callback(_log_settled)
            engine_task, engine_stop = None, asyncio.Event()
            if settings.run_dialer and container.carrier is not None:
                engine_task = asyncio.create_task(container.start_engine().run(engine_stop), name="progressive-engine")
            webhooks = container.start_webhooks() if settings.run_webhooks else None
            webhooks_task = webhooks.start() if webhooks is not None else None
            inbox, inbox_task = None, None
            if container.callback_secret is not None:  # carrier webhooks are accepted: apply what they store
                inbox = container.start_inbox()
                inbox_task = asyncio.create_task(inbox.run(), name="carrier-events-inbox")
            try:
                yield
            finally:
                if settling is not None and not settling.done():
                    settling.cancel()
                    await asyncio.gather(settling, return_exceptions=True)
                if inbox is not None and inbox_task is not None:
                    inbox.stop()
                    await inbox_task
                    await inbox.aclose()
                if engine_task is not None:
                    engine_stop.set()
                    await engine_task
                if webhooks is not None and webhooks_task is not None:
                    await webhooks.stop()
                    await webhooks.aclose()
                if scheduler is not None:
                    from scheduling.runner import stop_scheduler

                    await stop_scheduler(scheduler, running)
                if container.carrier is not None:
                    await container.carrier.aclose()
                await listener.aclose()
                await live_engine.dispose()
                await write_last_windows(container.write_sessions, refusals)
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Collections Dialer",
        version="0.1.0",
        description=(
            "Compliance-first calling service for a debt-collection call centre. Every endpoint "
            "names the roles that may call it; errors are `{\"error\": code, \"detail\": text}`."
        ),
        lifespan=lifespan,
        dependencies=[Depends(refuse_control_characters)],  # a URL's parameters hold no control character
        docs_url=None, redoc_url=None,  # served by dialer.apidocs from the service's own assets, not a CDN
    )
    error_handlers.install(app)
    app.add_middleware(BodyLimit, default=MiB, routes=_body_limits())
    _include_routers(app)
    return app


def _body_limits() -> list[tuple[str, int]]:
    """Request bodies over their path's limit are refused with 413 before they are read
    (``dialer.kit.body_limit``); the JSON API's default is 1 MiB. The uploads keep their own,
    named limit: theirs is the route's cap plus room for the multipart framing, so the route
    answers first."""
    from dialer.imports.limits import LIMITS
    from scheduling.endpoints import MAX_UPLOAD_BYTES as PAYMENT_FILE_BYTES
    from webhooks.endpoints import MAX_BODY_BYTES as WEBHOOK_BYTES

    framing = MiB
    return [
        (r"/webhooks/.*", WEBHOOK_BYTES),
        (r"/v1/clients/[^/]+/imports/(cases|stop-list)", LIMITS.upload_bytes + framing),
        (r"/v1/clients/[^/]+/imports/payments", PAYMENT_FILE_BYTES + framing),
        (r"/v1/attempts/import", 32 * MiB),  # up to 100 000 attempts of ~100-200 bytes each
        (r"/v1/payments/import", 8 * MiB),  # up to 10 000 payments of ~150-400 bytes each
    ]


def _log_settled(task: asyncio.Task[int]) -> None:
    if task.cancelled():
        return
    if task.exception() is not None:
        log.error("settling the calls left open by the last run failed (the scheduled sweep retries them)",
                  exc_info=task.exception())
    elif task.result():
        log.warning("%s call(s) left open by the last run were settled against the carrier", task.result())


async def _check_storage(storage: object) -> None:
    """An S3 bucket that does not answer is logged loudly at start (the service still serves; the
    capture retries and the audit reports what it could not reach)."""
    from recordings.s3 import S3Storage

    if isinstance(storage, S3Storage):
        try:
            await storage.check()
        except Exception as exc:  # obstore's errors name the URL, never the credentials
            log.error("recording storage %r is not reachable (%s)", storage, exc)


def _include_routers(app: FastAPI) -> None:
    from dialer.agents.endpoints import router as agents_router
    from dialer.apidocs.endpoints import router as apidocs_router
    from dialer.audit.endpoints import router as audit_router
    from dialer.auth.endpoints import router as auth_router
    from dialer.board.endpoints import router as board_router
    from dialer.board.pages import router as board_pages_router
    from dialer.calendars.endpoints import router as calendars_router
    from dialer.calls.endpoints import router as calls_router
    from dialer.campaigns.endpoints import router as campaigns_router
    from dialer.cases.endpoints import router as cases_router
    from dialer.clients.endpoints import router as clients_router
    from dialer.compliance.endpoints import router as compliance_router
    from dialer.desktop.events import router as desktop_events_router
    from dialer.desktop.pages import router as desktop_pages_router
    from dialer.health.endpoints import router as health_router
    from dialer.imports.endpoints import router as imports_router
    from dialer.notes.endpoints import router as notes_router
    from dialer.outbox.endpoints import router as integrations_router
    from dialer.seats.endpoints import router as seats_router
    from dialer.worklist.endpoints import router as worklist_router
    from recordings.endpoints import router as recordings_router
    from recordings.hold_endpoints import router as holds_router
    from scheduling.endpoints import router as scheduling_router
    from webhooks.endpoints import router as webhooks_router
    from webhooks.event_endpoints import router as carrier_events_router

    app.include_router(health_router)
    app.include_router(webhooks_router)
    app.include_router(desktop_pages_router)
    app.include_router(board_pages_router)
    app.include_router(apidocs_router)
    routers = (auth_router, clients_router, cases_router, seats_router, imports_router, compliance_router,
               scheduling_router, agents_router, worklist_router, notes_router, calls_router,
               campaigns_router, desktop_events_router, carrier_events_router, holds_router,
               recordings_router, integrations_router, calendars_router, audit_router, board_router)
    for router in routers:
        app.include_router(router, prefix="/v1")
