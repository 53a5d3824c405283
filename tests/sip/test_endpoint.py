"""The UA core with a recording transport and a hand-moved clock: how it answers what the far end
sends, and the INVITE paths sipp cannot easily provoke (timeouts, refused sends, a stale nonce,
a CANCEL asked for before anything rang, a lost ACK)."""

from __future__ import annotations

from dialer.telephony.sip.dialog import Dialog
from dialer.telephony.sip.endpoint import SipEndpoint
from dialer.telephony.sip.invite_client import InviteOutcome, OutgoingInvite
from dialer.telephony.sip.message import Headers, Request, Response, make_response
from dialer.telephony.sip.server_transaction import InviteServerTransaction
from dialer.telephony.sip.timers import ManualTimers
from tests.sip.fake_transport import UAC, UAS, RecordingTransport

TRUNK = UAS


def make_endpoint(*, broken: bool = False) -> tuple[SipEndpoint, RecordingTransport, ManualTimers]:
    transport = RecordingTransport(address=UAC, broken=broken)
    timers = ManualTimers()
    endpoint = SipEndpoint(transport, timers, contact_host=UAC[0], contact_port=UAC[1], user_agent="test")
    return endpoint, transport, timers


def place_call(endpoint: SipEndpoint, credentials: tuple[str, str] | None = None,
               realm: str | None = None) -> OutgoingInvite:
    return endpoint.invite("sip:+8613800000001@trunk.example", from_uri="sip:+862100000000@dialer.example",
                           to_uri="sip:+8613800000001@trunk.example", sdp=b"v=0\r\n", next_hop=TRUNK,
                           credentials=credentials, realm=realm)


def trunk_answer(request: Request, status: int, *, tag: str = "trunk", headers: dict[str, str] | None = None,
                 ) -> Response:
    response = make_response(request, status, to_tag=tag)
    if 200 <= status < 300 or (100 < status < 200):
        response.headers.add("Contact", "<sip:gw@192.0.2.20:5060>")
    for name, value in (headers or {}).items():
        response.headers.add(name, value)
    return response


def sent(transport: RecordingTransport, method: str) -> list[Request]:
    return [m for m in transport.messages() if isinstance(m, Request) and m.method == method]


def incoming(method: str, *, to_tag: str | None = None, from_tag: str = "far", call_id: str = "far-call",
             cseq: int = 1, branch: str = "z9hG4bKfar1") -> Request:
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP {UAS[0]}:{UAS[1]};branch={branch}")
    headers.add("Max-Forwards", "70")
    headers.add("From", f"<sip:+8613800000001@trunk.example>;tag={from_tag}")
    headers.add("To", "<sip:dialer@192.0.2.10>" + (f";tag={to_tag}" if to_tag else ""))
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{cseq} {method}")
    return Request(method, "sip:192.0.2.10:5060", headers)


def answered(endpoint: SipEndpoint, transport: RecordingTransport) -> tuple[OutgoingInvite, Dialog]:
    invite = place_call(endpoint)
    endpoint.layer.receive(trunk_answer(invite.request, 200), TRUNK)
    assert invite.dialog is not None
    return invite, invite.dialog


def far_end_in(dialog: Dialog, method: str, *, cseq: int = 1, branch: str = "z9hG4bKfar2") -> Request:
    return incoming(method, to_tag=dialog.local_tag, from_tag=dialog.remote_tag, call_id=dialog.call_id,
                    cseq=cseq, branch=branch)


def last_response(transport: RecordingTransport) -> Response:
    response = [m for m in transport.messages() if isinstance(m, Response)][-1]
    return response


# --- answers to the far end ------------------------------------------------------------------------

async def test_given_an_out_of_dialog_options_then_200_with_allow_and_accept() -> None:
    endpoint, transport, _ = make_endpoint()
    endpoint.layer.receive(incoming("OPTIONS"), UAS)

    answer = last_response(transport)
    assert answer.status == 200 and answer.to.tag
    assert "BYE" in (answer.headers.get("Allow") or "") and answer.headers.get("Accept") == "application/sdp"


async def test_given_a_bye_in_a_known_dialog_then_200_the_callback_and_the_dialog_is_gone() -> None:
    endpoint, transport, _ = make_endpoint()
    _, dialog = answered(endpoint, transport)
    ended: list[Dialog] = []
    endpoint.on_bye = ended.append

    endpoint.layer.receive(far_end_in(dialog, "BYE"), UAS)

    assert last_response(transport).status == 200
    assert ended == [dialog] and endpoint.dialogs == {}


