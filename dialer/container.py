"""The composition root's product: everything the service's requests, jobs and background tasks
use, built once by :func:`build_container` — the one builder the app, the worker, the demo and
the CLI share. Only the composition root (``dialer.app``, ``dialer.cli``, ``dialer.demo``) knows
this class; endpoints ask for one collaborator each (``dialer.kit.deps.provided``) and functions
take the collaborators they use.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer.auth import throttle
from dialer.auth.tokens import TokenSigner
from dialer.calendars.store import CalendarStore, attach
from dialer.dialing.carrier_actions import CarrierActions
from dialer.dialing.carrier_health import CarrierHealth
from dialer.dialing.engine import Dialer, ProgressiveEngine
from dialer.dialing.service import Outbound
from dialer.dialing.urls import CallbackUrls
from dialer.jobs import jobs_for
from dialer.kit.clock import Clock
from dialer.kit.db import create_engine, session_factory, writer_engine
from dialer.kit.migrations import head_revisions
from dialer.kit.secrets import load_or_create_secret, read_secret
from dialer.kit.signed_links import LinkSigner
from dialer.outbox.worker import DeliveryWorker
from dialer.settings import Settings
from dialer.telephony.carrier import Carrier
from recordings.storage import LocalStorage, RecordingStorage
from scheduling.jobs import JobSpec
from webhooks.inbox import Inbox


class ForwardingClock:
    """The one clock object every collaborator holds; its source can be swapped (a test's frozen
    clock, the demo's simulated one) and every holder sees the new time at once."""

    __slots__ = ("source",)

    def __init__(self, source: Clock) -> None:
        self.source = source

    def __call__(self) -> dt.datetime:
        return self.source()


class Container:
    """What the composition root built. ``clock`` and ``carrier`` may be swapped after the build
    (assigned, or :meth:`use`): whatever is built on them follows, the running inbox and engine too."""

    urls: CallbackUrls
    outbound: Outbound
    actions: CarrierActions  # the after-commit side: carrier actions, ringing, placing
    dialer: Dialer  # what the progressive engine dials with
    jobs: tuple[JobSpec, ...]  # the scheduled jobs (dialer.jobs.jobs_for)

    def __init__(
        self, *, settings: Settings, engine: AsyncEngine, tokens: TokenSigner | None, clock: Clock,
        schema_heads: frozenset[str], carrier: Carrier | None, storage: RecordingStorage,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.write_sessions: async_sessionmaker[AsyncSession] = session_factory(writer_engine(engine))  # writers
        # The holiday and working-day calendars this process holds; every session of these factories
        # carries them (dialer.calendars.store), so decisions and jobs read none per use.
        self.calendars = CalendarStore()
        attach(self.calendars, self.sessions, self.write_sessions)
        self.tokens = tokens  # None where nothing signs tokens (the worker, a benchmark)
        self.login_rules = throttle.rules(per_user=settings.login_max_failures_per_user,
                                          per_source=settings.login_max_failures_per_source)
        self.schema_heads = schema_heads
        self.storage = storage
        self._clock = ForwardingClock(clock)
        self._carrier = carrier
        self.dialer_engine: ProgressiveEngine | None = None  # running when a carrier is configured
        self.inbox: Inbox | None = None  # the carrier events inbox, when carrier webhooks are accepted
        self.callback_secret = callback_secret_of(settings)
        self.carrier_name = "sip" if settings.carrier == "sip" else "twilio"  # whose events the webhooks store
        self.links: LinkSigner | None = None  # signs recordings' expiring links (the service's secret)
        self.webhooks: DeliveryWorker | None = None  # delivering the outbox, when this process does
        self._wire()

    @property
    def clock(self) -> Clock:
        """The service's clock (what collaborators hold forwards to it)."""
        return self._clock

    @clock.setter
    def clock(self, source: Clock) -> None:
        self._clock.source = source.source if isinstance(source, ForwardingClock) else source

    @property
    def carrier(self) -> Carrier | None:
        return self._carrier

    @carrier.setter
    def carrier(self, carrier: Carrier | None) -> None:
        self._carrier = carrier
        self._wire()

    def use(self, *, carrier: Carrier | None = None, clock: Clock | None = None) -> None:
        """Swap the carrier and/or the clock (a test's fake, say)."""
        if clock is not None:
            self.clock = clock
        if carrier is not None:
            self.carrier = carrier

    def job(self, name: str) -> JobSpec | None:
        """A scheduled job's definition as it is now (built on the current carrier and clock)."""
        return next((spec for spec in self.jobs if spec.name == name), None)

    def wake_engine(self, agent_id: int | None = None) -> None:
        """Tell the progressive engine an agent became ready (or a campaign started)."""
        if self.dialer_engine is not None:
            self.dialer_engine.wake(agent_id)

    def start_inbox(self) -> Inbox:
        self.inbox = Inbox(engine=self.engine, write_sessions=self.write_sessions, clock=self._clock,
                           actions=self.actions)
        return self.inbox

    @property
    def carrier_health(self) -> CarrierHealth | None:
        """Whether the carrier answers (None: no carrier configured)."""
        return self.actions.health if self._carrier is not None else None

    def media_link(self, recording_id: int, now: dt.datetime, *, expires_at: dt.datetime | None = None) -> str:
        """An absolute, signed link to a recording's media, good until ``expires_at`` (by default
        ``DIALER_WEBHOOK_LINK_TTL_S`` from now: an event's receiver), the one way such links are made
        (the delivery worker's and ``POST /v1/recordings/{id}/link``'s)."""
        if self.links is None:
            raise RuntimeError("no secret key: recording links cannot be signed")
        expires = expires_at or now + dt.timedelta(seconds=self.settings.webhook_link_ttl_s)
        path = self.links.sign(f"/v1/recordings/{recording_id}/media", expires_at=expires)
        return self.settings.public_base_url.rstrip("/") + path

    def start_webhooks(self) -> DeliveryWorker:
        """The outbox's delivery worker (replicas share the work: leases and SKIP LOCKED)."""
        self.webhooks = DeliveryWorker(sessions=self.write_sessions, clock=self._clock,
                                       media_link=self.media_link if self.links is not None else None,
                                       timeout_s=self.settings.webhook_timeout_s)
        return self.webhooks

    def start_engine(self) -> ProgressiveEngine:
        self.dialer_engine = ProgressiveEngine(self.dialer)
        return self.dialer_engine

    def _wire(self) -> None:
        """What is built on the carrier, the clock and the settings: the callback URLs, what outbound
        calls are written with, the after-commit carrier actions, the dialer and the job catalogue;
        the running inbox and engine are pointed at the new ones."""
        self.urls = CallbackUrls(self.settings.public_base_url)
        self.outbound = Outbound.of(self._carrier, self.settings)
        self.actions = CarrierActions(carrier=self._carrier, engine=self.engine, sessions=self.sessions,
                                      write_sessions=self.write_sessions, urls=self.urls, clock=self._clock)
        self.dialer = Dialer(sessions=self.sessions, write_sessions=self.write_sessions, clock=self._clock,
                             outbound=self.outbound, actions=self.actions)
        self.jobs = jobs_for(carrier=self._carrier, storage=self.storage, actions=self.actions,
                             capture_every=dt.timedelta(seconds=self.settings.recording_capture_every_s),
                             zone=self.settings.default_time_zone)
        if self.inbox is not None:
            self.inbox.actions = self.actions
        if self.dialer_engine is not None:
            self.dialer_engine.dialer = self.dialer


def build_container(
    settings: Settings, *, clock: Clock, engine: AsyncEngine | None = None, carrier: Carrier | None = None,
    storage: RecordingStorage | None = None, sign_tokens: bool = True,
) -> Container:
    """Everything built from the settings: the database engine (or ``engine``), its session
    factories, the token signer (the secret key, or the one generated into the data directory;
    none with ``sign_tokens`` off, so a worker never writes the key), the carrier (Twilio or its
    emulator when configured, or ``carrier``), the recording storage, and what is built on them."""
    key_file = settings.data_dir / "secret_key"
    secret = (settings.secret_key.get_secret_value() if settings.secret_key
              else load_or_create_secret(key_file) if sign_tokens
              else read_secret(key_file))
    tokens = TokenSigner(secret, dt.timedelta(minutes=settings.token_ttl_minutes)) if sign_tokens and secret else None
    container = Container(
        settings=settings, engine=engine or create_engine(settings.database_url), tokens=tokens, clock=clock,
        schema_heads=frozenset(head_revisions(settings.migrations_dir)),
        carrier=carrier if carrier is not None else build_carrier(settings, clock=clock),
        storage=storage or storage_for(settings),
    )
    container.links = LinkSigner(secret, purpose="recordings") if secret else None
    return container


def callback_secret_of(settings: Settings) -> str | None:
    """What the carrier's webhooks are signed with: Twilio's auth token, or the SIP carrier's own
    secret (both sign in Twilio's way: ``dialer.telephony.sip.callbacks``); None: no carrier."""
    if settings.carrier == "sip":
        from dialer.telephony.sip.config import callback_secret

        return callback_secret(settings)
    return settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None


def storage_for(settings: Settings) -> RecordingStorage:
    """Where recordings are kept: the data directory's ``recordings`` folder, or an S3-compatible
    bucket (its client needs no opening or closing: ``recordings.s3``)."""
    if settings.recording_storage == "local":
        return LocalStorage(settings.data_dir / "recordings")
    from recordings.s3 import S3Storage

    secret = settings.s3_secret_access_key
    return S3Storage(
        bucket=settings.s3_bucket or "", endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
        prefix=settings.s3_prefix, access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        addressing_style=settings.s3_addressing_style, connect_timeout_s=settings.s3_connect_timeout_s,
        read_timeout_s=settings.s3_read_timeout_s, request_timeout_s=settings.s3_request_timeout_s,
        max_retries=settings.s3_max_retries, retry_timeout_s=settings.s3_retry_timeout_s,
    )


def build_carrier(settings: Settings, *, clock: Clock | None = None) -> Carrier | None:
    """The SIP carrier with ``DIALER_CARRIER=sip`` (its callbacks stamped by the service's clock);
    else the Twilio carrier when an account is configured (Twilio itself or the local emulator)."""
    if settings.carrier == "sip":
        from dialer.telephony.sip.carrier import SipCarrier
        from dialer.telephony.sip.config import sip_config
        from dialer.telephony.tts import EspeakSpeaker

        config = sip_config(settings)
        if clock is None:
            return SipCarrier(config, speaker=EspeakSpeaker(config.prompts_dir))
        return SipCarrier(config, speaker=EspeakSpeaker(config.prompts_dir), clock=clock)
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
