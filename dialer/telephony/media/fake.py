"""``FakeMediaEngine``: an in-memory ``MediaEngine`` that records what it was asked, for the B2BUA's
unit tests. It keeps the real engine's rules that callers depend on (error codes, idempotent
``allocate``, no prompt on a bridged call, one ``played`` event per ``play``) and moves no audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .engine import (
    CallState,
    Codec,
    Endpoint,
    EventStream,
    LegName,
    LegState,
    MediaError,
    MediaEvent,
    MediaUnavailable,
    Recording,
    StopResult,
)


@dataclass
class _Leg:
    port: int
    remote: tuple[str, int] | None = None
    playing: str | None = None


@dataclass
class _Call:
    legs: dict[str, _Leg] = field(default_factory=dict)
    bridged: bool = False
    recording: str | None = None


class FakeMediaEngine:
    """``requests`` lists every call as (command, fields); ``available = False`` makes every call
    raise ``MediaUnavailable``; ``emit`` injects an event (e.g. ``rtp_timeout``)."""

    def __init__(self, *, ip: str = "127.0.0.1", first_port: int = 20000) -> None:
        self.ip = ip
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.calls: dict[str, _Call] = {}
        self.available = True
        self._next_port = first_port
        self._streams: set[EventStream] = set()

    def _record(self, command: str, **fields: Any) -> None:
        if not self.available:
            raise MediaUnavailable("fake media engine set unavailable")
        self.requests.append((command, fields))

    def _call(self, call: str) -> _Call:
        found = self.calls.get(call)
        if found is None:
            raise MediaError("unknown_call", f"no call {call!r}", "call")
        return found

    def _leg(self, call: str, leg: str) -> _Leg:
        found = self._call(call).legs.get(leg)
        if found is None:
            raise MediaError("unknown_leg", f"call {call} has no {leg} leg", "leg")
        return found

    def emit(self, kind: str, call: str, leg: str | None = None, **data: Any) -> None:
        event = MediaEvent(kind=kind, call=call, leg=leg, data={"event": kind, "call": call, "leg": leg, **data})
        for stream in list(self._streams):
            stream.put(event)

    async def allocate(self, call: str, leg: LegName) -> Endpoint:
        self._record("allocate", call=call, leg=leg)
        state = self.calls.setdefault(call, _Call())
        if leg not in state.legs:
            state.legs[leg] = _Leg(port=self._next_port)
            self._next_port += 2
        return Endpoint(ip=self.ip, port=state.legs[leg].port)

    async def set_remote(self, call: str, leg: LegName, *, ip: str, port: int, codec: Codec, pt: int,
                         te_pt: int | None) -> None:
        self._record("remote", call=call, leg=leg, ip=ip, port=port, codec=codec, pt=pt, te_pt=te_pt)
        self._leg(call, leg).remote = (ip, port)

    async def play(self, call: str, leg: LegName, path: str) -> float:
        self._record("play", call=call, leg=leg, path=path)
        state, target = self._call(call), self._leg(call, leg)
        if state.bridged:
            raise MediaError("bridged", f"call {call} is bridged")
        if target.remote is None:
            raise MediaError("no_remote", f"leg {leg} has no remote yet")
        if target.playing is not None:
            self.emit("played", call, leg, completed=False)
        target.playing = path
        return 1.0

    def finish_play(self, call: str, leg: LegName) -> None:
        """The prompt on that leg ends (the test decides when)."""
        self._leg(call, leg).playing = None
        self.emit("played", call, leg, completed=True)

    async def stop_play(self, call: str, leg: LegName) -> bool:
        self._record("stop_play", call=call, leg=leg)
        target = self._leg(call, leg)
        playing, target.playing = target.playing is not None, None
        if playing:
            self.emit("played", call, leg, completed=False)
        return playing

    async def bridge(self, call: str) -> None:
        self._record("bridge", call=call)
        state = self._call(call)
        for name in ("agent", "party"):
            self._leg(call, name)
        for name, leg in state.legs.items():
            if leg.playing is not None:
                leg.playing = None
                self.emit("played", call, name, completed=False)
        state.bridged = True

    async def record(self, call: str, path: str) -> None:
        self._record("record", call=call, path=path)
        state = self._call(call)
        if state.recording is not None:
            raise MediaError("already_recording", f"call {call} is already recording")
        state.recording = path

    async def stop(self, call: str) -> StopResult:
        self._record("stop", call=call)
        state = self._call(call)
        del self.calls[call]
        recording = None if state.recording is None else Recording(
            path=state.recording, bytes=44, duration_s=0.0,
            sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        return StopResult(recording=recording,
                          packets={"agent_in": 0, "agent_out": 0, "party_in": 0, "party_out": 0})

    async def query(self) -> list[CallState]:
        self._record("query")
        return [
            CallState(call=call_id, bridged=state.bridged, recording_path=state.recording, legs={
                name: LegState(name=name, port=leg.port, remote=leg.remote, destination=leg.remote, latched=False,
                               packets_in=0, packets_out=0, idle_s=0.0, playing=leg.playing is not None)
                for name, leg in state.legs.items()})
            for call_id, state in self.calls.items()
        ]

    def events(self) -> EventStream:
        return EventStream(self._streams)
