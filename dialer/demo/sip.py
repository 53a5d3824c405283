"""The SIP demo's floor on one machine (``dialer demo --carrier sip``), started before the service
and stopped after it:

    baresip (one process, every agent's seat an account: digest REGISTER, auto-answer, 600 Hz mic)
            │                                        sipp (the trunk: dialer/demo/sip_trunk.xml)
            ▼                                              ▲
    Kamailio, the edge (the seats' HA1s read from the demo's SQLite file) ─┘
            ▲
    the B2BUA inside the service (DIALER_CARRIER=sip) ── a media process (relay, whisper, WAVs)

Why sipp is the trunk: one UAS scenario takes every call at once and decides each by the called
number (the last two digits, :func:`trunk_behaviour`), with the same branching the SIP tests'
trunks use; a trunk of our own would be more code to get right for no more realism. The party's
line is a 1000 Hz tone, the agents' microphones 600 Hz, so each recording's two channels can be
told apart (``tests/sip/tones.py``).

Everything runs on loopback on ports free when the demo starts, logs into ``run_dir`` and ends
with the demo (:meth:`SipFloor.stop`; Kamailio also ends if the demo dies, ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import glob
import itertools
import json
import math
import shutil
import signal
import subprocess
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.kit.ports import free_port, udp_port_bound
from dialer.settings import Settings
from dialer.sip_cli import media_command
from dialer.telephony.media.g711 import alaw_encode_sample
from dialer.telephony.sip.config import recordings_dir, run_dir
from dialer.telephony.sip.edge.config import MODULE_DIRS
from dialer.telephony.sip.edge.process import EdgeProcess, start_kamailio
from dialer.telephony.sip.media_link import socket_path

LOOPBACK = "127.0.0.1"
DOMAIN = "dialer.local"
TRUNK_SCENARIO = Path(__file__).with_name("sip_trunk.xml")
TOOLS = {"kamailio": "kamailio", "db_sqlite.so": "kamailio-sqlite-modules", "sipp": "sip-tester",
         "baresip": "baresip-core", "espeak-ng": "espeak-ng", "sox": "sox"}
"""What the SIP demo runs (programs, and the Kamailio module that reads the demo's SQLite file) and
the Debian package each comes from."""
AGENT_HZ, PARTY_HZ = 600.0, 1000.0
BARESIP_MODULES = "/usr/lib/baresip/modules"
READY_S = 20.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_S = 5.0
WHISPER = {"template": "{party_role}{party_name}，受{client}委托。", "third_party_reminder": "勿提债务。"}
"""The SIP demo's clients' whisper (policy overrides): a few seconds of speech, not the default's
eighteen, since the SIP shift runs in real time."""


class MissingTools(RuntimeError):
    """A program the SIP demo needs is not installed; the message is the command that installs it."""


def installed(tool: str) -> bool:
    """A program on the PATH or in /usr/sbin (Kamailio's place, off a user's PATH), or a Kamailio
    module (``*.so``) in its modules directory."""
    if tool.endswith(".so"):
        return any(Path(found, tool).is_file() for pattern in MODULE_DIRS for found in glob.glob(pattern))
    return shutil.which(tool) is not None or Path("/usr/sbin", tool).is_file()


def check_tools(present: Callable[[str], bool] = installed) -> None:
    """Raise :class:`MissingTools` with the exact ``apt-get install`` line when any is missing."""
    missing = sorted({package for tool, package in TOOLS.items() if not present(tool)})
    if missing:
        raise MissingTools(f"the SIP demo needs Debian's {', '.join(missing)}: sudo apt-get install -y "
                           f"{' '.join(missing)}   (or, as root, scripts/ensure-sip-tools.sh)")


def end_with_parent() -> None:
    """In a child before exec: SIGTERM it when the demo dies (Linux ``PR_SET_PDEATHSIG``), so a
    killed demo leaves no peer running; Kamailio's start does the same."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def trunk_behaviour(e164: str) -> str:
    """What the demo's trunk does when ``e164`` is called (as ``sip_trunk.xml`` decides it): by the
    last two digits, 00–49 a person answers, 50–84 nobody answers (480 after ringing), 85–99 busy."""
    last = int(e164[-2:])
    return "answer" if last < 50 else "no_answer" if last < 85 else "busy"


@dataclass(frozen=True, slots=True)
class TrunkTiming:
    """How long the trunk rings and talks (milliseconds): an answered call rings ``ring_ms`` to
    twice that and talks ``talk_ms`` to twice that (from its answer: the party waits, hearing
    nothing, while the agent hears the whisper, a few seconds); an unanswered one rings
    ``no_answer_ms``. With the defaults an agent works about four calls a minute."""

    ring_ms: int = 1500
    talk_ms: int = 8000
    no_answer_ms: int = 5000


def sip_settings(rtp_ports: int = 400) -> dict[str, Any]:
    """The settings of the SIP path on loopback with free ports (``Settings(**...)``): the edge,
    the B2BUA, the trunk (sipp), one media process with ``rtp_ports`` RTP ports."""
    rtp = (free_port(span=rtp_ports) + 1) & ~1  # even, as RTP ports are
    return {"carrier": "sip", "sip_domain": DOMAIN, "sip_edge_host": LOOPBACK, "sip_edge_port": free_port(),
            "sip_b2bua_host": LOOPBACK, "sip_b2bua_port": free_port(), "sip_trunk_host": LOOPBACK,
            "sip_trunk_port": free_port(), "sip_media_ip": LOOPBACK, "sip_media_processes": 1,
            "sip_rtp_port_min": rtp, "sip_rtp_port_max": rtp + rtp_ports - 2}


def write_tone(path: Path, hz: float, seconds: float, *, alaw: bool = False) -> Path:
    """A pure tone at 8 kHz, half of full scale: a mono 16-bit WAV (baresip's microphone) or raw
    A-law (what sipp's ``rtp_stream`` plays as payload type 8)."""
    samples = [round(16383 * math.sin(2 * math.pi * hz * n / 8000)) for n in range(round(seconds * 8000))]
    if alaw:
        path.write_bytes(bytes(alaw_encode_sample(s) for s in samples))
        return path
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))
    return path


