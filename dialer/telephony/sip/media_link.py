"""The legs' media, in the media processes (``dialer.telephony.media``), as the leg tasks use it.

Both legs of one of our calls share one media call in one process (chosen by the call's id), so
the process can bridge them and write the call's two-channel recording (channel 1 the agent,
channel 2 the party). The party's leg starts the recording when its media is set up, so a 183's
early media is in it. When the call's last leg ends the media call is stopped: an answered call's
recording is told to the party leg's recording callback (as Twilio tells it: ``RecordingSid``,
``RecordingUrl``, ``RecordingStatus=completed``, two channels), an unanswered one's file removed.

Each recording has a small sidecar (``<name>.json``: the callback URL, the party leg's id) so
that calls a previous run of the carrier left in a media process (the B2BUA restarted) are still
stopped, and their partial recordings kept and told, flagged ``RecordingPartial=true``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import os
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.telephony.media.engine import Codec, MediaClient, MediaError, MediaEvent, StopResult
from dialer.telephony.sip.callbacks import Callbacks
from dialer.telephony.sip.config import SipConfig
from dialer.telephony.sip.legs import SipLeg
from dialer.telephony.sip.recording_files import RecordingFiles, recording_sid
from dialer.telephony.sip.sdp import Negotiated

log = logging.getLogger("dialer.telephony.sip")


class MediaFailed(Exception):
    """A media process refused or could not be reached."""


@dataclass(frozen=True, slots=True)
class LocalMedia:
    address: str
    port: int


@dataclass(eq=False)
class _MediaCall:
    client: MediaClient
    open_legs: set[str] = field(default_factory=set)
    recording: Path | None = None
    party: SipLeg | None = None
    party_answered: bool = False


def socket_path(run_dir: Path, index: int) -> Path:
    """Where media process ``index`` listens for its controller."""
    return run_dir / f"media-{index}.sock"


class CallMedia:
    def __init__(self, clients: list[MediaClient], *, callbacks: Callbacks, files: RecordingFiles,
                 clock: Callable[[], dt.datetime], account: str = "sip") -> None:
        if not clients:
            raise ValueError("at least one media process is needed")
        self._clients = clients
        self._callbacks = callbacks
        self._files = files
        self._clock = clock
        self._account = account
        self._calls: dict[str, _MediaCall] = {}
        self._played: dict[tuple[str, str], asyncio.Future[None]] = {}
        self.on_lost: Callable[[set[str]], None] | None = None
        """Told the legs whose media process went away (the carrier ends them)."""
        self._watchdog: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """Media calls with a leg not over yet."""
        return len(self._calls)

    @classmethod
    def for_config(cls, config: SipConfig, *, callbacks: Callbacks, files: RecordingFiles,
                   clock: Callable[[], dt.datetime]) -> CallMedia:
        clients = [MediaClient(str(socket_path(config.run_dir, i))) for i in range(config.media_processes)]
        return cls(clients, callbacks=callbacks, files=files, clock=clock, account=config.account)

    async def start(self) -> None:
        """Connect to every media process and end what a previous run left in them."""
        self._files.directory.mkdir(parents=True, exist_ok=True)
        for client in self._clients:
            try:
                await client.connect()
            except MediaError as exc:
                raise MediaFailed(str(exc)) from exc
            client.listeners.append(self._on_event)
        await self.recover()
        self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name="sip-media-watchdog")

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
        for client in self._clients:
            await client.close()

    # --- per leg --------------------------------------------------------------------------------
    def _client_for(self, media_call: str) -> MediaClient:
        return self._clients[sum(media_call.encode()) % len(self._clients)]

    async def open(self, leg: SipLeg) -> LocalMedia:
        call = self._calls.get(leg.media_call)
        if call is None:
            call = self._calls[leg.media_call] = _MediaCall(self._client_for(leg.media_call))
        call.open_legs.add(leg.sid)
        try:
            local = await call.client.allocate(leg.media_call, "agent" if leg.media_leg == "agent" else "party")
            if leg.media_leg == "party" and leg.request.record and call.recording is None:
                call.party = leg
                path = self._files.path_for(f"{leg.media_call}-{leg.sid}.wav")
                self._write_sidecar(path, leg)
                await call.client.record(leg.media_call, str(path))
                call.recording = path
        except MediaError as exc:
            raise MediaFailed(str(exc)) from exc
        return LocalMedia(local.ip, local.port)

    async def connect(self, leg: SipLeg, remote: Negotiated) -> None:
        call = self._calls[leg.media_call]
        codec: Codec = "PCMA" if remote.codec.name == "PCMA" else "PCMU"
        try:
            await call.client.set_remote(leg.media_call, "agent" if leg.media_leg == "agent" else "party",
                                         ip=remote.remote_address, port=remote.remote_port, codec=codec,
                                         pt=remote.codec.payload_type, te_pt=remote.telephone_event)
        except MediaError as exc:
            raise MediaFailed(str(exc)) from exc

    async def play(self, leg: SipLeg, prompt: Path) -> None:
        """Play ``prompt`` to the leg and return when it has been heard to the end."""
        call = self._calls[leg.media_call]
        key = (leg.media_call, leg.media_leg)
        done = self._played[key] = asyncio.get_running_loop().create_future()
        try:
            seconds = await call.client.play(leg.media_call, "agent" if leg.media_leg == "agent" else "party",
                                             str(prompt))
            await asyncio.wait_for(asyncio.shield(done), timeout=seconds + 5.0)
        except MediaError as exc:
            raise MediaFailed(str(exc)) from exc
        except TimeoutError:
            log.warning("SIP leg %s: no 'played' from the media process; going on", leg.sid)
        finally:
            self._played.pop(key, None)

    async def bridge(self, agent: SipLeg, party: SipLeg) -> None:
        call = self._calls.get(agent.media_call)
        if call is None or agent.media_call != party.media_call:
            log.error("SIP legs %s and %s are in one room but not one media call", agent.sid, party.sid)
            return
        try:
            await call.client.bridge(agent.media_call)
        except MediaError as exc:
            raise MediaFailed(str(exc)) from exc

    async def close(self, leg: SipLeg, *, answered: bool) -> None:
        """The leg is over; the media call ends with its last leg."""
        call = self._calls.get(leg.media_call)
        if call is None:
            return
        call.open_legs.discard(leg.sid)
        if leg is call.party:
            call.party_answered = answered
        if call.open_legs:
            return
        del self._calls[leg.media_call]
        try:
            result = await call.client.stop(leg.media_call)
        except MediaError as exc:  # the process is gone: what it flushed of the recording is kept
            log.error("SIP media call %s could not be stopped (%s); its recording is kept as it is",
                      leg.media_call, exc)
            self._partial(call)
            return
        await self._finished(call, result)

    def _partial(self, call: _MediaCall) -> None:
        if call.recording is None or call.party is None or not call.recording.exists():
            return
        try:
            with wave.open(str(call.recording), "rb") as wav:
                seconds = wav.getnframes() / wav.getframerate()
        except (OSError, EOFError, wave.Error) as exc:
            log.error("the partial recording %s cannot be read (%s); kept for a person to look at", call.recording, exc)
            return
        if call.party_answered:
            self._tell_recording(call.party.request.recording_callback_url, call.party.sid, call.recording, seconds,
                                 partial=True)
            _sidecar(call.recording).unlink(missing_ok=True)

    async def _finished(self, call: _MediaCall, result: StopResult) -> None:
        if call.recording is None or call.party is None:
            return
        sidecar = _sidecar(call.recording)
        if result.recording is None or not call.party_answered:
            for path in (call.recording, sidecar):
                path.unlink(missing_ok=True)
            return
        self._tell_recording(call.party.request.recording_callback_url, call.party.sid, call.recording,
                             result.recording.duration_s, partial=False)
        sidecar.unlink(missing_ok=True)

    def _tell_recording(self, url: str | None, party_sid: str, path: Path, duration_s: float, *, partial: bool) -> None:
        if not url:
            return
        params = {"AccountSid": self._account, "CallSid": party_sid, "RecordingSid": recording_sid(path.name),
                  "RecordingUrl": self._files.url_for(path), "RecordingStatus": "completed",
                  "RecordingDuration": str(int(round(duration_s))), "RecordingChannels": "2",
                  "RecordingSource": "OutboundAPI",
                  "RecordingStartTime": email.utils.format_datetime(self._clock(), usegmt=True)}
        if partial:
            params["RecordingPartial"] = "true"
        self._callbacks.send(f"recording:{party_sid}", url, params)

    def _write_sidecar(self, path: Path, leg: SipLeg) -> None:
        data = {"callback": leg.request.recording_callback_url, "call_sid": leg.sid, "call_ref": leg.request.call_ref}
        tmp = _sidecar(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, _sidecar(path))

    # --- after a restart ------------------------------------------------------------------------
    async def recover(self) -> int:
        """Stop every media call this carrier does not know (a previous run's): their recordings are
        kept and told as partial. Returns how many were ended."""
        ended = 0
        for client in self._clients:
            try:
                live = await client.query()
            except MediaError as exc:
                raise MediaFailed(str(exc)) from exc
            for state in live:
                if state.call in self._calls:
                    continue
                try:
                    result = await client.stop(state.call)
                except MediaError as exc:
                    log.error("media call %s left by a previous run could not be stopped: %s", state.call, exc)
                    continue
                ended += 1
                self._recovered(state.call, result)
        return ended

    def _recovered(self, media_call: str, result: StopResult) -> None:
        if result.recording is None:
            return
        path = Path(result.recording.path)
        sidecar = _sidecar(path)
        try:
            meta: dict[str, Any] = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            log.error("media call %s: its recording %s has no readable sidecar; kept, not told", media_call, path)
            return
        log.warning("media call %s was left by a previous run; its partial recording %s is kept", media_call, path)
        self._tell_recording(meta.get("callback"), str(meta.get("call_sid")), path, result.recording.duration_s,
                             partial=True)
        sidecar.unlink(missing_ok=True)

    async def _watch(self) -> None:
        """Every second: a media process that went away ends its calls' legs (they cannot be
        heard any more); it is reconnected to when it is back."""
        while True:
            await asyncio.sleep(1.0)
            for client in self._clients:
                if client.connected:
                    continue
                lost = {sid for call in self._calls.values() if call.client is client for sid in call.open_legs}
                if lost and self.on_lost is not None:
                    log.error("a media process went away (%s): ending %s legs", client.path, len(lost))
                    self.on_lost(lost)
                try:
                    await client.reconnect()
                except MediaError:
                    continue
                log.info("media process %s is back", client.path)

    # --- events -----------------------------------------------------------------------------------
    def _on_event(self, event: MediaEvent) -> None:
        if event.kind == "played" and event.leg is not None:
            done = self._played.get((event.call, event.leg))
            if done is not None and not done.done():
                done.set_result(None)


def _sidecar(recording: Path) -> Path:
    return recording.with_suffix(".json")
