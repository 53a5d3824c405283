"""The UA core against a real trunk: sipp (Debian's sip-tester) plays the trunk (UAS) on loopback
and judges our side of each scenario in tests/sip/scenarios/trunk_*.xml; its exit code is its
verdict, its message trace the evidence shown when it fails."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.kit.ports import udp_port_bound
from dialer.telephony.sip import digest
from dialer.telephony.sip.dialog import Dialog
from dialer.telephony.sip.endpoint import SipEndpoint
from dialer.telephony.sip.invite_client import InviteOutcome, OutgoingInvite
from dialer.telephony.sip.message import Request, parse
from dialer.telephony.sip.timers import LoopTimers, TimerConfig
from dialer.telephony.sip.transport import UdpTransport

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
HOST = "127.0.0.1"
OFFER = (b"v=0\r\no=dialer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
         b"a=sendrecv\r\n")
FAST = TimerConfig(timer_d=1.0, t4=1.0)  # D, I, K: nothing here waits on them, they only tidy up


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Trunk:
    """A running sipp trunk and the files it writes."""

    address: tuple[str, int]
    process: asyncio.subprocess.Process
    messages: Path
    errors: Path
    screen: Path

    async def verdict(self) -> None:
        """Wait for sipp to end and fail the test, with its evidence, unless it passed."""
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        assert self.process.returncode == 0, f"sipp exited {self.process.returncode}\n{self.evidence()}"

    def evidence(self) -> str:
        parts = []
        for path in (self.errors, self.screen, self.messages):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-8000:]}")
        return "\n".join(parts)

    def received(self) -> list[Request]:
        """The requests sipp received, in order, read back from its message trace (headers only)."""
        requests = []
        for block in self.messages.read_text(errors="replace").split("-" * 47):
            if "message received" not in block:
                continue
            text = block.split("message received", 1)[1].split(":\n", 1)[1].replace("\r\n", "\n").lstrip("\n")
            head = [line for line in text.split("\n\n", 1)[0].split("\n")
                    if not line.lower().startswith(("content-length:", "l:"))]
            message = parse(("\r\n".join(head) + "\r\n\r\n").encode())
            if isinstance(message, Request):
                requests.append(message)
        return requests


TrunkFactory = Callable[..., Awaitable[Trunk]]


@pytest.fixture
async def start_trunk(tmp_path: Path) -> AsyncIterator[TrunkFactory]:
    started: list[Trunk] = []

    async def start(scenario: str, *keys: tuple[str, str]) -> Trunk:
        port = free_udp_port()
        name = scenario.removesuffix(".xml")
        trunk_files = tmp_path / name
        trunk_files.mkdir(exist_ok=True)
        messages, errors, screen = (trunk_files / f"{name}_{kind}.log" for kind in ("messages", "errors", "screen"))
        args = [SIPP, "-sf", str(SCENARIOS / scenario), "-i", HOST, "-p", str(port), "-mp", str(free_udp_port()),
                "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
                "-trace_msg", "-message_file", str(messages), "-trace_err", "-error_file", str(errors),
                "-trace_screen", "-screen_file", str(screen)]
        for key, value in keys:
            args += ["-key", key, value]
        process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.DEVNULL, cwd=trunk_files)
        trunk = Trunk((HOST, port), process, messages, errors, screen)
        started.append(trunk)
        for _ in range(500):  # until sipp holds its port (or gave up)
            if udp_port_bound(port) or process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        return trunk

    yield start
    for trunk in started:
        if trunk.process.returncode is None:
            trunk.process.kill()
            await trunk.process.wait()


@pytest.fixture
async def endpoint() -> AsyncIterator[SipEndpoint]:
    transport = await UdpTransport.bind(HOST, 0)
    host, port = transport.local_address
    yield SipEndpoint(transport, LoopTimers(), contact_host=host, contact_port=port, user_agent="dialer-test",
                      config=FAST)
    transport.close()


def call(endpoint: SipEndpoint, trunk: Trunk, *, credentials: tuple[str, str] | None = None) -> OutgoingInvite:
    host, port = trunk.address
    return endpoint.invite(f"sip:+8613800000001@{host}:{port}", from_uri="sip:+862100000000@dialer.example",
                           to_uri=f"sip:+8613800000001@{host}", sdp=OFFER, next_hop=trunk.address,
                           credentials=credentials)


async def final_of(invite: OutgoingInvite, trunk: Trunk) -> int:
    """The final response's status; fails with sipp's evidence if sipp ends first or nothing comes."""
    final = asyncio.ensure_future(invite.wait_final())
    sipp_ended = asyncio.ensure_future(trunk.process.wait())
    done, _ = await asyncio.wait({final, sipp_ended}, timeout=25, return_when=asyncio.FIRST_COMPLETED)
    sipp_ended.cancel()
    if final not in done:
        final.cancel()
        pytest.fail(f"no final response (sipp exit code {trunk.process.returncode})\n{trunk.evidence()}")
    return final.result().status


async def test_given_the_trunk_answers_when_we_hang_up_then_the_call_is_acked_and_byed(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_answered_we_hang_up.xml")
    invite = call(endpoint, trunk)
    provisional = [response.status async for response in invite]

    assert await final_of(invite, trunk) == 200, trunk.evidence()
    assert provisional == [180]
    assert invite.outcome is InviteOutcome.ANSWERED
    dialog = invite.dialog
    assert dialog is not None and not dialog.early
    assert dialog.remote_target.user == "trunk"
    assert dialog.id in endpoint.dialogs

    bye = await asyncio.wait_for(endpoint.bye(dialog), 25)
    assert bye.status == 200
    assert dialog.id not in endpoint.dialogs
    await trunk.verdict()


async def test_given_an_answered_call_when_the_trunk_hangs_up_then_we_answer_200_and_report_it(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_answered_trunk_hangs_up.xml")
    ended: asyncio.Future[Dialog] = asyncio.get_running_loop().create_future()
    endpoint.on_bye = ended.set_result
    invite = call(endpoint, trunk)

    assert await final_of(invite, trunk) == 200, trunk.evidence()
    hung_up = await asyncio.wait_for(ended, 25)
    assert hung_up is invite.dialog
    assert hung_up.id not in endpoint.dialogs
    await trunk.verdict()


@pytest.mark.parametrize(("status", "reason"), [(486, "Busy Here"), (480, "Temporarily Unavailable"),
                                                 (404, "Not Found"), (503, "Service Unavailable")])
async def test_given_the_trunk_refuses_then_the_final_response_is_acked_and_reported(
        endpoint: SipEndpoint, start_trunk: TrunkFactory, status: int, reason: str) -> None:
    trunk = await start_trunk(f"trunk_rejects_{status}.xml")
    invite = call(endpoint, trunk)

    assert await final_of(invite, trunk) == status, trunk.evidence()
    assert invite.outcome is InviteOutcome.REJECTED
    assert invite.final is not None and invite.final.reason == reason
    assert invite.dialog is None and endpoint.dialogs == {}
    await trunk.verdict()


async def test_given_no_answer_when_we_cancel_then_the_invite_ends_487_and_is_acked(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_no_answer_cancelled.xml")
    invite = call(endpoint, trunk)
    async for response in invite:
        assert response.status == 180
        invite.cancel()

    assert await final_of(invite, trunk) == 487, trunk.evidence()
    assert invite.outcome is InviteOutcome.CANCELLED
    await trunk.verdict()


async def test_given_a_200_racing_our_cancel_then_we_ack_it_and_hang_up_with_a_bye(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_cancel_races_answer.xml")
    invite = call(endpoint, trunk)
    invite.on_provisional = lambda response: invite.cancel()

    assert await final_of(invite, trunk) == 200, trunk.evidence()
    assert invite.outcome is InviteOutcome.ANSWERED_AFTER_CANCEL
    assert invite.hangup is not None
    bye = await asyncio.wait_for(invite.hangup, 25)
    assert bye.status == 200
    assert endpoint.dialogs == {}
    await trunk.verdict()


async def test_given_early_media_then_the_183s_sdp_arrives_before_the_answer(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_early_media.xml")
    invite = call(endpoint, trunk)
    early = [response async for response in invite]

    assert await final_of(invite, trunk) == 200, trunk.evidence()
    assert [response.status for response in early] == [183]
    assert early[0].content_type == "application/sdp" and b"m=audio" in early[0].body
    dialog = invite.dialog
    assert dialog is not None and not dialog.early
    assert dialog.remote_tag == early[0].to.tag
    assert (await asyncio.wait_for(endpoint.bye(dialog), 25)).status == 200
    await trunk.verdict()


async def test_given_a_401_challenge_then_one_retry_with_a_digest_sipp_verifies_and_cseq_plus_one(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_www_auth.xml")
    invite = call(endpoint, trunk, credentials=("u", "p"))

    assert await final_of(invite, trunk) == 200, trunk.evidence()
    assert invite.dialog is not None
    assert (await asyncio.wait_for(endpoint.bye(invite.dialog), 25)).status == 200
    await trunk.verdict()
    first, retry = [r for r in trunk.received() if r.method == "INVITE"]
    assert retry.cseq.number == first.cseq.number + 1
    assert retry.call_id == first.call_id and retry.from_.tag == first.from_.tag
    assert retry.top_via.branch != first.top_via.branch


async def test_given_a_407_challenge_then_the_retry_carries_a_proxy_authorization_for_our_password(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_proxy_auth.xml")
    invite = call(endpoint, trunk, credentials=("u", "p"))

    assert await final_of(invite, trunk) == 200, trunk.evidence()
    assert invite.dialog is not None
    assert (await asyncio.wait_for(endpoint.bye(invite.dialog), 25)).status == 200
    await trunk.verdict()
    invites = [r for r in trunk.received() if r.method == "INVITE"]
    assert [r.cseq.number for r in invites] == [1, 2]
    retry = invites[1]
    value = retry.headers.get("Proxy-Authorization")
    assert value is not None and retry.headers.get("Authorization") is None
    assert digest.check(value, method="INVITE", password="p")  # qop=auth: the body is not hashed
    assert not digest.check(value, method="INVITE", password="wrong")


async def test_given_a_wrong_password_then_the_second_401_is_the_final_answer_and_no_third_invite(
        endpoint: SipEndpoint, start_trunk: TrunkFactory) -> None:
    trunk = await start_trunk("trunk_wrong_password.xml")
    invite = call(endpoint, trunk, credentials=("u", "wrong"))

    assert await final_of(invite, trunk) == 401, trunk.evidence()
    assert invite.outcome is InviteOutcome.REJECTED
    await trunk.verdict()
    assert [r.method for r in trunk.received()] == ["INVITE", "ACK", "INVITE", "ACK"]


async def test_given_nobody_listens_then_timer_b_ends_the_invite_with_a_synthetic_408() -> None:
    transport = await UdpTransport.bind(HOST, 0)
    host, port = transport.local_address
    endpoint = SipEndpoint(transport, LoopTimers(), contact_host=host, contact_port=port,
                           config=TimerConfig(t1=0.01))
    try:
        silent = free_udp_port()
        invite = endpoint.invite(f"sip:x@{HOST}:{silent}", from_uri="sip:dialer@example.com",
                                 to_uri=f"sip:x@{HOST}", sdp=OFFER, next_hop=(HOST, silent))
        final = await asyncio.wait_for(invite.wait_final(), 10)
    finally:
        transport.close()
    assert final.status == 408
    assert invite.outcome is InviteOutcome.TIMED_OUT
