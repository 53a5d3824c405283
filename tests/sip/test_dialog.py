"""RFC 3261 §12 dialogs on the UAC side: made from the responses to our INVITE, building the
in-dialog requests (loose and strict routing), and recognising the far end's requests."""

from __future__ import annotations

import pytest

from dialer.telephony.sip.dialog import Dialog, DialogError, uri_address
from dialer.telephony.sip.message import Headers, Request, Response, make_response, parse_uri

VIA = "SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bKnext"


def make_invite(*, uri: str = "sip:+8613800000001@trunk.example.net", cseq: int = 7) -> Request:
    headers = Headers()
    headers.add("Via", "SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bKinvite")
    headers.add("Max-Forwards", "70")
    headers.add("From", "<sip:+862100000000@dialer.example>;tag=ours")
    headers.add("To", "<sip:+8613800000001@trunk.example.net>")
    headers.add("Call-ID", "call-1@dialer.example")
    headers.add("CSeq", f"{cseq} INVITE")
    headers.add("Contact", "<sip:192.0.2.10:5060>")
    return Request("INVITE", uri, headers)


def answer(invite: Request, status: int = 200, *, tag: str | None = "theirs",
           contact: str | None = "<sip:gw@198.51.100.7:5080;transport=UDP>",
           record_route: tuple[str, ...] = ()) -> Response:
    request = Request(invite.method, invite.uri, invite.headers.copy())
    for value in record_route:
        request.headers.add("Record-Route", value)
    response = make_response(request, status, to_tag=tag)
    if contact is not None:
        response.headers.add("Contact", contact)
    return response


def test_given_a_2xx_then_the_dialog_takes_its_ids_target_and_reversed_record_route() -> None:
    invite = make_invite()
    ok = answer(invite, record_route=("<sip:edge.example;lr>", "<sip:core.example;lr>"))

    dialog = Dialog.from_uac_response(invite, ok)

    assert dialog.id == ("call-1@dialer.example", "ours", "theirs")
    assert str(dialog.local_uri) == "sip:+862100000000@dialer.example"
    assert str(dialog.remote_uri) == "sip:+8613800000001@trunk.example.net"
    assert str(dialog.remote_target) == "sip:gw@198.51.100.7:5080;transport=UDP"
    assert dialog.route_set == ["<sip:core.example;lr>", "<sip:edge.example;lr>"]
    assert (dialog.local_seq, dialog.remote_seq, dialog.invite_seq) == (7, None, 7)
    assert not dialog.early and not dialog.secure


def test_given_a_sips_request_uri_then_the_dialog_is_secure() -> None:
    invite = make_invite(uri="sips:+8613800000001@trunk.example.net")
    assert Dialog.from_uac_response(invite, answer(invite)).secure


def test_given_a_180_with_a_tag_then_an_early_dialog_that_the_200_confirms_and_retargets() -> None:
    invite = make_invite()
    dialog = Dialog.from_uac_response(invite, answer(invite, 180, contact=None,
                                                     record_route=("<sip:edge.example;lr>",)))
    assert dialog.early
    assert str(dialog.remote_target) == invite.uri

    dialog.update_from_response(answer(invite, 200, record_route=("<sip:other.example;lr>",)))

    assert not dialog.early
    assert str(dialog.remote_target) == "sip:gw@198.51.100.7:5080;transport=UDP"
    assert dialog.route_set == ["<sip:other.example;lr>"]


@pytest.mark.parametrize(("status", "tag", "contact"), [(180, None, "<sip:gw@198.51.100.7>"), (200, "t", None)])
def test_given_a_response_without_a_to_tag_or_a_2xx_without_contact_then_no_dialog(
        status: int, tag: str | None, contact: str | None) -> None:
    invite = make_invite()
    with pytest.raises(DialogError):
        Dialog.from_uac_response(invite, answer(invite, status, tag=tag, contact=contact))


