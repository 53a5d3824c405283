"""``FakeCarrier``: the ``Carrier`` protocol in memory, for unit tests of the services above it.

It records every request (``requests``: ``(method, arguments)``, failed ones included), keeps
calls, conferences and recordings the way Twilio would, and lets a test play the network:
``advance`` a call's status, ``join_conference``, ``complete_with_recording``, and
``fail_next`` to make the next request of a kind fail — optionally *after* taking effect, the
way a timed-out ``POST /Calls`` can still have placed the call.
"""

from __future__ import annotations

import io
import uuid
import wave
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .carrier import (
    TERMINAL_STATUSES, CallInfo, CallStatus, CarrierError, CarrierRejected, PlaceCall, PlacedCall, RecordingInfo,
    SupervisorMode,
)

FAKE_MEDIA_BASE = "https://fake-carrier.invalid/recordings/"


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _seconds(wav_bytes: bytes) -> int:
    with wave.open(io.BytesIO(wav_bytes)) as reader:
        return int(reader.getnframes() / reader.getframerate())


def silent_wav(seconds: float = 1.0, *, channels: int = 2, rate: int = 8000) -> bytes:
    """A silent 16-bit PCM WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * channels * int(seconds * rate))
    return buffer.getvalue()


@dataclass
class FakeParticipant:
    call_id: str
    label: str | None = None
    muted: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None


@dataclass
class _Failure:
    error: CarrierError
    after_effect: bool


class FakeCarrier:
    name = "fake"

    def __init__(self, *, clock: Any = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.calls: dict[str, CallInfo] = {}
        self.placed: dict[str, PlaceCall] = {}  # carrier call id → the request that placed it
        self.conferences: dict[str, dict[str, FakeParticipant]] = {}
        self.recordings: dict[str, bytes] = {}  # media URL → WAV
        self.recordings_by_call: dict[str, list[str]] = {}  # call id → its recordings' media URLs
        self.closed = False
        self.started = False
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)

    # --- programming the network ---------------------------------------------------------------
    def fail_next(self, method: str, error: CarrierError, *, after_effect: bool = False) -> None:
        """The next ``method`` request raises ``error``; with ``after_effect`` it first takes
        effect (a placed call exists although the caller got an error)."""
        self._failures[method].append(_Failure(error, after_effect))

    def advance(self, carrier_call_id: str, status: CallStatus | str) -> CallInfo:
        """The network moves a call on (ringing, in-progress, completed, busy…)."""
        status = CallStatus(status)
        call, now = self.calls[carrier_call_id], self._clock()
        changes: dict[str, Any] = {"status": status}
        if status is not CallStatus.QUEUED and call.started_at is None:
            changes["started_at"] = now
        if status in TERMINAL_STATUSES and call.ended_at is None:
            changes["ended_at"] = now
            answered = call.status is CallStatus.IN_PROGRESS
            changes["duration_s"] = round((now - (call.started_at or now)).total_seconds()) if answered else 0
        self.calls[carrier_call_id] = replace(call, **changes)
        return self.calls[carrier_call_id]

    def join_conference(self, conference_name: str, call_id: str, *, label: str | None = None) -> None:
        self.conferences.setdefault(conference_name, {})[call_id] = FakeParticipant(call_id, label)

    def participant(self, conference_name: str, call_id: str) -> FakeParticipant:
        return self.conferences[conference_name][call_id]

    def complete_with_recording(self, carrier_call_id: str, *, seconds: float = 1.0) -> str:
        """End an answered call and store its dual-channel recording; returns the media URL."""
        self.advance(carrier_call_id, CallStatus.COMPLETED)
        url = FAKE_MEDIA_BASE + _sid("RE")
        self.recordings[url] = silent_wav(seconds, channels=2)
        self.recordings_by_call.setdefault(carrier_call_id, []).append(url)
        return url

    def requested(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.requests if name == method]

    def _request(self, method: str, **args: Any) -> _Failure | None:
        self.requests.append((method, args))
        failures = self._failures.get(method)
        failure = failures.popleft() if failures else None
        if failure is not None and not failure.after_effect:
            raise failure.error
        return failure

    def _call(self, carrier_call_id: str) -> CallInfo:
        call = self.calls.get(carrier_call_id)
        if call is None:
            raise CarrierRejected(f"fake: no call {carrier_call_id}", carrier_code=20404, http_status=404)
        return call

    # --- the protocol --------------------------------------------------------------------------
    async def place_call(self, request: PlaceCall) -> PlacedCall:
        failure = self._request("place_call", request=request)
        call = self._new_call(request.to_e164, request.from_e164)
        self.placed[call.carrier_call_id] = request
        if failure is not None:
            raise failure.error
        return PlacedCall(call.carrier_call_id, call.status, 0)

    def _new_call(self, to: str, from_: str) -> CallInfo:
        call = CallInfo(carrier_call_id=_sid("CA"), to=to, from_=from_, status=CallStatus.QUEUED,
                        direction="outbound-api", created_at=self._clock())
        self.calls[call.carrier_call_id] = call
        return call

    async def hang_up(self, carrier_call_id: str) -> None:
        failure = self._request("hang_up", carrier_call_id=carrier_call_id)
        call = self._call(carrier_call_id)
        if not call.ended:
            self.advance(carrier_call_id, CallStatus.COMPLETED if call.status is CallStatus.IN_PROGRESS
                         else CallStatus.CANCELED)
        if failure is not None:
            raise failure.error

    async def redirect(self, carrier_call_id: str, twiml_url: str) -> None:
        failure = self._request("redirect", carrier_call_id=carrier_call_id, twiml_url=twiml_url)
        if self._call(carrier_call_id).status is not CallStatus.IN_PROGRESS:
            raise CarrierRejected("fake: call is not in-progress, cannot redirect", carrier_code=21220,
                                  http_status=400)
        if failure is not None:
            raise failure.error

    async def add_supervisor(self, conference_name: str, supervisor_identity: str, mode: SupervisorMode, *,
                             agent_call_id: str, caller_id: str, status_callback_url: str) -> str:
        failure = self._request("add_supervisor", conference_name=conference_name,
                                supervisor_identity=supervisor_identity, mode=mode, agent_call_id=agent_call_id,
                                caller_id=caller_id, status_callback_url=status_callback_url)
        room = self.conferences.setdefault(conference_name, {})
        self._check_coached(room, mode, agent_call_id)
        leg = self.advance(self._new_call(supervisor_identity, caller_id).carrier_call_id, CallStatus.IN_PROGRESS)
        room[leg.carrier_call_id] = FakeParticipant(leg.carrier_call_id, f"supervisor-{supervisor_identity}")
        self._apply_mode(room[leg.carrier_call_id], mode, agent_call_id)
        if failure is not None:
            raise failure.error
        return leg.carrier_call_id

    async def set_supervisor_mode(self, conference_name: str, participant_call_id: str, mode: SupervisorMode, *,
                                  agent_call_id: str) -> None:
        failure = self._request("set_supervisor_mode", conference_name=conference_name,
                                participant_call_id=participant_call_id, mode=mode, agent_call_id=agent_call_id)
        room = self.conferences.get(conference_name, {})
        if participant_call_id not in room:
            raise CarrierRejected(f"fake: {participant_call_id} is not in {conference_name}", carrier_code=20404,
                                  http_status=404)
        self._check_coached(room, mode, agent_call_id)
        self._apply_mode(room[participant_call_id], mode, agent_call_id)
        if failure is not None:
            raise failure.error

    @staticmethod
    def _check_coached(room: dict[str, FakeParticipant], mode: SupervisorMode, agent_call_id: str) -> None:
        if mode is SupervisorMode.WHISPER and agent_call_id not in room:
            raise CarrierRejected("fake: participant to be whispered is not present in the conference",
                                  carrier_code=16028, http_status=400)

    @staticmethod
    def _apply_mode(p: FakeParticipant, mode: SupervisorMode, agent_call_id: str) -> None:
        p.muted = mode is SupervisorMode.MONITOR
        p.coaching = mode is SupervisorMode.WHISPER
        p.call_sid_to_coach = agent_call_id if p.coaching else None

    async def fetch_recording(self, media_url: str) -> bytes:
        failure = self._request("fetch_recording", media_url=media_url)
        if failure is not None:
            raise failure.error
        if media_url not in self.recordings:
            raise CarrierRejected(f"fake: no recording at {media_url}", carrier_code=20404, http_status=404)
        return self.recordings[media_url]

    async def recordings_of(self, carrier_call_id: str) -> list[RecordingInfo]:
        failure = self._request("recordings_of", carrier_call_id=carrier_call_id)
        if failure is not None:
            raise failure.error
        return [RecordingInfo(carrier_recording_id=url.removeprefix(FAKE_MEDIA_BASE), media_url=url, status="completed",
                              channels=2, duration_s=_seconds(self.recordings[url]))
                for url in self.recordings_by_call.get(carrier_call_id, [])]

    async def get_call(self, carrier_call_id: str) -> CallInfo:
        failure = self._request("get_call", carrier_call_id=carrier_call_id)
        if failure is not None:
            raise failure.error
        return self._call(carrier_call_id)

    async def find_calls(self, to_e164: str, started_after: datetime) -> list[CallInfo]:
        if started_after.tzinfo is None:
            raise ValueError("started_after must be timezone-aware")
        failure = self._request("find_calls", to_e164=to_e164, started_after=started_after)
        if failure is not None:
            raise failure.error
        found = [c for c in self.calls.values() if c.to == to_e164 and c.created_at and c.created_at >= started_after]
        return found[::-1]

    async def start(self) -> None:
        self.started = True

    async def aclose(self) -> None:
        self.closed = True
