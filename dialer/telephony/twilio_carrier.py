"""``Carrier`` over Twilio's REST API with the twilio SDK's async methods — against Twilio itself
or, with ``api_base_url`` pointing at it, the local emulator.

Pacing: new legs (calls and supervisor participants) take a token from a calls-per-second
bucket; every REST request holds a slot of the concurrency limiter. A 429 / 20429 is a refusal
(nothing was done), so it is retried (tenacity) with exponential backoff and jitter — a create
included. A transport failure or 5xx is never retried: for a create the outcome is uncertain, and
``CarrierUnavailable(uncertain=True)`` tells the caller to reconcile with ``find_calls``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential
from twilio.rest import Client

from .carrier import (
    CallInfo,
    CallStatus,
    CarrierRateLimited,
    CarrierRejected,
    PlaceCall,
    PlacedCall,
    RecordingInfo,
    SupervisorMode,
)
from .pacing import ConcurrencyLimiter, Sleep, TokenBucket
from .twilio_http import TWILIO_API_BASE_URL, TwilioApiHttpClient, to_carrier_error

log = logging.getLogger("dialer.telephony.twilio")
T = TypeVar("T")
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
RECORDING_EVENTS = ["completed", "absent"]


def _int(value: str | int | None) -> int | None:
    return None if value is None or value == "" else int(value)


def _mode_params(mode: SupervisorMode, agent_call_id: str) -> dict[str, Any]:
    """monitor = muted; whisper = coaching the agent's leg; barge = unmuted, not coaching."""
    if mode is SupervisorMode.WHISPER:
        return {"muted": False, "coaching": True, "call_sid_to_coach": agent_call_id}
    return {"muted": mode is SupervisorMode.MONITOR, "coaching": False}


def _address(identity: str) -> str:
    return identity if identity.startswith(("client:", "sip:", "+")) else f"client:{identity}"


def call_info(call: Any) -> CallInfo:
    """A twilio ``CallInstance`` as a ``CallInfo``."""
    return CallInfo(
        carrier_call_id=call.sid, to=call.to or "", from_=call._from or "", status=CallStatus(call.status),
        direction=call.direction or "", created_at=call.date_created, started_at=call.start_time,
        ended_at=call.end_time, duration_s=_int(call.duration), queue_time_ms=_int(call.queue_time) or 0,
        parent_call_id=call.parent_call_sid, answered_by=call.answered_by)


class _EqualJitter(wait_exponential):
    """``base_s * 2**retry`` capped at ``max_s``: half of it always waited, the other half scaled by
    ``jitter()`` (a number in [0, 1))."""

    def __init__(self, *, base_s: float, max_s: float, jitter: Callable[[], float]) -> None:
        super().__init__(multiplier=base_s, max=max_s)
        self._jitter = jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        ceiling = super().__call__(retry_state)
        return ceiling / 2 + ceiling / 2 * self._jitter()


