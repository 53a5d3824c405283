"""RFC 3261 §17's four transaction machines and the layer that matches messages to them, driven
by a hand-moved clock over transports that record, lose or refuse what they are given."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dialer.telephony.sip.client_transaction import ClientState, ClientTransaction
from dialer.telephony.sip.message import Headers, Request, Response, make_response, new_branch
from dialer.telephony.sip.server_transaction import ServerState, ServerTransaction
from dialer.telephony.sip.timers import ManualTimers, TimerConfig
from dialer.telephony.sip.transaction import TransactionLayer
from dialer.telephony.sip.transport import Address
from tests.sip.fake_transport import UAC, UAS, RecordingTransport

@dataclass
class Core:
    """The layer's upper side, recording what was passed up."""

    requests: list[tuple[Request, ServerTransaction | None]] = field(default_factory=list)
    stray: list[Response] = field(default_factory=list)

    def on_request(self, request: Request, transaction: ServerTransaction | None, source: Address) -> None:
        self.requests.append((request, transaction))

    def on_stray_response(self, response: Response, source: Address) -> None:
        self.stray.append(response)


def state(transaction: ClientTransaction | ServerTransaction) -> ClientState | ServerState:
    """The state now (a call, so the type checker does not carry an earlier assertion over)."""
    return transaction.state


def make_layer(transport: RecordingTransport, timers: ManualTimers, core: Core | None = None,
               config: TimerConfig | None = None) -> tuple[TransactionLayer, Core]:
    core = core or Core()
    layer = TransactionLayer(transport, timers, config or TimerConfig(), on_request=core.on_request,
                             on_stray_response=core.on_stray_response)
    return layer, core


def make_request(method: str = "OPTIONS", *, cseq: int = 1, branch: str | None = None, sent_by: Address = UAC,
                 to_tag: str | None = None, routes: tuple[str, ...] = ()) -> Request:
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP {sent_by[0]}:{sent_by[1]};branch={branch or new_branch()}")
    headers.add("Max-Forwards", "70")
    for route in routes:
        headers.add("Route", route)
    headers.add("From", "<sip:dialer@example.com>;tag=fromtag")
    headers.add("To", "<sip:debtor@example.net>" + (f";tag={to_tag}" if to_tag else ""))
    headers.add("Call-ID", "call-1@example.com")
    headers.add("CSeq", f"{cseq} {method}")
    return Request(method, "sip:debtor@example.net", headers)


# --- INVITE client (§17.1.1) ---------------------------------------------------------------------

def test_given_an_invite_nobody_answers_then_timer_a_doubles_without_a_cap_and_timer_b_ends_it_408() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers)
    transaction = layer.send_request(make_request("INVITE"), UAS, seen.append)

    sent_at: list[float] = []
    for _ in range(64):
        before = len(transport.sent)
        timers.advance(0.25)
        if len(transport.sent) > before:
            sent_at.append(timers.now())
    # sent at 0, then Timer A at 0.5, 1.5, 3.5, 7.5, 15.5 (intervals 0.5, 1, 2, 4, 8, 16 > T2) ...
    assert sent_at == [0.5, 1.5, 3.5, 7.5, 15.5]
    timers.advance(16.0)
    # ... and the one due at 31.5; Timer B fires at 64*T1 = 32 s
    assert len(transport.sent) == 7
    assert [r.status for r in seen] == [408]
    assert transaction.failure == "timeout"
    assert state(transaction) is ClientState.TERMINATED
    assert layer.client_count == 0
    timers.advance(100)
    assert len(transport.sent) == 7


def test_given_a_provisional_then_timer_a_stops_and_timer_b_no_longer_ends_the_invite() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers)
    invite = make_request("INVITE")
    transaction = layer.send_request(invite, UAS, seen.append)

    layer.receive(make_response(invite, 180, to_tag="uas"), UAS)
    timers.advance(60)

    assert transport.methods() == ["INVITE"]
    assert [r.status for r in seen] == [180]
    assert state(transaction) is ClientState.PROCEEDING


