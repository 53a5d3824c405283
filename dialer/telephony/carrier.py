"""The carrier protocol: what the dialer asks of a telephone network, and the values and errors
it gets back. Implementations: ``TwilioCarrier`` (Twilio or the local emulator), ``FakeCarrier``
(in memory, for unit tests); a SIP carrier follows the same protocol.

Connecting the agent, the whisper and the conference are TwiML served by our webhooks; the
carrier only places legs, moves a live leg to new instructions (``redirect``) and manages the
supervisor's leg in a conference.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from dialer.kit.errors import DialerError


class CallStatus(enum.StrEnum):
    """A leg's status at the carrier (Twilio's vocabulary; ``dialer.calls.lifecycle`` maps it)."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"


TERMINAL_STATUSES = frozenset({CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED,
                               CallStatus.CANCELED})


class SupervisorMode(enum.StrEnum):
    MONITOR = "monitor"  # hears both sides, muted
    WHISPER = "whisper"  # only the agent hears the supervisor (coaching the agent's leg)
    BARGE = "barge"  # everyone hears everyone


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceCall:
    """An outbound leg. ``call_ref`` is our call id; the caller has already put it on the URLs
    (as a query parameter), the carrier only uses the URLs."""

    call_ref: str
    to_e164: str  # or a carrier address: ``client:seat-a07``, ``sip:…``
    from_e164: str
    twiml_url: str  # fetched (POST) when the leg answers
    status_callback_url: str  # every progress event: initiated, ringing, answered, completed
    recording_callback_url: str | None = None
    record: bool = True  # dual channel: one channel per side
    timeout_s: int = 30  # ring time before no-answer

    def __post_init__(self) -> None:
        if not 5 <= self.timeout_s <= 600:
            raise ValueError("timeout_s must be within 5..600 seconds")
        if self.record and not self.recording_callback_url:
            raise ValueError("a recorded call needs a recording_callback_url")


@dataclass(frozen=True, slots=True)
class PlacedCall:
    carrier_call_id: str
    status: CallStatus
    queue_time_ms: int  # how long the carrier queued it (its calls-per-second limit)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallInfo:
    carrier_call_id: str
    to: str
    from_: str
    status: CallStatus
    direction: str  # outbound-api | outbound-dial | inbound
    created_at: datetime | None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: int | None = None
    queue_time_ms: int = 0
    parent_call_id: str | None = None
    answered_by: str | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingInfo:
    """A recording the carrier holds for a call, as its recording callback would tell it."""

    carrier_recording_id: str
    media_url: str  # what ``fetch_recording`` takes
    status: str  # completed | processing | absent | failed
    channels: int | None = None
    duration_s: int | None = None


@runtime_checkable
class Carrier(Protocol):
    """A telephone network. Every method raises ``CarrierError`` (and only that) on failure."""

    name: str

    async def place_call(self, request: PlaceCall) -> PlacedCall:
        """Start an outbound leg. Never retried on a transport failure: ``CarrierUnavailable``
        with ``uncertain`` means the leg may exist; reconcile with ``find_calls``."""
        ...

    async def hang_up(self, carrier_call_id: str) -> None:
        """End the leg (cancels it while queued or ringing). Ending an ended leg is a no-op."""
        ...

    async def redirect(self, carrier_call_id: str, twiml_url: str) -> None:
        """Move a live (answered) leg to the TwiML at ``twiml_url``."""
        ...

    async def add_supervisor(self, conference_name: str, supervisor_identity: str, mode: SupervisorMode, *,
                             agent_call_id: str, caller_id: str, status_callback_url: str) -> str:
        """Call the supervisor into the call's conference in ``mode``; returns the supervisor leg's id.
        ``caller_id`` is what the supervisor's phone shows (the agency number)."""
        ...

    async def set_supervisor_mode(self, conference_name: str, participant_call_id: str, mode: SupervisorMode, *,
                                  agent_call_id: str) -> None:
        """Switch a supervisor in the conference between monitor, whisper and barge."""
        ...

    async def fetch_recording(self, media_url: str) -> bytes:
        """The recording's audio (WAV) from the URL the recording callback gave."""
        ...

    async def get_call(self, carrier_call_id: str) -> CallInfo:
        ...

    async def recordings_of(self, carrier_call_id: str) -> list[RecordingInfo]:
        """Every recording the carrier holds for this leg (for recovering one whose callback was
        lost: the service down when the carrier told it). None known: an empty list."""
        ...

    async def find_calls(self, to_e164: str, started_after: datetime) -> list[CallInfo]:
        """Legs to ``to_e164`` created at or after ``started_after`` (aware), newest first.
        For reconciliation after an uncertain ``place_call``."""
        ...

    async def start(self) -> None:
        """Get ready to call (the SIP carrier binds its port and reaches its media processes; an
        HTTP carrier has nothing to do). Called once by the service as it starts."""
        ...

    async def aclose(self) -> None:
        ...


class CarrierError(DialerError):
    """A carrier refused or failed an action. ``retryable``: trying later may succeed;
    ``carrier_code``: the carrier's own error code (Twilio's 5-digit code)."""

    code = "carrier_error"
    status = 502
    retryable = False

    def __init__(self, detail: str, *, carrier_code: int | None = None, http_status: int | None = None,
                 retryable: bool | None = None) -> None:
        if retryable is not None:
            self.retryable = retryable
        super().__init__(detail, carrier_code=carrier_code, retryable=self.retryable)
        self.carrier_code = carrier_code
        self.http_status = http_status


class CarrierUnavailable(CarrierError):
    """No answer from the carrier (connection error, timeout, 5xx). When ``uncertain``, the
    request may have taken effect (a call may have been placed): reconcile, never blindly retry."""

    code = "carrier_unavailable"
    status = 503
    retryable = True

    def __init__(self, detail: str, *, uncertain: bool = True, carrier_code: int | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(detail, carrier_code=carrier_code, http_status=http_status)
        self.uncertain = uncertain
        self.extra["uncertain"] = uncertain


class CarrierRejected(CarrierError):
    """The carrier refused the request (4xx: invalid number, bad credentials, call not live…)."""

    code = "carrier_rejected"
    status = 502
    retryable = False


NOT_FOUND = 20404
"""``carrier_code`` of a ``CarrierRejected``: the carrier knows no such resource (Twilio's code; the
SIP carrier says it of a leg from before it restarted)."""
NOT_LIVE = 21220
"""``carrier_code`` of a ``CarrierRejected``: the call is not in progress (Twilio's code)."""


class CarrierRateLimited(CarrierError):
    """Too many concurrent requests (429 / 20429), still refused after the retries. Nothing was done."""

    code = "carrier_rate_limited"
    status = 503
    retryable = True