def _log_retry(operation: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        log.info("Twilio %s: 429, retry %d in %.2fs", operation, state.attempt_number, delay)
    return before_sleep


class TwilioCarrier:
    """Twilio behind the ``Carrier`` protocol. Build it anywhere; its HTTP session is opened
    lazily, inside the running loop, on the first request. ``aclose()`` it at shutdown.

    Credentials: ``auth_token``, or ``api_key`` + ``api_secret`` (an API key of the account).
    """

    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str | None = None, api_key: str | None = None,
                 api_secret: str | None = None, api_base_url: str = TWILIO_API_BASE_URL,
                 calls_per_second: float = 1.0, call_burst: int = 1, max_concurrent_requests: int = 10,
                 request_timeout_s: float = 10.0, max_429_retries: int = 5, backoff_base_s: float = 0.25,
                 backoff_max_s: float = 8.0, sleep: Sleep = asyncio.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        if auth_token:
            self._username, self._password = account_sid, auth_token
        elif api_key and api_secret:
            self._username, self._password = api_key, api_secret
        else:
            raise ValueError("TwilioCarrier needs auth_token, or api_key and api_secret")
        self.account_sid = account_sid
        self.api_base_url = api_base_url
        self.request_timeout_s = request_timeout_s
        self.max_429_retries = max_429_retries
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.calls = TokenBucket(calls_per_second, call_burst, sleep=sleep)
        self.requests = ConcurrencyLimiter(max_concurrent_requests)
        self._sleep, self._jitter = sleep, jitter
        self._http: TwilioApiHttpClient | None = None
        self._client: Client | None = None
        self._conference_sids: dict[str, str] = {}  # friendly name → CF… (updates need the sid)

    # --- plumbing ------------------------------------------------------------------------------
    def _api(self) -> Client:
        if self._client is None:
            self._http = TwilioApiHttpClient(api_base_url=self.api_base_url, timeout_s=self.request_timeout_s)
            self._client = Client(self._username, self._password, self.account_sid, http_client=self._http)
        return self._client

    async def _rest(self, operation: str, request: Callable[[Client], Awaitable[T]], *, writes: bool = False) -> T:
        """One REST request: through the limiter, 429 retried, every failure mapped in one place.
        Only ``CarrierRateLimited`` is retried; the limiter's slot is given back while waiting."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(CarrierRateLimited), stop=stop_after_attempt(self.max_429_retries + 1),
            wait=_EqualJitter(base_s=self.backoff_base_s, max_s=self.backoff_max_s, jitter=self._jitter),
            sleep=self._sleep, before_sleep=_log_retry(operation), reraise=True)
        try:
            result: T = await retrying(self._attempt, operation, request, writes)
        except CarrierRateLimited as error:  # only ever raised once the retries are spent
            error.detail += f" (after {self.max_429_retries} retries)"
            error.args = (error.detail,)
            raise
        return result

    async def _attempt(self, operation: str, request: Callable[[Client], Awaitable[T]], writes: bool) -> T:
        """One try: through the limiter, any carrier failure raised as its ``CarrierError``."""
        try:
            async with self.requests:
                return await request(self._api())
        except Exception as exc:
            error = to_carrier_error(exc, operation=operation, writes=writes)
            if error is None:
                raise
            raise error from exc

    # --- the protocol --------------------------------------------------------------------------
    async def place_call(self, request: PlaceCall) -> PlacedCall:
        params: dict[str, Any] = {
            "to": request.to_e164, "from_": request.from_e164, "url": request.twiml_url, "method": "POST",
            "status_callback": request.status_callback_url, "status_callback_method": "POST",
            "status_callback_event": CALL_EVENTS, "timeout": request.timeout_s,
        }
        if request.record:
            params.update(record=True, recording_channels="dual",
                          recording_status_callback=request.recording_callback_url,
                          recording_status_callback_method="POST", recording_status_callback_event=RECORDING_EVENTS)
        await self.calls.acquire()
        call = await self._rest("create call", lambda api: api.calls.create_async(**params), writes=True)
        log.info("placed %s for call %s (queued %s ms)", call.sid, request.call_ref, call.queue_time)
        return PlacedCall(call.sid, CallStatus(call.status), _int(call.queue_time) or 0)

    async def hang_up(self, carrier_call_id: str) -> None:
        await self._rest("hang up", lambda api: api.calls(carrier_call_id).update_async(status="completed"),
                         writes=True)

    async def redirect(self, carrier_call_id: str, twiml_url: str) -> None:
        await self._rest("redirect call",
                         lambda api: api.calls(carrier_call_id).update_async(url=twiml_url, method="POST"),
                         writes=True)

    async def add_supervisor(self, conference_name: str, supervisor_identity: str, mode: SupervisorMode, *,
                             agent_call_id: str, caller_id: str, status_callback_url: str) -> str:
        label = "supervisor-" + re.sub(r"[^\w.-]", "-", supervisor_identity.split(":", 1)[-1])
        params = {
            "from_": caller_id, "to": _address(supervisor_identity), "label": label, "beep": "false",
            "end_conference_on_exit": False, "status_callback": status_callback_url,
            "status_callback_method": "POST", "status_callback_event": CALL_EVENTS,
            **_mode_params(mode, agent_call_id),
        }
        await self.calls.acquire()  # a participant is a new outbound leg
        participant = await self._rest(
            "add supervisor", lambda api: api.conferences(conference_name).participants.create_async(**params),
            writes=True)
        self._conference_sids[conference_name] = participant.conference_sid
        return participant.call_sid

    async def _conference_sid(self, conference_name: str) -> str:
        if sid := self._conference_sids.get(conference_name):
            return sid
        found = await self._rest("find conference",
                                 lambda api: api.conferences.list_async(friendly_name=conference_name, limit=20))
        live = [c for c in found if c.status != "completed"]
        if not live:
            raise CarrierRejected(f"Twilio: no live conference named {conference_name!r}", carrier_code=20404,
                                  http_status=404)
        self._conference_sids[conference_name] = live[0].sid
        return live[0].sid

    async def set_supervisor_mode(self, conference_name: str, participant_call_id: str, mode: SupervisorMode, *,
                                  agent_call_id: str) -> None:
        sid = await self._conference_sid(conference_name)
        params = _mode_params(mode, agent_call_id)
        await self._rest(
            "set supervisor mode",
            lambda api: api.conferences(sid).participants(participant_call_id).update_async(**params), writes=True)

    async def fetch_recording(self, media_url: str) -> bytes:
        async def download(_: Client) -> bytes:
            assert self._http is not None
            return await self._http.get_bytes(media_url, auth=(self._username, self._password))

        audio = await self._rest("fetch recording", download)
        if not audio.startswith(b"RIFF"):
            raise CarrierRejected(f"Twilio fetch recording: {media_url} did not answer a WAV file")
        return audio

    async def recordings_of(self, carrier_call_id: str) -> list[RecordingInfo]:
        found = await self._rest("list recordings",
                                 lambda api: api.calls(carrier_call_id).recordings.list_async(limit=20))
        base = self.api_base_url.rstrip("/")
        return [RecordingInfo(  # the media as the recording callback's RecordingUrl names it, as WAV
            carrier_recording_id=r.sid, status=str(r.status or ""), channels=r.channels, duration_s=_int(r.duration),
            media_url=f"{base}/2010-04-01/Accounts/{r.account_sid}/Recordings/{r.sid}.wav",
        ) for r in found if r.sid and r.account_sid]

    async def get_call(self, carrier_call_id: str) -> CallInfo:
        return call_info(await self._rest("fetch call", lambda api: api.calls(carrier_call_id).fetch_async()))

    async def find_calls(self, to_e164: str, started_after: datetime) -> list[CallInfo]:
        # Filtered here on date_created: a queued call has no start_time, so Twilio's
        # StartTime> filter would miss exactly the calls reconciliation looks for.
        if started_after.tzinfo is None:
            raise ValueError("started_after must be timezone-aware")
        since = started_after.replace(microsecond=0)  # Twilio's dates have whole seconds
        calls = await self._rest("list calls", lambda api: api.calls.list_async(to=to_e164, limit=100))
        return [call_info(c) for c in calls if c.date_created is None or c.date_created >= since]

    async def start(self) -> None:
        """Nothing to do: the HTTP client is made on the first request, inside the running loop."""

    async def aclose(self) -> None:
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()