def test_given_a_busy_answer_then_the_transaction_acks_it_and_absorbs_its_retransmissions_until_timer_d() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers)
    invite = make_request("INVITE", routes=("<sip:proxy.example.com;lr>",))
    transaction = layer.send_request(invite, UAS, seen.append)

    busy = make_response(invite, 486, to_tag="uas")
    layer.receive(busy, UAS)
    layer.receive(busy, UAS)
    timers.advance(31.9)
    layer.receive(busy, UAS)

    assert transport.methods() == ["INVITE", "ACK", "ACK", "ACK"]
    assert [r.status for r in seen] == [486]
    ack = transport.messages()[1]
    assert isinstance(ack, Request)
    assert ack.uri == invite.uri
    assert ack.top_via.branch == invite.top_via.branch
    assert ack.to.tag == "uas"
    assert (ack.cseq.number, ack.cseq.method) == (1, "ACK")
    assert ack.headers.get_all("Route") == ["<sip:proxy.example.com;lr>"]
    assert ack.from_.tag == "fromtag" and ack.call_id == invite.call_id
    assert state(transaction) is ClientState.COMPLETED

    timers.advance(0.1)  # Timer D: 32 s for UDP
    assert state(transaction) is ClientState.TERMINATED
    assert layer.client_count == 0


def test_given_a_2xx_then_the_transaction_ends_and_its_retransmissions_go_to_the_core_unacked() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, core = make_layer(transport, timers)
    invite = make_request("INVITE")
    transaction = layer.send_request(invite, UAS, seen.append)

    ok = make_response(invite, 200, to_tag="uas")
    layer.receive(ok, UAS)
    layer.receive(ok, UAS)

    assert [r.status for r in seen] == [200]
    assert state(transaction) is ClientState.TERMINATED
    assert core.stray == [ok]
    assert transport.methods() == ["INVITE"]  # the ACK of a 2xx is the TU's


def test_given_the_network_refuses_the_invite_then_the_tu_gets_a_synthetic_503() -> None:
    timers, transport = ManualTimers(), RecordingTransport(broken=True)
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers)
    transaction = layer.send_request(make_request("INVITE"), UAS, seen.append)

    assert [r.status for r in seen] == [503]
    assert transaction.failure == "transport"
    assert layer.client_count == 0
    timers.advance(60)
    assert len(seen) == 1


# --- non-INVITE client (§17.1.2) -----------------------------------------------------------------

def test_given_a_request_nobody_answers_then_timer_e_doubles_to_t2_and_timer_f_ends_it_408() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers)
    transaction = layer.send_request(make_request("OPTIONS"), UAS, seen.append)

    sent_at = [0.0]
    for _ in range(128):
        before = len(transport.sent)
        timers.advance(0.25)
        if len(transport.sent) > before:
            sent_at.append(timers.now())
    intervals = [b - a for a, b in zip(sent_at, sent_at[1:])]
    assert intervals[:5] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert set(intervals[3:]) == {4.0}
    assert sent_at[-1] < 32
    assert [r.status for r in seen] == [408]
    assert transaction.failure == "timeout"
    assert layer.client_count == 0


def test_given_a_provisional_then_timer_e_retransmits_every_t2() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers)
    request = make_request("BYE")
    layer.send_request(request, UAS, seen.append)
    timers.advance(0.5)  # one retransmission at T1; E is now min(2*T1, T2) = 1
    layer.receive(make_response(request, 100), UAS)
    timers.advance(1.0)  # E fires in Proceeding: resend, reset to T2
    timers.advance(3.9)
    assert len(transport.sent) == 3
    timers.advance(0.1)
    assert len(transport.sent) == 4
    assert [r.status for r in seen] == [100]


