"""The composition root's product: everything the service's requests, jobs and background tasks
use, built once by :func:`build_container` — the one builder the app, the worker, the demo and
the CLI share. Only the composition root (``dialer.app``, ``dialer.cli``, ``dialer.demo``,
``dialer.jobs``) knows this class; endpoints ask for one collaborator each
(``dialer.kit.deps.provided``) and functions take the collaborators they use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer.auth.tokens import TokenSigner
from dialer.dialing.carrier_actions import CarrierActions
from dialer.dialing.engine import Dialer, ProgressiveEngine
from dialer.dialing.service import Outbound
from dialer.dialing.urls import CallbackUrls
from dialer.jobs import jobs_for
from dialer.kit.clock import Clock
from dialer.kit.db import create_engine, session_factory, writer_engine
from dialer.kit.migrations import head_revisions
from dialer.kit.secrets import load_or_create_secret
from dialer.settings import Settings
from dialer.telephony.carrier import Carrier
from recordings.storage import LocalStorage, RecordingStorage
from scheduling.jobs import JobSpec
from webhooks.inbox import Inbox


@dataclass(slots=True)
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]  # transactions begin as writers (SQLite: IMMEDIATE)
    tokens: TokenSigner
    clock: Clock
    schema_heads: frozenset[str]
    carrier: Carrier | None  # None until a carrier is configured
    storage: RecordingStorage  # where recordings are kept (local directory by default)
    urls: CallbackUrls = field(init=False)
    outbound: Outbound = field(init=False)
    actions: CarrierActions = field(init=False)  # the after-commit side: carrier actions, ringing, placing
    dialer: Dialer = field(init=False)  # what the progressive engine dials with
    jobs: tuple[JobSpec, ...] = field(init=False)  # the scheduled jobs (dialer.jobs.jobs_for)
    dialer_engine: ProgressiveEngine | None = None  # running when a carrier is configured
    inbox: Inbox | None = None  # the carrier events inbox, when carrier webhooks are accepted

    def wake_engine(self, agent_id: int | None = None) -> None:
        """Tell the progressive engine an agent became ready (or a campaign started)."""
        if self.dialer_engine is not None:
            self.dialer_engine.wake(agent_id)

    def use(self, *, carrier: Carrier | None = None, clock: Clock | None = None) -> None:
        """Swap the carrier or the clock (a test's fake, say) and rebuild what is built on them, so
        no collaborator keeps the old one."""
        self.carrier = carrier if carrier is not None else self.carrier
        self.clock = clock if clock is not None else self.clock
        _wire(self)

    def start_inbox(self) -> Inbox:
        self.inbox = Inbox(engine=self.engine, write_sessions=self.write_sessions, clock=self.clock,
                           actions=self.actions)
        return self.inbox

    def start_engine(self) -> ProgressiveEngine:
        self.dialer_engine = ProgressiveEngine(self.dialer)
        return self.dialer_engine


def build_container(
    settings: Settings, *, clock: Clock, engine: AsyncEngine | None = None, carrier: Carrier | None = None,
    storage: RecordingStorage | None = None,
) -> Container:
    """Everything built from the settings: the database engine (or ``engine``), its session
    factories, the token signer (the secret key, or the one generated into the data directory),
    the carrier (Twilio or its emulator when configured, or ``carrier``), the recording storage,
    the after-commit carrier actions, the dialer and the job catalogue."""
    engine = engine or create_engine(settings.database_url)
    carrier = carrier if carrier is not None else build_carrier(settings)
    secret = (settings.secret_key.get_secret_value() if settings.secret_key
              else load_or_create_secret(settings.data_dir / "secret_key"))
    container = Container(
        settings=settings, engine=engine, sessions=session_factory(engine),
        write_sessions=session_factory(writer_engine(engine)),
        tokens=TokenSigner(secret, dt.timedelta(minutes=settings.token_ttl_minutes)), clock=clock,
        schema_heads=frozenset(head_revisions(settings.migrations_dir)), carrier=carrier,
        storage=storage or LocalStorage(settings.data_dir / "recordings"),
    )
    _wire(container)
    return container


def _wire(container: Container) -> None:
    """What is built on the carrier, the clock and the settings: the callback URLs, what outbound
    calls are written with, the after-commit carrier actions, the dialer and the job catalogue."""
    container.urls = CallbackUrls(container.settings.public_base_url)
    container.outbound = Outbound.of(container.carrier, container.settings)
    container.actions = actions = CarrierActions(
        carrier=container.carrier, engine=container.engine, write_sessions=container.write_sessions,
        urls=container.urls, clock=container.clock)
    container.dialer = Dialer(sessions=container.sessions, write_sessions=container.write_sessions,
                              clock=container.clock, outbound=container.outbound, actions=actions)
    container.jobs = jobs_for(carrier=container.carrier, storage=container.storage, actions=actions,
                              capture_every=dt.timedelta(seconds=container.settings.recording_capture_every_s))


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