async def test_given_a_bye_for_no_known_dialog_then_481() -> None:
    endpoint, transport, _ = make_endpoint()
    endpoint.layer.receive(incoming("BYE", to_tag="nobody"), UAS)
    assert last_response(transport).status == 481


async def test_given_a_cancel_for_no_known_transaction_then_481() -> None:
    endpoint, transport, _ = make_endpoint()
    endpoint.layer.receive(incoming("CANCEL"), UAS)
    assert last_response(transport).status == 481


async def test_given_an_inbound_invite_then_480_by_default_or_the_handler_when_one_is_set() -> None:
    endpoint, transport, _ = make_endpoint()
    endpoint.layer.receive(incoming("INVITE"), UAS)
    assert last_response(transport).status == 480
    assert sent(transport, "ACK") == []

    offered: list[tuple[Request, InviteServerTransaction]] = []
    endpoint.on_invite = lambda request, transaction: offered.append((request, transaction))
    endpoint.layer.receive(incoming("INVITE", call_id="second", branch="z9hG4bKfar9"), UAS)
    assert [request.call_id for request, _ in offered] == ["second"]


async def test_given_a_cancel_for_an_inbound_invite_still_ringing_then_200_and_487() -> None:
    endpoint, transport, _ = make_endpoint()
    endpoint.on_invite = lambda request, transaction: transaction.respond(make_response(request, 180, to_tag="us"))
    endpoint.layer.receive(incoming("INVITE"), UAS)
    endpoint.layer.receive(incoming("CANCEL"), UAS)

    assert transport.statuses() == [180, 200, 487]


async def test_given_a_re_invite_in_a_dialog_then_488_for_now() -> None:
    endpoint, transport, _ = make_endpoint()
    _, dialog = answered(endpoint, transport)
    endpoint.layer.receive(far_end_in(dialog, "INVITE"), UAS)
    assert last_response(transport).status == 488
    assert dialog.id in endpoint.dialogs


async def test_given_an_in_dialog_request_with_a_lower_cseq_then_500() -> None:
    endpoint, transport, _ = make_endpoint()
    _, dialog = answered(endpoint, transport)
    endpoint.layer.receive(far_end_in(dialog, "OPTIONS", cseq=5, branch="z9hG4bKa"), UAS)
    endpoint.layer.receive(far_end_in(dialog, "BYE", cseq=4, branch="z9hG4bKb"), UAS)
    assert transport.statuses()[-2:] == [200, 500]
    assert dialog.id in endpoint.dialogs


# --- the outgoing INVITE's edges ---------------------------------------------------------------------

async def test_given_a_2xx_retransmitted_then_the_ack_is_sent_again() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint)
    ok = trunk_answer(invite.request, 200)
    endpoint.layer.receive(ok, TRUNK)
    endpoint.layer.receive(ok, TRUNK)

    acks = sent(transport, "ACK")
    assert len(acks) == 2 and acks[0].encode() == acks[1].encode()
    assert acks[0].cseq.number == 1 and acks[0].uri == "sip:gw@192.0.2.20:5060"
    assert acks[0].top_via.branch != invite.request.top_via.branch
    assert (await invite.wait_final()).status == 200


async def test_given_a_2xx_from_a_second_fork_then_it_is_acked_and_hung_up_and_the_first_dialog_kept() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint)
    endpoint.layer.receive(trunk_answer(invite.request, 200, tag="first"), TRUNK)
    endpoint.layer.receive(trunk_answer(invite.request, 200, tag="second"), TRUNK)

    assert [ack.to.tag for ack in sent(transport, "ACK")] == ["first", "second"]
    [bye] = sent(transport, "BYE")
    assert bye.to.tag == "second"
    assert invite.dialog is not None and invite.dialog.remote_tag == "first"
    assert list(endpoint.dialogs) == [invite.dialog.id]


async def test_given_cancel_before_any_provisional_then_the_cancel_waits_for_the_first_1xx() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint)
    invite.cancel()
    assert sent(transport, "CANCEL") == []

    endpoint.layer.receive(trunk_answer(invite.request, 100), TRUNK)
    [cancel] = sent(transport, "CANCEL")
    assert cancel.top_via.branch == invite.request.top_via.branch
    assert (cancel.cseq.number, cancel.cseq.method) == (1, "CANCEL")
    assert cancel.uri == invite.request.uri and cancel.to.tag is None

    endpoint.layer.receive(make_response(cancel, 200, to_tag="trunk"), TRUNK)
    endpoint.layer.receive(trunk_answer(invite.request, 487), TRUNK)
    assert (await invite.wait_final()).status == 487
    assert invite.outcome is InviteOutcome.CANCELLED
    assert len(sent(transport, "ACK")) == 1