def test_given_a_final_response_then_retransmissions_are_absorbed_until_timer_k() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers)
    request = make_request("BYE")
    transaction = layer.send_request(request, UAS, seen.append)

    ok = make_response(request, 200)
    layer.receive(ok, UAS)
    layer.receive(ok, UAS)
    timers.advance(4.9)
    layer.receive(ok, UAS)
    assert [r.status for r in seen] == [200]
    assert state(transaction) is ClientState.COMPLETED
    assert transport.methods() == ["BYE"]

    timers.advance(0.1)  # Timer K = T4
    assert state(transaction) is ClientState.TERMINATED
    assert layer.client_count == 0


def test_given_short_timers_then_timer_f_follows_t1() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    seen: list[Response] = []
    layer, _ = make_layer(transport, timers, config=TimerConfig(t1=0.01))
    layer.send_request(make_request("OPTIONS"), UAS, seen.append)
    timers.advance(0.63)
    assert seen == []
    timers.advance(0.01)
    assert [r.status for r in seen] == [408]


# --- INVITE server (§17.2.1) ---------------------------------------------------------------------

def test_given_a_slow_tu_then_the_invite_server_transaction_sends_100_trying_after_200_ms() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    invite = make_request("INVITE")
    layer.receive(invite, UAC)

    timers.advance(0.19)
    assert transport.sent == []
    timers.advance(0.01)
    assert transport.statuses() == [100]
    trying = transport.messages()[0]
    assert isinstance(trying, Response) and trying.to.tag is None

    layer.receive(invite, UAC)  # a retransmission: the last provisional again, the TU not told
    assert transport.statuses() == [100, 100]
    assert len(core.requests) == 1


def test_given_a_quick_tu_then_no_100_trying_and_retransmissions_get_the_last_provisional() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    invite = make_request("INVITE")
    layer.receive(invite, UAC)
    [(request, transaction)] = core.requests
    assert transaction is not None
    transaction.respond(make_response(request, 180, to_tag="uas"))

    timers.advance(1)
    layer.receive(invite, UAC)
    assert transport.statuses() == [180, 180]


def test_given_a_failure_answer_then_timer_g_retransmits_it_capped_at_t2_until_the_ack() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    invite = make_request("INVITE")
    layer.receive(invite, UAC)
    [(_, transaction)] = core.requests
    assert transaction is not None
    busy = make_response(invite, 486, to_tag="uas")
    transaction.respond(busy)

    sent_at = [0.0]
    for _ in range(64):
        before = len(transport.sent)
        timers.advance(0.25)
        if len(transport.sent) > before:
            sent_at.append(timers.now())
    intervals = [b - a for a, b in zip(sent_at, sent_at[1:])]
    assert intervals[:5] == [0.5, 1.0, 2.0, 4.0, 4.0]

    ack = make_request("ACK", branch=invite.top_via.branch, to_tag="uas")
    layer.receive(ack, UAC)
    assert state(transaction) is ServerState.CONFIRMED
    count = len(transport.sent)
    layer.receive(ack, UAC)  # absorbed in Confirmed
    layer.receive(invite, UAC)
    timers.advance(4.9)
    assert len(transport.sent) == count
    assert len(core.requests) == 1

    timers.advance(0.1)  # Timer I = T4
    assert state(transaction) is ServerState.TERMINATED
    assert layer.server_count == 0


def test_given_a_failure_answer_never_acked_then_timer_h_gives_up_and_tells_the_tu() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    invite = make_request("INVITE")
    layer.receive(invite, UAC)
    [(_, transaction)] = core.requests
    assert transaction is not None
    failed: list[ServerTransaction] = []
    transaction.on_failure = failed.append
    transaction.respond(make_response(invite, 480, to_tag="uas"))

    layer.receive(invite, UAC)
    assert transport.statuses()[-1] == 480
    timers.advance(31.9)
    assert failed == []
    timers.advance(0.1)
    assert failed == [transaction]
    assert state(transaction) is ServerState.TERMINATED
    count = len(transport.sent)
    timers.advance(60)
    assert len(transport.sent) == count


