"""The application factory. Its lifespan is the composition root: settings, engine, token signer
and (as they arrive) carriers, scheduler and event bus are built here and handed down."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dialer.auth.tokens import TokenSigner
from dialer.container import Container
from dialer.jobs import jobs_for
from dialer.kit import error_handlers
from dialer.kit.clock import Clock, system_clock
from dialer.kit.db import create_engine, session_factory, writer_engine
from dialer.kit.migrations import head_revisions, upgrade_to_head
from dialer.kit.secrets import load_or_create_secret
from dialer.settings import Settings
from dialer.telephony.carrier import Carrier
from recordings.storage import LocalStorage

log = logging.getLogger("dialer")


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        try:
            if settings.auto_migrate:
                await upgrade_to_head(engine, settings.migrations_dir)
            secret = (
                settings.secret_key.get_secret_value()
                if settings.secret_key
                else load_or_create_secret(settings.data_dir / "secret_key")
            )
            app.state.container = Container(
                settings=settings,
                engine=engine,
                sessions=session_factory(engine),
                write_sessions=session_factory(writer_engine(engine)),
                tokens=TokenSigner(secret, dt.timedelta(minutes=settings.token_ttl_minutes)),
                clock=clock,
                schema_heads=frozenset(head_revisions(settings.migrations_dir)),
                carrier=build_carrier(settings),
                storage=LocalStorage(settings.data_dir / "recordings"),
            )
            scheduler, running = None, set()
            if settings.run_scheduler:
                from scheduling.runner import build_scheduler

                scheduler = build_scheduler(app.state.container.write_sessions, clock=clock, running=running,
                                            jobs=jobs_for(app.state.container))
                scheduler.start()  # inside the running loop; each job takes its advisory lock
            engine_task, engine_stop = None, asyncio.Event()
            container = app.state.container
            if settings.run_dialer and container.carrier is not None:
                from dialer.dialing.engine import ProgressiveEngine

                container.dialer_engine = ProgressiveEngine(container)
                engine_task = asyncio.create_task(container.dialer_engine.run(engine_stop), name="progressive-engine")
            inbox_task = None
            if settings.twilio_auth_token is not None:  # carrier webhooks are accepted: apply what they store
                from webhooks.inbox import Inbox

                container.inbox = Inbox(container)
                inbox_task = asyncio.create_task(container.inbox.run(), name="carrier-events-inbox")
            try:
                yield
            finally:
                if inbox_task is not None:
                    container.inbox.stop()
                    await inbox_task
                    await container.inbox.aclose()
                if engine_task is not None:
                    engine_stop.set()
                    await engine_task
                if scheduler is not None:
                    from scheduling.runner import stop_scheduler

                    await stop_scheduler(scheduler, running)
                if app.state.container.carrier is not None:
                    await app.state.container.carrier.aclose()
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
    )
    error_handlers.install(app)
    _include_routers(app)
    return app


def build_carrier(settings: Settings) -> Carrier | None:
    """The Twilio carrier when an account is configured (Twilio itself or the local emulator)."""
    if not settings.twilio_account_sid:
        return None
    from dialer.telephony.twilio_carrier import TwilioCarrier

    return TwilioCarrier(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None,
        api_key=settings.twilio_api_key,
        api_secret=settings.twilio_api_secret.get_secret_value() if settings.twilio_api_secret else None,
        api_base_url=settings.twilio_api_base_url,
        calls_per_second=settings.twilio_calls_per_second,
        max_concurrent_requests=settings.twilio_max_concurrent_requests,
        request_timeout_s=settings.twilio_request_timeout_s,
    )


def _include_routers(app: FastAPI) -> None:
    from dialer.agents.endpoints import router as agents_router
    from dialer.auth.endpoints import router as auth_router
    from dialer.cases.endpoints import router as cases_router
    from dialer.clients.endpoints import router as clients_router
    from dialer.compliance.endpoints import router as compliance_router
    from dialer.desktop.events import router as desktop_events_router
    from dialer.desktop.pages import router as desktop_pages_router
    from dialer.dialing.campaign_endpoints import router as campaigns_router
    from dialer.dialing.endpoints import router as calls_router
    from dialer.health.endpoints import router as health_router
    from dialer.imports.endpoints import router as imports_router
    from dialer.notes.endpoints import router as notes_router
    from dialer.seats.endpoints import router as seats_router
    from scheduling.endpoints import router as scheduling_router
    from webhooks.endpoints import router as webhooks_router
    from webhooks.event_endpoints import router as carrier_events_router

    app.include_router(health_router)
    app.include_router(webhooks_router)
    app.include_router(desktop_pages_router)
    routers = (auth_router, clients_router, cases_router, seats_router, imports_router, compliance_router,
               scheduling_router, agents_router, notes_router, calls_router,
               campaigns_router, desktop_events_router, carrier_events_router)
    for router in routers:
        app.include_router(router, prefix="/v1")
