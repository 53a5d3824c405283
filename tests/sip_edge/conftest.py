"""A real Kamailio (the SIP edge) against the test's own migrated database, and sipp as every peer.

Each test gets its own edge on free loopback ports, reading that test's database (SQLite file or
PostgreSQL database): Kamailio is ready in a few tens of milliseconds here, so a per-test edge
costs no more than sharing one per module would, and no test sees another's registrations.

Who is who on loopback: every peer is 127.0.0.1, told apart by port. The edge trusts the B2BUA
and the trunk by source address *and* port, so a sipp bound to the B2BUA's configured port is the
B2BUA, one bound to the trunk's port is the trunk, and a sipp on any other port is a stranger.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.kit.ports import udp_port_bound
from dialer.seats.models import Seat, SeatCarrier
from dialer.seats.sip_credentials import set_sip_password
from dialer.telephony.sip.edge.process import EdgeProcess, start_kamailio

SCENARIOS = Path(__file__).with_name("scenarios")
SIPP = "/usr/bin/sipp"
LOOPBACK = "127.0.0.1"
DOMAIN = "dialer.local"
SIPP_GUARD_S = 30  # a sipp that waits longer than this for a message fails (a hang guard, not an assertion)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SippRun:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Edge:
    """The running edge and the ports the test's peers play from."""

    process: EdgeProcess
    port: int
    b2bua_port: int
    trunk_port: int
    work_dir: Path

    def sipp_command(self, scenario: Path, *, local_port: int, service: str, keys: dict[str, str],
                     auth: tuple[str, str] | None = None, remote: bool = True) -> list[str]:
        command = [SIPP, "-sf", str(scenario), "-i", LOOPBACK, "-p", str(local_port), "-m", "1", "-nostdin",
                   "-s", service, "-timeout", f"{SIPP_GUARD_S}s", "-timeout_error", "-recv_timeout",
                   f"{SIPP_GUARD_S}s", "-trace_err", "-error_file", str(self.work_dir / f"sipp-{local_port}.err")]
        for key, value in keys.items():
            command += ["-key", key, value]
        if auth is not None:
            command += ["-au", auth[0], "-ap", auth[1]]
        if remote:
            command.append(f"{LOOPBACK}:{self.port}")
        return command

    def scenario(self, name: str, **replace: str) -> Path:
        """A scenario from ``scenarios/``, with its placeholders (e.g. EXPECTED_STATUS) filled in."""
        text = (SCENARIOS / f"{name}.xml").read_text()
        for placeholder, value in replace.items():
            text = text.replace(placeholder, value)
        path = self.work_dir / f"{name}-{'-'.join(replace.values()) or 'plain'}.xml"
        path.write_text(text)
        return path

    def run_sipp(self, scenario: Path, *, local_port: int | None = None, service: str,
                 keys: dict[str, str] | None = None, auth: tuple[str, str] | None = None) -> SippRun:
        """Run one sipp call to the edge and wait for its verdict (its exit status)."""
        command = self.sipp_command(scenario, local_port=local_port or free_udp_port(), service=service,
                                    keys={"domain": DOMAIN, **(keys or {})}, auth=auth)
        done = subprocess.run(command, capture_output=True, text=True, timeout=SIPP_GUARD_S * 2, check=False)
        return SippRun(done.returncode, self._output(done.stdout + done.stderr, command))

    def start_answering(self, *, local_port: int) -> subprocess.Popen[str]:
        """A sipp that answers one call on ``local_port`` (a seat's softphone, the trunk), ready to
        receive when this returns."""
        command = self.sipp_command(self.scenario("answer"), local_port=local_port, service="answer", keys={},
                                    remote=False)
        answering = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        while not udp_port_bound(local_port) and answering.poll() is None:
            time.sleep(0.01)
        return answering

    def finish(self, answering: subprocess.Popen[str]) -> SippRun:
        try:
            out, _ = answering.communicate(timeout=SIPP_GUARD_S * 2)
        except subprocess.TimeoutExpired:
            answering.kill()
            out, _ = answering.communicate()
        return SippRun(answering.returncode, self._output(out or "", answering.args))

    def _output(self, output: str, command: object) -> str:
        errors = "\n".join(p.read_text(errors="replace")[-3000:] for p in self.work_dir.glob("sipp-*.err"))
        return f"{command}\n{output[-3000:]}\n--- sipp errors ---\n{errors}\n--- edge log ---\n" \
               f"{self.process.log_tail(40)}"


@pytest.fixture
def edge(settings, tmp_path: Path) -> Iterator[Edge]:
    """Kamailio on free loopback ports, reading this test's database; the B2BUA and the trunk are
    whatever listens on ``edge.b2bua_port`` / ``edge.trunk_port``."""
    port, b2bua_port, trunk_port = free_udp_port(), free_udp_port(), free_udp_port()
    edge_settings = settings.model_copy(update={
        "sip_domain": DOMAIN, "sip_edge_host": LOOPBACK, "sip_edge_port": port,
        "sip_b2bua_host": LOOPBACK, "sip_b2bua_port": b2bua_port,
        "sip_trunk_host": LOOPBACK, "sip_trunk_port": trunk_port,
    })
    work_dir = tmp_path / "sip"
    work_dir.mkdir()
    process = start_kamailio(edge_settings, tmp_path / "edge")
    try:
        yield Edge(process, port, b2bua_port, trunk_port, work_dir)
    finally:
        process.stop()


async def make_sip_seat(session, *, user: str, password: str | None) -> Seat:
    """A SIP seat ``sip:<user>@dialer.local`` (committed, so the edge sees it), with ``password``
    set through the service when given."""
    seat = Seat(code=user.upper(), softphone_identity=f"sip:{user}@{DOMAIN}", carrier=SeatCarrier.SIP, team="team-a")
    session.add(seat)
    await session.flush()
    if password is not None:
        await set_sip_password(session, seat.id, password, actor=None)
    await session.commit()
    return seat