def test_given_a_dialog_then_a_bye_takes_the_next_cseq_and_the_dialogs_tags_and_target() -> None:
    invite = make_invite()
    dialog = Dialog.from_uac_response(invite, answer(invite, record_route=("<sip:edge.example;lr>",)))

    bye = dialog.request("BYE", via=VIA)
    again = dialog.request("BYE", via=VIA)

    assert bye.uri == "sip:gw@198.51.100.7:5080;transport=UDP"
    assert (bye.cseq.number, bye.cseq.method) == (8, "BYE")
    assert again.cseq.number == 9
    assert bye.from_.tag == "ours" and bye.to.tag == "theirs"
    assert bye.call_id == "call-1@dialer.example"
    assert bye.headers.get_all("Route") == ["<sip:edge.example;lr>"]
    assert bye.top_via.branch == "z9hG4bKnext"
    assert bye.max_forwards == 70


def test_given_a_dialog_then_the_ack_of_its_2xx_carries_the_invites_cseq_and_takes_no_number() -> None:
    invite = make_invite(cseq=2)
    dialog = Dialog.from_uac_response(invite, answer(invite))

    ack = dialog.ack(via=VIA, body=b"v=0\r\n", content_type="application/sdp")

    assert (ack.cseq.number, ack.cseq.method) == (2, "ACK")
    assert ack.body == b"v=0\r\n" and ack.content_type == "application/sdp"
    assert dialog.request("BYE", via=VIA).cseq.number == 3


def test_given_a_strict_first_route_then_it_becomes_the_request_uri_and_the_target_goes_last() -> None:
    invite = make_invite()
    dialog = Dialog.from_uac_response(invite, answer(invite, record_route=(
        "<sip:core.example;lr>", "<sip:strict.example:5070;maddr=203.0.113.9>")))

    bye = dialog.request("BYE", via=VIA)

    assert bye.uri == "sip:strict.example:5070"
    assert bye.headers.get_all("Route") == ["<sip:core.example;lr>", "<sip:gw@198.51.100.7:5080;transport=UDP>"]
    assert uri_address(dialog.next_hop()) == ("203.0.113.9", 5070)


def test_given_no_route_set_then_the_next_hop_is_the_remote_target() -> None:
    invite = make_invite()
    dialog = Dialog.from_uac_response(invite, answer(invite))
    assert uri_address(dialog.next_hop()) == ("198.51.100.7", 5080)


@pytest.mark.parametrize(("uri", "address"), [
    ("sip:trunk.example.net", ("trunk.example.net", 5060)),
    ("sips:trunk.example.net", ("trunk.example.net", 5061)),
    ("sip:u@[2001:db8::1]:5062", ("2001:db8::1", 5062)),
    ("sip:proxy.example;lr;maddr=198.51.100.1", ("198.51.100.1", 5060)),
])
def test_given_a_uri_then_its_address_is_maddr_or_host_and_the_port_or_the_schemes_default(
        uri: str, address: tuple[str, int]) -> None:
    assert uri_address(parse_uri(uri)) == address


def far_end_request(dialog: Dialog, method: str, *, cseq: int, from_tag: str = "theirs",
                    to_tag: str = "ours", call_id: str = "call-1@dialer.example") -> Request:
    headers = Headers()
    headers.add("Via", "SIP/2.0/UDP 198.51.100.7:5080;branch=z9hG4bKfar")
    headers.add("From", f"<sip:+8613800000001@trunk.example.net>;tag={from_tag}")
    headers.add("To", f"<sip:+862100000000@dialer.example>;tag={to_tag}")
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{cseq} {method}")
    return Request(method, "sip:192.0.2.10:5060", headers)


def test_given_the_far_ends_request_then_the_dialog_recognises_it_by_call_id_and_swapped_tags() -> None:
    invite = make_invite()
    dialog = Dialog.from_uac_response(invite, answer(invite))

    assert dialog.matches(far_end_request(dialog, "BYE", cseq=1))
    assert not dialog.matches(far_end_request(dialog, "BYE", cseq=1, from_tag="ours", to_tag="theirs"))
    assert not dialog.matches(far_end_request(dialog, "BYE", cseq=1, call_id="other"))


def test_given_remote_requests_then_a_lower_cseq_than_the_last_is_refused() -> None:
    invite = make_invite()
    dialog = Dialog.from_uac_response(invite, answer(invite))

    assert dialog.accept_remote_cseq(far_end_request(dialog, "INFO", cseq=100))
    assert dialog.accept_remote_cseq(far_end_request(dialog, "INFO", cseq=101))
    assert not dialog.accept_remote_cseq(far_end_request(dialog, "BYE", cseq=50))
    assert dialog.remote_seq == 101