def test_given_a_2xx_from_the_tu_then_the_invite_server_transaction_ends_and_the_ack_goes_to_the_core() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    invite = make_request("INVITE")
    layer.receive(invite, UAC)
    [(_, transaction)] = core.requests
    assert transaction is not None
    transaction.respond(make_response(invite, 200, to_tag="uas"))
    assert state(transaction) is ServerState.TERMINATED

    ack = make_request("ACK", to_tag="uas")  # the ACK of a 2xx has a branch of its own
    layer.receive(ack, UAC)
    assert core.requests[-1] == (ack, None)


# --- non-INVITE server (§17.2.2) -----------------------------------------------------------------

def test_given_a_request_then_retransmissions_are_dropped_before_the_answer_and_answered_after_until_j() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    bye = make_request("BYE", to_tag="uas")
    layer.receive(bye, UAC)
    layer.receive(bye, UAC)  # Trying: discarded
    assert transport.sent == []
    [(_, transaction)] = core.requests
    assert transaction is not None

    transaction.respond(make_response(bye, 200))
    layer.receive(bye, UAC)
    timers.advance(31.9)
    layer.receive(bye, UAC)
    assert transport.statuses() == [200, 200, 200]
    assert len(core.requests) == 1

    timers.advance(0.1)  # Timer J = 64*T1 over UDP
    assert state(transaction) is ServerState.TERMINATED
    assert layer.server_count == 0
    layer.receive(bye, UAC)  # after J a retransmission is a new request
    assert len(core.requests) == 2


def test_given_a_provisional_then_retransmissions_get_it_again() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    request = make_request("OPTIONS")
    layer.receive(request, UAC)
    [(_, transaction)] = core.requests
    assert transaction is not None
    transaction.respond(make_response(request, 100))
    layer.receive(request, UAC)
    assert transport.statuses() == [100, 100]
    assert state(transaction) is ServerState.PROCEEDING


# --- matching (§17.1.3, §17.2.3) -----------------------------------------------------------------

def test_given_a_cancel_then_it_gets_its_own_transaction_and_finds_the_invite_it_cancels() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    invite = make_request("INVITE")
    layer.receive(invite, UAC)
    cancel = make_request("CANCEL", branch=invite.top_via.branch)
    layer.receive(cancel, UAC)

    assert [r.method for r, _ in core.requests] == ["INVITE", "CANCEL"]
    invite_transaction, cancel_transaction = (t for _, t in core.requests)
    assert cancel_transaction is not None and cancel_transaction is not invite_transaction
    assert layer.invite_transaction_for(cancel) is invite_transaction
    assert layer.invite_transaction_for(make_request("CANCEL")) is None


def test_given_an_invite_and_its_cancel_then_each_response_reaches_its_own_client_transaction() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    layer, _ = make_layer(transport, timers)
    invite = make_request("INVITE")
    invite_seen: list[Response] = []
    cancel_seen: list[Response] = []
    layer.send_request(invite, UAS, invite_seen.append)
    layer.receive(make_response(invite, 180, to_tag="uas"), UAS)
    cancel = make_request("CANCEL", branch=invite.top_via.branch)
    layer.send_request(cancel, UAS, cancel_seen.append)

    layer.receive(make_response(cancel, 200, to_tag="uas"), UAS)
    layer.receive(make_response(invite, 487, to_tag="uas"), UAS)

    assert [r.status for r in invite_seen] == [180, 487]
    assert [r.status for r in cancel_seen] == [200]


def test_given_requests_from_two_senders_with_the_same_branch_then_they_are_two_transactions() -> None:
    timers, transport = ManualTimers(), RecordingTransport(address=UAS)
    layer, core = make_layer(transport, timers)
    layer.receive(make_request("OPTIONS", branch="z9hG4bKsame"), UAC)
    layer.receive(make_request("OPTIONS", branch="z9hG4bKsame", sent_by=("192.0.2.99", 5070)), UAC)
    assert len(core.requests) == 2