@dataclass
class Phones:
    """One baresip process hosting every seat's account, driven over ``ctrl_tcp`` (netstring JSON):
    accounts are added with ``uanew`` once connected, so every ``REGISTER_OK`` is seen."""

    workdir: Path
    process: asyncio.subprocess.Process | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    _writer: asyncio.StreamWriter | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _tokens: itertools.count[int] = field(default_factory=itertools.count)

    async def start(self, accounts: Mapping[str, str], *, edge: str) -> None:
        """Register ``accounts`` (SIP user → password, domain :data:`DOMAIN`) through ``edge``
        (``host:port``); returns once every one is registered."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        sip, ctrl = free_port(span=2), free_port()  # its TLS listener takes the SIP port + 1
        rtp = free_port(span=4 * len(accounts) + 8)
        tone = write_tone(self.workdir / "agent-600hz.wav", AGENT_HZ, 30.0)
        config = {"poll_method": "epoll", "net_interface": LOOPBACK, "sip_listen": f"{LOOPBACK}:{sip}",
                  "audio_player": "alsa,null", "audio_alert": "alsa,null", "audio_source": f"aufile,{tone}",
                  "ausrc_srate": "8000", "auplay_srate": "8000", "ausrc_channels": "1", "auplay_channels": "1",
                  "rtp_ports": f"{rtp}-{rtp + 4 * len(accounts) + 7}", "ringback_disabled": "yes",
                  "module_path": BARESIP_MODULES, "ctrl_tcp_listen": f"{LOOPBACK}:{ctrl}"}
        lines = [*config.items(), *(("module", m) for m in ("g711.so", "aufile.so", "alsa.so")),
                 ("module_app", "menu.so"), ("module_app", "ctrl_tcp.so")]
        (self.workdir / "config").write_text("".join(f"{k}\t{v}\n" for k, v in lines))
        (self.workdir / "accounts").write_text("")
        with (self.workdir / "baresip.log").open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                "baresip", "-f", str(self.workdir), stdin=asyncio.subprocess.DEVNULL, stdout=log,
                stderr=asyncio.subprocess.STDOUT, preexec_fn=end_with_parent)
        reader = await self._connect(ctrl)
        self._reader = asyncio.create_task(self._read(reader))
        for user, password in accounts.items():
            await self._command("uanew", f'<sip:{user}@{DOMAIN}>;auth_pass={password};outbound="sip:{edge}";'
                                         f"regint=600;answermode=auto")
        aors = {f"sip:{user}@{DOMAIN}" for user in accounts}
        await self._until(lambda: aors <= {e.get("accountaor") for e in self.events if e.get("type") == "REGISTER_OK"},
                          f"the softphones to register ({len(aors)})")

    async def stop(self) -> None:
        """``quit`` (un-registers, hangs up), else SIGTERM, else SIGKILL."""
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(OSError, RuntimeError, TimeoutError):
                await self._command("quit")
            for kill in (None, process.terminate, process.kill):
                if kill is not None and process.returncode is None:
                    kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), STOP_S)
                    break
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._writer is not None:
            self._writer.close()

    async def _connect(self, port: int) -> asyncio.StreamReader:
        assert self.process is not None
        deadline = asyncio.get_running_loop().time() + READY_S
        while True:
            if self.process.returncode is not None:
                raise RuntimeError(f"baresip exited with {self.process.returncode}: see {self.workdir / 'baresip.log'}")
            try:
                reader, self._writer = await asyncio.open_connection(LOOPBACK, port)
                return reader
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError("baresip's control socket never listened") from None
                await asyncio.sleep(0.05)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
            while True:
                length = int((await reader.readuntil(b":"))[:-1])
                self.events.append(json.loads(await reader.readexactly(length)))
                await reader.readexactly(1)  # the netstring's comma
                self._changed.set()

    async def _command(self, name: str, params: str = "") -> None:
        assert self._writer is not None
        token = f"t{next(self._tokens)}"
        body = json.dumps({"command": name, "params": params, "token": token}).encode()
        self._writer.write(b"%d:%s," % (len(body), body))
        await self._writer.drain()

        def response() -> dict[str, Any] | None:
            return next((e for e in self.events if e.get("response") and e.get("token") == token), None)

        await self._until(lambda: response() is not None, f"baresip to answer {name}")
        answer = response() or {}
        if not answer.get("ok"):
            raise RuntimeError(f"baresip refused {name}: {answer.get('data', '')}")

    async def _until(self, done: Callable[[], bool], what: str) -> None:
        deadline = asyncio.get_running_loop().time() + READY_S
        while not done():
            self._changed.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or self._reader is None or self._reader.done():
                raise RuntimeError(f"waited in vain for {what}: see {self.workdir / 'baresip.log'}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)


@dataclass
class SipFloor:
    """The SIP demo's running peers (see the module's docstring). :meth:`start` them, then
    :meth:`stop` them all (also what :meth:`start` does when one fails)."""

    settings: Settings
    run_dir: Path
    timing: TrunkTiming = TrunkTiming()
    edge: EdgeProcess | None = None
    media: subprocess.Popen[bytes] | None = None
    trunk: subprocess.Popen[bytes] | None = None
    phones: Phones | None = None

    @property
    def pids(self) -> list[int]:
        """Every process the floor started (the edge's children are its own process group's)."""
        procs: list[Any] = [self.edge.process if self.edge else None, self.media, self.trunk,
                            self.phones.process if self.phones else None]
        return [p.pid for p in procs if p is not None]

    async def start(self, seats: Mapping[str, str]) -> None:
        """Start the edge, the media process and the trunk, then register ``seats`` (SIP user →
        password) from one baresip; the seats' credentials must be in the database already."""
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.edge = await asyncio.to_thread(start_kamailio, self.settings, self.run_dir / "edge")
            self.media = self._spawn(media_command(self.settings, 0), "media")
            self.trunk = self._spawn(self._trunk_command(), "trunk")
            control = socket_path(run_dir(self.settings), 0)
            await self._until(control.exists, "the media process")
            await self._until(lambda: udp_port_bound(self.settings.sip_trunk_port), "the trunk")
            self.phones = Phones(self.run_dir / "phones")
            await self.phones.start(seats, edge=f"{self.settings.sip_edge_host}:{self.settings.sip_edge_port}")
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every process the floor started, the phones first (they un-register)."""
        if self.phones is not None:
            await self.phones.stop()
        for process in (self.trunk, self.media):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    await asyncio.to_thread(process.wait, STOP_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    await asyncio.to_thread(process.wait, STOP_S)
        if self.edge is not None:
            await asyncio.to_thread(self.edge.stop)

    def _trunk_command(self) -> list[str]:
        workdir = self.run_dir / "trunk"
        workdir.mkdir(parents=True, exist_ok=True)
        write_tone(workdir / "party.al", PARTY_HZ, 1.0, alaw=True)  # looped for the whole call
        t = self.timing
        return ["sipp", "-sf", str(TRUNK_SCENARIO), "-i", LOOPBACK, "-mi", LOOPBACK,
                "-p", str(self.settings.sip_trunk_port), "-mp", str(free_port(span=200)), "-nostdin",
                "-set", "ring_ms", str(t.ring_ms), "-set", "talk_ms", str(t.talk_ms),
                "-set", "noanswer_ms", str(t.no_answer_ms), "-trace_err"]

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        workdir = self.run_dir / name
        workdir.mkdir(parents=True, exist_ok=True)
        with (workdir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, preexec_fn=end_with_parent)

    async def _until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = asyncio.get_running_loop().time() + READY_S
        while not ready():
            for process in (self.media, self.trunk):
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{what} exited with {process.returncode}: see the logs in {self.run_dir}")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"{what} did not come up within {READY_S:g} s: see the logs in {self.run_dir}")
            await asyncio.sleep(0.05)


def recordings_line(settings: Settings) -> str:
    """Where the calls' recordings are, as the summary's last line."""
    directory = recordings_dir(settings)
    files = sorted(directory.glob("*.wav"))
    return (f"recordings: {len(files)} two-channel WAVs (8 kHz; channel 1 the agent, channel 2 the party) "
            f"written by the media process in {directory}; the stored copies are in "
            f"{(settings.data_dir / 'recordings').resolve()}")