async def test_given_nothing_comes_back_then_timer_b_ends_the_invite_with_a_synthetic_408() -> None:
    endpoint, transport, timers = make_endpoint()
    invite = place_call(endpoint)
    timers.advance(31.9)
    assert invite.final is None
    timers.advance(0.1)
    assert (await invite.wait_final()).status == 408
    assert invite.outcome is InviteOutcome.TIMED_OUT


async def test_given_the_network_refuses_then_the_invite_ends_with_a_synthetic_503() -> None:
    endpoint, _, _ = make_endpoint(broken=True)
    invite = place_call(endpoint)
    assert (await invite.wait_final()).status == 503
    assert invite.outcome is InviteOutcome.TRANSPORT_ERROR


async def test_given_a_stale_nonce_then_a_second_retry_for_the_same_realm_is_allowed() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint, credentials=("u", "p"))
    challenge = 'Digest realm="trunk", nonce="n1", qop="auth"'
    endpoint.layer.receive(trunk_answer(invite.request, 401, headers={"WWW-Authenticate": challenge}), TRUNK)
    stale = 'Digest realm="trunk", nonce="n2", qop="auth", stale=true'
    endpoint.layer.receive(trunk_answer(invite.request, 401, headers={"WWW-Authenticate": stale}), TRUNK)
    endpoint.layer.receive(trunk_answer(invite.request, 401, headers={"WWW-Authenticate": challenge}), TRUNK)

    invites = sent(transport, "INVITE")
    assert [r.cseq.number for r in invites] == [1, 2, 3]
    assert [len(r.headers.get_all("Authorization")) for r in invites] == [0, 1, 1]
    assert (await invite.wait_final()).status == 401


async def test_given_a_407_then_a_401_then_the_final_invite_carries_both_credentials() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint, credentials=("u", "p"))
    endpoint.layer.receive(trunk_answer(invite.request, 407, headers={
        "Proxy-Authenticate": 'Digest realm="edge", nonce="a"'}), TRUNK)
    endpoint.layer.receive(trunk_answer(invite.request, 401, headers={
        "WWW-Authenticate": 'Digest realm="trunk", nonce="b", qop="auth"'}), TRUNK)

    last = sent(transport, "INVITE")[-1]
    assert last.cseq.number == 3
    assert last.headers.get("Proxy-Authorization") is not None and last.headers.get("Authorization") is not None


async def test_given_no_credentials_then_a_challenge_is_the_final_answer() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint)
    endpoint.layer.receive(trunk_answer(invite.request, 401, headers={
        "WWW-Authenticate": 'Digest realm="trunk", nonce="n1"'}), TRUNK)
    assert (await invite.wait_final()).status == 401
    assert len(sent(transport, "INVITE")) == 1 and invite.outcome is InviteOutcome.REJECTED


async def test_given_credentials_for_one_realm_then_another_realms_challenge_is_not_answered() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint, credentials=("u", "p"), realm="trunk")
    endpoint.layer.receive(trunk_answer(invite.request, 407, headers={
        "Proxy-Authenticate": 'Digest realm="somewhere-else", nonce="a"'}), TRUNK)

    assert (await invite.wait_final()).status == 407
    assert len(sent(transport, "INVITE")) == 1  # the password never went to a realm it is not for


async def test_given_credentials_for_the_trunks_realm_then_its_challenge_is_answered() -> None:
    endpoint, transport, _ = make_endpoint()
    invite = place_call(endpoint, credentials=("u", "p"), realm="trunk")
    endpoint.layer.receive(trunk_answer(invite.request, 401, headers={
        "WWW-Authenticate": 'Digest realm="trunk", nonce="b", qop="auth"'}), TRUNK)

    assert [len(r.headers.get_all("Authorization")) for r in sent(transport, "INVITE")] == [0, 1]


async def test_given_a_cancel_the_far_end_accepts_but_no_final_response_then_given_up_after_64_t1() -> None:
    endpoint, transport, timers = make_endpoint()
    invite = place_call(endpoint)
    endpoint.layer.receive(trunk_answer(invite.request, 180), TRUNK)
    invite.cancel()
    [cancel] = sent(transport, "CANCEL")
    endpoint.layer.receive(make_response(cancel, 200, to_tag="trunk"), TRUNK)  # …and no 487, ever

    timers.advance(endpoint.config.timer_b - 0.1)
    assert invite.final is None
    timers.advance(0.2)

    assert (await invite.wait_final()).status == 487 and invite.outcome is InviteOutcome.CANCELLED
    assert endpoint.layer.client_count == 0  # nothing held for a call that is over
