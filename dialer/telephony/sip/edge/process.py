"""Run the SIP edge: Kamailio in the foreground (``-DD -E``), its log in the run directory, ready
when it answers an OPTIONS."""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from dialer.settings import Settings
from dialer.telephony.sip.edge.config import EdgeError, address_of, check, kamailio_binary, render

LOG_NAME = "kamailio.log"
READY_WITHIN_S = 20.0
STOP_WITHIN_S = 10.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass
class EdgeProcess:
    """A running Kamailio started by :func:`start_kamailio`."""

    process: subprocess.Popen[bytes]
    config: Path
    log: Path
    host: str
    port: int
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        """Stop Kamailio: SIGTERM to its process group (its own: ``start_new_session``), again every
        half second — a child still being forked when the first one came would keep the main
        process waiting for it — and SIGKILL after ``STOP_WITHIN_S``. Returns its exit status;
        stopping a stopped edge is a no-op."""
        deadline = time.monotonic() + STOP_WITHIN_S
        while self.process.poll() is None and time.monotonic() < deadline:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(0.5)
            except subprocess.TimeoutExpired:
                continue
        if self.process.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.process.wait(STOP_WITHIN_S)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.process.returncode

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _end_with_parent() -> None:
    """In the child, before exec: SIGTERM it when the process that started it dies (Linux), so an
    edge is never left running without its ``dialer sip-edge`` (or test) behind it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def options_status(host: str, port: int, *, timeout_s: float = 0.5) -> int | None:
    """Send one OPTIONS to ``host:port`` over UDP; the status code of the answer, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect((address_of(host), port))
        local_ip, local_port = sock.getsockname()
        branch, tag, call_id = (secrets.token_hex(8) for _ in range(3))
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local_ip}:{local_port};branch=z9hG4bK{branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{local_ip}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: {call_id}@{local_ip}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        try:
            sock.send(request.encode())
            answer = sock.recv(65535).decode(errors="replace")
        except OSError:
            return None
    status_line = answer.split("\r\n", 1)[0].split()
    if len(status_line) >= 2 and status_line[0] == "SIP/2.0" and status_line[1].isdigit():
        return int(status_line[1])
    return None


def start_kamailio(settings: Settings, run_dir: Path, *, ready_within_s: float = READY_WITHIN_S) -> EdgeProcess:
    """Render the config into ``run_dir``, check it, start Kamailio and wait until it answers an
    OPTIONS. Raises :class:`EdgeError` (with the end of its log) when it does not start."""
    run_dir = run_dir.resolve()  # Kamailio runs from / : a relative pid file or runtime dir would not be found
    config = render(settings, run_dir)
    check(config)
    log = run_dir / LOG_NAME
    log_file = log.open("ab")
    command = [kamailio_binary(), "-DD", "-E", "-f", str(config), "-P", str(run_dir / "kamailio.pid"),
               "-Y", str(run_dir), "-m", "64", "-M", "8"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=_end_with_parent)
    edge = EdgeProcess(process, config, log, settings.sip_edge_host, settings.sip_edge_port, log_file)
    deadline = time.monotonic() + ready_within_s
    while True:
        if not edge.running():
            edge.stop()
            raise EdgeError(f"Kamailio exited with status {process.returncode} while starting: {edge.log_tail()}")
        if options_status(edge.host, edge.port) == 200:
            return edge
        if time.monotonic() > deadline:
            edge.stop()
            raise EdgeError(f"Kamailio did not answer an OPTIONS within {ready_within_s:g} s: {edge.log_tail()}")


def run_edge(settings: Settings, *, run_dir: Path | None = None) -> int:
    """`dialer sip-edge`: run the SIP edge until SIGINT or SIGTERM (or until Kamailio exits);
    returns the exit status. The run directory defaults to ``data_dir/sip-edge``."""
    directory = run_dir or settings.data_dir / "sip-edge"
    stop = threading.Event()  # handlers first: a signal while Kamailio starts still stops it
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        edge = start_kamailio(settings, directory)
        try:
            print(f"SIP edge (Kamailio, pid {edge.pid}) on udp:{edge.host}:{edge.port}, "
                  f"domain {settings.sip_domain}; log: {edge.log}", flush=True)
            while not stop.wait(1.0):
                if not edge.running():
                    print(f"Kamailio exited ({edge.process.returncode}): {edge.log_tail(10)}", flush=True)
                    return edge.process.returncode or 1
            return 0
        finally:
            edge.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
