"""``SipCarrier``: the carrier protocol over a SIP trunk, for the rest of the service exactly Twilio.

Why it follows TwiML: the call flow (the agent's leg first, the whisper, then the party, both in a
per-call room) is defined once, by the TwiML our webhooks serve (``webhooks/twiml.py``), and the
events that move a call are defined once, by the status, conference and recording callbacks the
webhooks verify, store and apply (``webhooks/inbox.py``). The SIP carrier fetches the same
documents and sends the same callbacks, signed the same way with its own secret, so nothing above
the carrier branches on which carrier is in use and the SIP path inherits the inbox's idempotency
and ordering. What is SIP-specific stays here: the legs' signalling (``signalling.py`` over the
B2BUA's endpoint), their media (``media_link.py`` over the media processes) and the rooms.

Supervisor modes over SIP (a mixer in the media process) and inbound calls are part 2 of the SIP
work; until then ``add_supervisor`` is refused with a reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

import httpx

from dialer.telephony.carrier import (
    NOT_FOUND, NOT_LIVE, CallInfo, CallStatus, CarrierRejected, CarrierUnavailable, PlaceCall, PlacedCall,
    RecordingInfo, SupervisorMode,
)
from dialer.telephony.sip.callbacks import Callbacks
from dialer.telephony.sip.config import SipConfig
from dialer.telephony.sip.leg_flow import FlowContext, run_leg
from dialer.telephony.sip.legs import SipLeg, new_sid
from dialer.telephony.sip.media_link import CallMedia, MediaFailed
from dialer.telephony.sip.numbers import BadDestination, destination
from dialer.telephony.sip.recording_files import RecordingFiles, recording_sid
from dialer.telephony.sip.rooms import Rooms
from dialer.telephony.sip.signalling import Signalling
from dialer.telephony.tts import Speaker

log = logging.getLogger("dialer.telephony.sip")

ENDED_LEGS_KEPT = 5000  # legs answered from memory for reconciliation (get_call / find_calls)
HANG_UP_WAIT_S = 5.0  # how long hang_up waits for the leg to be over


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SipCarrier:
    name = "sip"

    def __init__(self, config: SipConfig, *, speaker: Speaker, media: CallMedia | None = None,
                 http: httpx.AsyncClient | None = None, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.config = config
        self._clock = clock
        self._speaker = speaker
        self._http = http
        self._owns_http = http is None
        self._media = media
        self._files = RecordingFiles(config.recordings_dir)
        self._legs: dict[str, SipLeg] = {}
        self._signalling: Signalling | None = None
        self._flow: FlowContext | None = None
        self._starting = asyncio.Lock()

    # --- life -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the B2BUA's SIP port and reach the media processes (done by the first call when
        not called before). Calls a previous run left in the media processes are ended and their
        partial recordings kept (``CallMedia.recover``)."""
        async with self._starting:
            if self._flow is not None:
                return
            if self._http is None:
                self._http = httpx.AsyncClient(timeout=10.0)
            callbacks = Callbacks(self._http, secret=self.config.callback_secret)
            media = self._media or CallMedia.for_config(self.config, callbacks=callbacks, files=self._files,
                                                       clock=self._clock)
            self._media = media
            media.on_lost = self._media_lost
            try:
                await media.start()
            except MediaFailed as exc:
                raise CarrierUnavailable(f"the media processes cannot be reached: {exc}", uncertain=False) from exc
            signalling = await Signalling.start(self.config, on_bye=self._far_end_hung_up)
            self._signalling = signalling
            rooms = Rooms(post=callbacks.send, bridge=media.bridge, clock=self._clock)
            self._flow = FlowContext(signalling=signalling, media=media, speaker=self._speaker, callbacks=callbacks,
                                     rooms=rooms, account=self.config.account, clock=self._clock)
            log.info("SIP carrier up: B2BUA on %s:%s, edge %s:%s, trunk %s", *signalling.local_address,
                     self.config.edge_host, self.config.edge_port, self.config.trunk_host or "(none)")

    async def aclose(self) -> None:
        for leg in list(self._legs.values()):
            if not leg.is_over:
                leg.interrupt("api")
        tasks = [leg.task for leg in self._legs.values() if leg.task is not None and not leg.task.done()]
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=5.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._flow is not None:
            await self._flow.callbacks.drain()
        if self._signalling is not None:
            self._signalling.close()
        if self._media is not None:
            await self._media.aclose()
        if self._http is not None and self._owns_http:
            await self._http.aclose()
        self._flow = self._signalling = None

    # --- the protocol ---------------------------------------------------------------------------
    async def place_call(self, request: PlaceCall) -> PlacedCall:
        try:
            where = destination(request.to_e164, domain=self.config.domain, trunk_host=self.config.trunk_host,
                                fmt=self.config.number_format)
        except BadDestination as exc:
            raise CarrierRejected(str(exc), http_status=400) from exc
        await self.start()
        assert self._flow is not None
        leg = SipLeg(new_sid("CA"), request, where, self._clock())
        self._remember(leg)
        leg.task = asyncio.get_running_loop().create_task(run_leg(self._flow, leg), name=f"sip-leg-{leg.sid}")
        return PlacedCall(leg.sid, CallStatus.QUEUED, 0)

    async def hang_up(self, carrier_call_id: str) -> None:
        """End the leg (BYE, or CANCEL while it rings) and return once it is over, as Twilio's API
        answers with the call completed; a far end slow to answer gets ``HANG_UP_WAIT_S``, then the
        leg goes on ending by itself (its status callback tells when)."""
        leg = self._legs.get(carrier_call_id)
        if leg is None or leg.is_over:
            return
        leg.interrupt("api")
        try:
            await asyncio.wait_for(asyncio.shield(leg.ended.wait()), HANG_UP_WAIT_S)
        except TimeoutError:
            log.warning("SIP leg %s: still ending %.0f s after our hang-up", leg.sid, HANG_UP_WAIT_S)

    async def redirect(self, carrier_call_id: str, twiml_url: str) -> None:
        leg = self._legs.get(carrier_call_id)
        if leg is None or leg.status is not CallStatus.IN_PROGRESS:
            raise CarrierRejected(f"SIP: leg {carrier_call_id} is not in progress, cannot redirect",
                                  carrier_code=NOT_LIVE, http_status=400)
        leg.redirect(twiml_url)

    async def add_supervisor(self, conference_name: str, supervisor_identity: str, mode: SupervisorMode, *,
                             agent_call_id: str, caller_id: str, status_callback_url: str) -> str:
        raise CarrierRejected("monitor, whisper and barge over SIP come with SIP part 2 (the media mixer)",
                              http_status=501)

    async def set_supervisor_mode(self, conference_name: str, participant_call_id: str, mode: SupervisorMode, *,
                                  agent_call_id: str) -> None:
        raise CarrierRejected("monitor, whisper and barge over SIP come with SIP part 2 (the media mixer)",
                              http_status=501)

    async def fetch_recording(self, media_url: str) -> bytes:
        try:
            return await asyncio.to_thread(self._files.read, media_url)
        except (ValueError, OSError) as exc:
            raise CarrierRejected(f"recording {media_url!r}: {exc}", http_status=404) from exc

    async def recordings_of(self, carrier_call_id: str) -> list[RecordingInfo]:
        """The WAVs the media processes wrote for this party leg (found on disk, so after a
        restart too); a file with its sidecar still there is not finished (``processing``)."""
        files = await asyncio.to_thread(self._files.of_leg, carrier_call_id)
        return [RecordingInfo(carrier_recording_id=recording_sid(f.path.name), media_url=self._files.url_for(f.path),
                              status="completed" if f.complete else "processing", channels=f.channels,
                              duration_s=f.duration_s) for f in files]

    async def get_call(self, carrier_call_id: str) -> CallInfo:
        leg = self._legs.get(carrier_call_id)
        if leg is None:  # not a leg of this run: the B2BUA restarted since, and its dialogs went with it
            raise CarrierRejected(f"SIP: no leg {carrier_call_id} (a leg from before a restart is over)",
                                  carrier_code=NOT_FOUND, http_status=404)
        return leg.info()

    async def find_calls(self, to_e164: str, started_after: dt.datetime) -> list[CallInfo]:
        if started_after.tzinfo is None:
            raise ValueError("started_after must be timezone-aware")
        found = [leg for leg in self._legs.values()
                 if leg.request.to_e164 == to_e164 and leg.created_at >= started_after]
        return [leg.info() for leg in sorted(found, key=lambda leg: leg.created_at, reverse=True)]

    # --- inside ---------------------------------------------------------------------------------
    @property
    def legs(self) -> dict[str, SipLeg]:
        return self._legs

    def in_flight(self) -> dict[str, int]:
        """What this carrier holds for calls not over yet (all zero between calls: nothing leaks)."""
        flow = self._flow
        return {"legs": sum(not leg.is_over for leg in self._legs.values()),
                "invites": len(flow.signalling) if flow else 0, "rooms": len(flow.rooms) if flow else 0,
                "media_calls": len(flow.media) if flow else 0, "callbacks": len(flow.callbacks) if flow else 0}

    def _remember(self, leg: SipLeg) -> None:
        self._legs[leg.sid] = leg
        if len(self._legs) > ENDED_LEGS_KEPT:
            for sid in [s for s, other in self._legs.items() if other.is_over][: len(self._legs) - ENDED_LEGS_KEPT]:
                del self._legs[sid]

    def _media_lost(self, sids: set[str]) -> None:
        for sid in sids:
            leg = self._legs.get(sid)
            if leg is not None and not leg.is_over:
                leg.interrupt("media")

    def _far_end_hung_up(self, sid: str) -> None:
        leg = self._legs.get(sid)
        if leg is not None:
            leg.interrupt("callee")

