"""The media process's calls and the commands on them (the control socket's handlers call these).

One ``MediaService`` per process. It owns the port pool, the calls, and two timers: the 20 ms tick
that writes one frame of every recording and sends one packet of every prompt, and a one-second
housekeeping pass that reports RTP inactivity on bridged legs.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from .errors import CommandError
from .player import Player, PromptCache
from .ports import NoFreePort, PortPool
from .recorder import Channel, Recorder
from .relay import Address, Call, Leg, Remote
from .wav import WavError, sha256_file

LEGS = ("agent", "party")
TICK_S = 0.020
MAX_BEHIND = 3000  # slots: a loop stalled for more than a minute (a suspended host) skips ahead

Emit = Callable[[dict[str, Any]], None]


class MediaService:
    """Calls by id, each with its legs; every method is one control command."""

    def __init__(self, *, ports: PortPool, advertised_ip: str, rtp_timeout_s: float = 30.0,
                 emit: Emit = lambda event: None) -> None:
        self.ports = ports
        self.advertised_ip = advertised_ip
        self.rtp_timeout_s = rtp_timeout_s
        self.emit = emit
        self.calls: dict[str, Call] = {}
        self.prompts = PromptCache()
        self._players: dict[Leg, Player] = {}
        self._recording: dict[str, Recorder] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick_handle: asyncio.Handle | None = None
        self._housekeeping_handle: asyncio.TimerHandle | None = None
        self._t0 = 0.0
        self._ticks = 0
        self._recordings_started = 0
        self.slots_skipped = 0  # 20 ms slots lost to a stall longer than MAX_BEHIND
        self.slots_late = 0  # slots done more than one slot late (caught up)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the tick and the housekeeping timers (inside the running loop)."""
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._ticks = 0
        self._tick_handle = self._loop.call_at(self._t0, self._tick)
        self._housekeeping_handle = self._loop.call_later(1.0, self._housekeeping)

    def close(self) -> None:
        """Finish every recording and close every socket (SIGTERM, shutdown)."""
        for handle in (self._tick_handle, self._housekeeping_handle):
            if handle is not None:
                handle.cancel()
        for call in list(self.calls.values()):
            self._end(call)

    # -- commands ---------------------------------------------------------------------------
    async def allocate(self, call_id: str, leg_name: str) -> dict[str, Any]:
        """An RTP port for the leg (the same one again if the leg already has one)."""
        call = self.calls.get(call_id)
        if call is not None and leg_name in call.legs:
            return {"ip": self.advertised_ip, "port": call.legs[leg_name].port}
        try:
            port, rtp, rtcp = self.ports.take()
        except NoFreePort as exc:
            raise CommandError("no_free_port", str(exc)) from exc
        leg = Leg(call_id, leg_name, port, rtp, rtcp, self._latched)
        try:
            await asyncio.get_running_loop().create_datagram_endpoint(lambda: leg, sock=rtp)
        except OSError as exc:
            leg.sender.close()
            rtp.close()
            rtcp.close()
            self.ports.give(port)
            raise CommandError("no_free_port", f"port {port}: {exc}") from exc
        call = self.calls.setdefault(call_id, Call(call_id))
        call.legs[leg_name] = leg
        if call.recorder is not None:
            leg.channel = call.recorder.agent if leg_name == "agent" else call.recorder.party
        return {"ip": self.advertised_ip, "port": port}

    def set_remote(self, call_id: str, leg_name: str, remote: Remote) -> dict[str, Any]:
        """The leg's far end from SDP; latching is re-armed."""
        call, leg = self._leg(call_id, leg_name)
        leg.set_remote(remote)
        call.refresh_rewrites()
        return {}

    def play(self, call_id: str, leg_name: str, path: str) -> dict[str, Any]:
        """Play a prompt to one leg (replacing a prompt already playing there)."""
        call, leg = self._leg(call_id, leg_name)
        if call.bridged:
            raise CommandError("bridged", f"call {call_id} is bridged: prompts play only before the bridge")
        if leg.remote is None:
            raise CommandError("no_remote", f"leg {leg_name} has no remote yet: its codec is unknown")
        try:
            frames = self.prompts.frames(path, leg.remote.codec)
        except (OSError, WavError) as exc:
            raise CommandError("bad_prompt", str(exc), field="path") from exc
        self._end_play(leg, completed=False)
        player = Player(frames, leg.remote.payload_type, leg.send)
        leg.player = player
        self._players[leg] = player
        return {"frames": len(frames), "duration_s": len(frames) * TICK_S}

    def stop_play(self, call_id: str, leg_name: str) -> dict[str, Any]:
        """Stop the leg's prompt; ``stopped`` says whether one was playing."""
        _, leg = self._leg(call_id, leg_name)
        return {"stopped": self._end_play(leg, completed=False)}

    def bridge(self, call_id: str) -> dict[str, Any]:
        """Relay agent ↔ party; prompts on either leg stop."""
        call = self._call(call_id)
        for name in LEGS:
            if name not in call.legs:
                raise CommandError("unknown_leg", f"call {call_id} has no {name} leg", field="leg")
        for leg in call.legs.values():
            self._end_play(leg, completed=False)
        call.bridge()
        now = time.monotonic()
        for leg in call.legs.values():
            leg.last_rx = leg.last_rx if leg.last_rx is not None else now
        return {}

    def record(self, call_id: str, path: str) -> dict[str, Any]:
        """Start the call's two-channel WAV at ``path`` (its directory must exist)."""
        call = self._call(call_id)
        if call.recorder is not None:
            raise CommandError("already_recording", f"call {call_id} is already recording to {call.recorder.path}")
        try:
            recorder = Recorder(path, Channel(), Channel(), phase=self._recordings_started)
        except OSError as exc:
            raise CommandError("record_failed", f"{path}: {exc.strerror or exc}", field="path") from exc
        call.recorder = recorder
        self._recordings_started += 1
        self._recording[call_id] = recorder
        if "agent" in call.legs:
            call.legs["agent"].channel = recorder.agent
        if "party" in call.legs:
            call.legs["party"].channel = recorder.party
        return {}

    async def stop(self, call_id: str) -> dict[str, Any]:
        """End the call: close its sockets, finish its WAV, report the recording and the counters."""
        call = self._call(call_id)
        packets = {f"{name}_{way}": 0 for name in LEGS for way in ("in", "out")}
        for name, leg in call.legs.items():
            packets[f"{name}_in"] = leg.packets_in
            packets[f"{name}_out"] = leg.packets_out
        recording = self._end(call)
        if recording is not None:
            recording["sha256"] = await asyncio.to_thread(sha256_file, recording["path"])
        return {"recording": recording, "packets": packets}

    def query(self) -> dict[str, Any]:
        """Every live call with its legs (for a B2BUA reconciling after its own restart)."""
        now = time.monotonic()
        calls = []
        for call in self.calls.values():
            legs = {}
            for name, leg in call.legs.items():
                remote = leg.remote
                legs[name] = {
                    "port": leg.port,
                    "remote": None if remote is None else list(remote.address),
                    "codec": None if remote is None else remote.codec.value,
                    "destination": None if leg.destination is None else list(leg.destination),
                    "latched": leg.latched,
                    "packets_in": leg.packets_in,
                    "packets_out": leg.packets_out,
                    "send_failed": leg.send_failed,
                    "malformed": leg.malformed,
                    "idle_s": round(leg.idle_s(now), 3),
                    "playing": leg.player is not None,
                }
            calls.append({
                "call": call.id, "bridged": call.bridged, "age_s": round(now - call.created, 3),
                "recording": None if call.recorder is None else {
                    "path": call.recorder.path, "duration_s": call.recorder.duration_s},
                "legs": legs,
            })
        return {"calls": calls, "ports_free": self.ports.free, "ports_total": self.ports.size,
                "slots": {"done": self._ticks, "late": self.slots_late, "skipped": self.slots_skipped}}

    # -- internals --------------------------------------------------------------------------
    def _call(self, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise CommandError("unknown_call", f"no call {call_id!r} in this media process", field="call")
        return call

    def _leg(self, call_id: str, leg_name: str) -> tuple[Call, Leg]:
        call = self._call(call_id)
        leg = call.legs.get(leg_name)
        if leg is None:
            raise CommandError("unknown_leg", f"call {call_id} has no {leg_name} leg", field="leg")
        return call, leg

    def _latched(self, leg: Leg, source: Address) -> None:
        self.emit({"event": "latched", "call": leg.call_id, "leg": leg.name, "ip": source[0], "port": source[1]})

    def _end_play(self, leg: Leg, *, completed: bool) -> bool:
        player = self._players.pop(leg, None)
        leg.player = None
        if player is None:
            return False
        self.emit({"event": "played", "call": leg.call_id, "leg": leg.name, "completed": completed})
        return True

    def _end(self, call: Call) -> dict[str, Any] | None:
        """Forget the call, close its legs and its WAV; the recording's facts (no checksum yet)."""
        self.calls.pop(call.id, None)
        self._recording.pop(call.id, None)
        for leg in call.legs.values():
            self._players.pop(leg, None)
            leg.close()
            self.ports.give(leg.port)
        recorder = call.recorder
        call.recorder = None
        if recorder is None:
            return None
        try:
            size = recorder.close()
        except OSError as exc:
            self.emit({"event": "record_failed", "call": call.id, "path": recorder.path, "detail": str(exc)})
            size = os.path.getsize(recorder.path) if os.path.exists(recorder.path) else 0
        return {"path": recorder.path, "bytes": size, "duration_s": round(recorder.duration_s, 3)}

    def _tick(self, catching_up: bool = False) -> None:
        """The due 20 ms slots: a frame of every recording, a packet of every prompt, per slot.

        On time, one slot. Behind schedule (the process was descheduled or busy), the first pass
        does one slot and lets the loop read the packets queued meanwhile (``call_soon`` runs after
        the next I/O poll), so they are not found missing; the following passes do every due slot
        but the newest. More than ``MAX_BEHIND`` slots behind, it skips ahead (the recordings lose
        that time).
        """
        loop = self._loop
        assert loop is not None
        behind = int((loop.time() - self._t0) / TICK_S + 1e-3) + 1 - self._ticks
        if behind > MAX_BEHIND:
            self.slots_skipped += behind - 1
            self._ticks += behind - 1
            behind = 1
        elif behind > 1:
            self.slots_late += 1
        slots = max(1, behind - 1) if catching_up else 1
        for _ in range(slots):
            self._slot()
        if behind > slots:
            self._tick_handle = loop.call_soon(self._tick, True)
        else:
            self._tick_handle = loop.call_at(self._t0 + self._ticks * TICK_S, self._tick)

    def _slot(self) -> None:
        self._ticks += 1
        for call_id, recorder in list(self._recording.items()):
            try:
                recorder.tick()
            except OSError as exc:
                self._recording.pop(call_id, None)
                self.emit({"event": "record_failed", "call": call_id, "path": recorder.path, "detail": str(exc)})
        for leg, player in list(self._players.items()):
            if player.tick():
                self._end_play(leg, completed=True)

    def _housekeeping(self) -> None:
        loop = self._loop
        assert loop is not None
        now = time.monotonic()
        for call in list(self.calls.values()):
            if not call.bridged:
                continue
            for leg in call.legs.values():
                idle = leg.idle_s(now)
                if idle < self.rtp_timeout_s:
                    leg.idle_reported = False
                elif not leg.idle_reported:
                    leg.idle_reported = True
                    self.emit({"event": "rtp_timeout", "call": call.id, "leg": leg.name, "idle_s": round(idle, 1)})
        self._housekeeping_handle = loop.call_later(1.0, self._housekeeping)

