"""A real softphone for SIP tests: Debian's baresip 1.0.0, run in a temporary directory, driven
over its ``ctrl_tcp`` socket (netstring-framed JSON) and heard through its ``sndfile`` dumps.

    async with Baresip(tmp_path / "agent", accounts=[Account("agent", "dialer.local", password="pw",
                                                             registrar="127.0.0.1:5060")]) as phone:
        await phone.wait_for_event("REGISTER_OK")
        await phone.dial("sip:party@dialer.local")
        await phone.wait_for_event("CALL_ESTABLISHED")
        ...
    heard, sent = phone.recordings()

The phone plays a pure tone as its microphone (``tone_hz``, 600 Hz: the agent's tone) and answers
incoming calls by itself (``answermode=auto``: no ``CALL_INCOMING`` event then). Accounts are
created over the control socket (``uanew``) once it is connected, so no registration event can
happen before the harness listens. baresip 1.0.0 facts this relies on are in SIP-NOTES.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from dialer.kit.ports import free_port
from tests.sip.tones import AGENT_HZ, write_tone

LOOPBACK = "127.0.0.1"
MODULE_PATH = "/usr/lib/baresip/modules"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Account:
    """A baresip account line. ``registrar`` (``host:port``) is the outbound proxy every request
    goes through (a ``Route`` header), REGISTER included; without it nothing registers."""

    user: str
    domain: str = LOOPBACK
    password: str | None = None
    registrar: str | None = None
    regint: int = 3600
    answermode: str = "auto"

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.domain}"

    def line(self) -> str:
        params = [f"<{self.aor}>"]
        if self.password is not None:
            params.append(f"auth_pass={self.password}")
        if self.registrar is not None:
            params.append(f'outbound="sip:{self.registrar}"')
        params += [f"regint={self.regint if self.registrar else 0}", f"answermode={self.answermode}"]
        return ";".join(params)


class Recordings(NamedTuple):
    heard: Path  # sndfile's …-dec.wav: what the phone received
    sent: Path  # sndfile's …-enc.wav: what it sent (its tone)


@dataclass
class Baresip:
    """One baresip process. Every wait has a timeout; a failed wait raises ``AssertionError``
    with the events seen and the tail of baresip's log."""

    workdir: Path
    accounts: list[Account] = field(default_factory=list)
    tone_hz: float = AGENT_HZ
    tone_seconds: float = 30.0
    rtp_ports: str = "30000-32767"  # clear of the dialer's default media range and of ephemeral ports
    executable: str = "baresip"
    start_timeout: float = 10.0
    sip_port: int = 0  # set by start(): baresip's UDP/TCP port (its TLS listener takes the next one)
    ctrl_port: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)
    _reader_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _responses: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _taken: set[int] = field(default_factory=set, repr=False)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)
    _tokens: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / "baresip.log"

    @property
    def recordings_dir(self) -> Path:
        return self.workdir / "recordings"

    @property
    def returncode(self) -> int | None:
        """baresip's exit code once it has ended (0 after a clean ``quit``)."""
        return self._process.returncode if self._process is not None else None

    def uri(self, user: str) -> str:
        """Where to call this phone directly, without a proxy."""
        return f"sip:{user}@{LOOPBACK}:{self.sip_port}"

    # --- life cycle ------------------------------------------------------------------------------
    async def start(self) -> Baresip:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.recordings_dir.mkdir(exist_ok=True)
        self.sip_port = free_port(span=2)
        while self.ctrl_port in (0, self.sip_port, self.sip_port + 1):
            self.ctrl_port = free_port()
        tone = write_tone(self.workdir / "tone.wav", self.tone_hz, self.tone_seconds)
        (self.workdir / "config").write_text(self._config(tone))
        (self.workdir / "accounts").write_text("")  # accounts come over ctrl_tcp (uanew)
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                self.executable, "-f", str(self.workdir), stdin=asyncio.subprocess.DEVNULL, stdout=log,
                stderr=asyncio.subprocess.STDOUT)
        try:
            reader = await self._connect()
            self._reader_task = asyncio.create_task(self._read(reader))
            for account in self.accounts:
                await self.add_account(account)
        except BaseException:
            await self.stop(timeout=1.0)  # `async with` does not exit what failed to enter
            raise
        return self

    def _config(self, tone: Path) -> str:
        settings = {
            "poll_method": "epoll",
            "net_interface": LOOPBACK,  # else the SDP carries the host's first non-loopback address
            "sip_listen": f"{LOOPBACK}:{self.sip_port}",
            "audio_player": "alsa,null",  # ALSA's null device: no sound card needed
            "audio_alert": "alsa,null",
            "audio_source": f"aufile,{tone}",
            "ausrc_srate": "8000", "auplay_srate": "8000", "ausrc_channels": "1", "auplay_channels": "1",
            "rtp_ports": self.rtp_ports,
            "rtp_stats": "yes",  # packet counts in the log when a call ends
            "ringback_disabled": "yes",
            "module_path": MODULE_PATH,
            "ctrl_tcp_listen": f"{LOOPBACK}:{self.ctrl_port}",
            "snd_path": str(self.recordings_dir),
        }
        modules = [("module", m) for m in ("g711.so", "aufile.so", "alsa.so", "sndfile.so")]
        modules += [("module_app", "menu.so"), ("module_app", "ctrl_tcp.so")]  # menu: dial, hangup, uanew…
        return "".join(f"{key}\t{value}\n" for key, value in [*settings.items(), *modules])

    async def _connect(self) -> asyncio.StreamReader:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + self.start_timeout
        while True:
            if self._process.returncode is not None:
                raise AssertionError(f"baresip exited with {self._process.returncode}\n{self.log_tail()}")
            try:
                reader, self._writer = await asyncio.open_connection(LOOPBACK, self.ctrl_port)
                return reader
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"baresip's ctrl_tcp never listened\n{self.log_tail()}") from None
                await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 5.0) -> int | None:
        """Quit (un-registering, hanging up), else SIGTERM twice, else SIGKILL. The exit code."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(OSError, AssertionError):
                await self.command("quit", timeout=1.0)
            # baresip's first SIGTERM starts the same graceful stop; the second one forces it
            for sig in (None, signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
                if sig is not None and process.returncode is None:
                    process.send_signal(sig)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(process.wait(), timeout if sig is None else 1.0)
                    break
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()
        return process.returncode if process is not None else None

    async def __aenter__(self) -> Baresip:
        return await self.start()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # --- the control socket ------------------------------------------------------------------------
    async def _read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                length = int((await reader.readuntil(b":"))[:-1])
                message: dict[str, Any] = json.loads(await reader.readexactly(length))
                await reader.readexactly(1)  # the netstring's trailing comma
                if message.get("response"):
                    future = self._responses.pop(str(message.get("token")), None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif message.get("event"):
                    async with self._changed:
                        self.events.append(message)
                        self._changed.notify_all()

    async def command(self, name: str, params: str = "", *, timeout: float = 5.0, check: bool = True) -> str:
        """Run a baresip command; its response's ``data``. ``check``: a refused command fails."""
        assert self._writer is not None, "baresip is not started"
        token = f"t{next(self._tokens)}"
        future = self._responses[token] = asyncio.get_running_loop().create_future()
        body = json.dumps({"command": name, "params": params, "token": token}).encode()
        self._writer.write(b"%d:%s," % (len(body), body))
        await self._writer.drain()
        try:
            response = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no response to {name} {params}\n{self.log_tail()}") from None
        data = str(response.get("data", ""))
        if check and not response.get("ok"):
            raise AssertionError(f"baresip refused {name} {params}: {data.strip()}\n{self.log_tail()}")
        return data

    async def add_account(self, account: Account) -> None:
        """Create a user agent; it registers at once when the account has a registrar."""
        await self.command("uanew", account.line())

    async def dial(self, uri: str) -> None:
        await self.command("dial", uri)

    async def hangup(self) -> None:
        await self.command("hangup")

    async def reginfo(self) -> str:
        return _ANSI.sub("", await self.command("reginfo"))

    async def wait_for_event(self, kind: str, timeout: float = 10.0, **fields: str) -> dict[str, Any]:
        """The first event of type ``kind`` (with these field values) not returned before,
        whether it arrived before this call or arrives within ``timeout`` seconds."""
        found: list[dict[str, Any]] = []

        def first() -> bool:
            for index, event in enumerate(self.events):
                if index not in self._taken and event.get("type") == kind and all(
                        event.get(k) == v for k, v in fields.items()):
                    self._taken.add(index)
                    found.append(event)
                    return True
            return False

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(first), timeout)
                return found[0]
        except asyncio.TimeoutError:
            seen = "\n".join(f"  {e.get('type')} {e.get('param', '')}" for e in self.events)
            raise AssertionError(f"no {kind} {fields or ''} within {timeout}s; events:\n{seen}\n{self.log_tail()}") \
                from None

    # --- what it heard ---------------------------------------------------------------------------
    def recordings(self) -> Recordings:
        """The latest call's dumps. Complete once the call has closed (sndfile writes the WAV header
        then); named by the second the call started, so one call per second per phone."""
        decoded = sorted(self.recordings_dir.glob("dump-*-dec.wav"))
        if not decoded:
            raise AssertionError(f"baresip recorded nothing in {self.recordings_dir}\n{self.log_tail()}")
        heard = decoded[-1]
        sent = heard.with_name(heard.name.removesuffix("-dec.wav") + "-enc.wav")
        assert sent.exists(), f"{heard.name} has no -enc.wav twin\n{self.log_tail()}"
        return Recordings(heard, sent)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no baresip log)"
        return "--- baresip log (tail) ---\n" + "\n".join(_ANSI.sub("", text).splitlines()[-lines:])