def test_given_a_response_matching_no_transaction_then_only_a_2xx_to_invite_reaches_the_core() -> None:
    timers, transport = ManualTimers(), RecordingTransport()
    layer, core = make_layer(transport, timers)
    layer.receive(make_response(make_request("OPTIONS"), 200), UAS)
    layer.receive(make_response(make_request("INVITE"), 486), UAS)
    stray = make_response(make_request("INVITE"), 200, to_tag="uas")
    layer.receive(stray, UAS)
    assert core.stray == [stray]


# --- loss ------------------------------------------------------------------------------------------

def connected(*, client_loses: int = 0, server_loses: int = 0,
              ) -> tuple[ManualTimers, RecordingTransport, RecordingTransport, TransactionLayer, Core]:
    """A client layer and a server layer over links that lose their first messages."""
    timers = ManualTimers()
    client_link = RecordingTransport(address=UAC, lose=client_loses)
    server_link = RecordingTransport(address=UAS, lose=server_loses)
    client, _ = make_layer(client_link, timers)
    server, server_core = make_layer(server_link, timers)
    client_link.peer, server_link.peer = server, client
    return timers, client_link, server_link, client, server_core


def test_given_the_first_two_requests_lost_then_a_retransmission_gets_through_and_is_answered() -> None:
    timers, client_link, server_link, client, server_core = connected(client_loses=2)
    seen: list[Response] = []
    request = make_request("OPTIONS")
    client.send_request(request, UAS, seen.append)
    timers.advance(1.4)
    assert server_core.requests == []
    timers.advance(0.1)  # the third send, at 1.5 s, arrives
    [(arrived, transaction)] = server_core.requests
    assert transaction is not None
    transaction.respond(make_response(arrived, 200))
    assert [r.status for r in seen] == [200]
    timers.advance(60)
    assert client_link.methods() == ["OPTIONS"] and len(client_link.lost) == 2
    assert len(server_core.requests) == 1


def test_given_the_final_answer_lost_then_the_next_retransmission_is_answered_from_completed() -> None:
    timers, client_link, server_link, client, server_core = connected(server_loses=1)
    seen: list[Response] = []
    client.send_request(make_request("BYE", to_tag="uas"), UAS, seen.append)
    [(arrived, transaction)] = server_core.requests
    assert transaction is not None
    transaction.respond(make_response(arrived, 200))  # lost
    assert seen == []
    timers.advance(0.5)  # Timer E: the BYE again; the server transaction resends its 200
    assert [r.status for r in seen] == [200]
    assert len(server_core.requests) == 1


def test_given_the_failure_answer_lost_then_timer_g_resends_it_and_the_ack_completes_both_sides() -> None:
    timers, client_link, server_link, client, server_core = connected(server_loses=1)
    seen: list[Response] = []
    invite = make_request("INVITE")
    client_transaction = client.send_request(invite, UAS, seen.append)
    [(arrived, transaction)] = server_core.requests
    assert transaction is not None
    transaction.respond(make_response(arrived, 486, to_tag="uas"))  # lost
    timers.advance(0.5)  # Timer A resends the INVITE and Timer G the 486: both reach the other side
    assert [r.status for r in seen] == [486]
    assert state(transaction) is ServerState.CONFIRMED
    assert state(client_transaction) is ClientState.COMPLETED
    timers.advance(40)
    assert state(transaction) is ServerState.TERMINATED
    assert state(client_transaction) is ClientState.TERMINATED
    assert client_link.methods().count("ACK") >= 1


def test_given_an_ack_then_no_client_transaction_is_made_for_it() -> None:
    layer, _ = make_layer(RecordingTransport(), ManualTimers())
    with pytest.raises(ValueError):
        layer.send_request(make_request("ACK"), UAS, lambda response: None)
    assert layer.client_count == 0
