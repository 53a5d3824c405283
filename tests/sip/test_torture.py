"""RFC 4475 torture messages against the parser.

The files under ``torture/`` are the RFC's messages byte for byte (Appendix A archive). §3.1.1
messages must parse and round-trip, §3.1.2 messages must raise `SipParseError`; the §3.2-§3.4
messages are syntactically valid and their problems belong to layers above the parser, except the
three that cannot be framed or identified (insuf, multi01, mcl01), which the parser rejects.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.telephony.sip.message import Request, Response, SipParseError, parse, parse_uri, parse_via

TORTURE = Path(__file__).parent / "torture"

VALID = [
    # §3.1.1
    "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri",
    "transports", "mpart01", "unreason", "noreason",
    # §3.2-§3.4: well formed; a transaction, proxy or UAS decides what to do with them.
    # badbranch (a bare "z9hG4bK" branch): an element "could fall back to the RFC 2543-style
    # transaction identifier", which our transaction layer does for any non-RFC 3261 branch.
    "badbranch", "bcast", "bext01", "cparam01", "cparam02", "inv2543", "invut", "novelsc", "regaut01",
    "regescrt", "sdp01", "unkscm", "unksm2", "zeromf",
    # §3.1.2.12 baddate: "An element wishing to be liberal in what it accepts could ignore this
    # value altogether if it wasn't going to use the Date header field anyway." We never read Date.
    "baddate",
]

INVALID = {
    # §3.1.2
    "badinv01": "Via header 1: malformed parameter",
    "clerr": "Content-Length 9999 is larger",
    "ncl": "Content-Length '-999'",
    "scalar02": "larger than 2**32-1",
    "scalarlg": "larger than 2**32-1",
    "quotbal": "To header: unterminated quoted display name",
    "ltgtruri": "bad Request-URI",
    "lwsruri": "expected 'Method SP Request-URI SP SIP/2.0'",
    "lwsstart": "expected 'Method SP Request-URI SP SIP/2.0'",
    "trws": "expected 'Method SP Request-URI SP SIP/2.0'",
    "escruri": "carries headers",
    "regbadct": "Contact header 1: URI 'sip:user@example.com?Route=%3Csip:sip.example.com%3E' must be enclosed",
    "badaspec": "To header: whitespace",
    # baddn's archived copy ends after its last header line without the empty line; the parser
    # accepts that ending, so the error below is the display name's, as the RFC intends.
    "baddn": "From header: display name 'Bell, Alexander' must be quoted",
    "badvers": "unsupported version 'SIP/7.0'",
    "mismatch01": "CSeq method 'INVITE' does not match the request method 'OPTIONS'",
    "mismatch02": "CSeq method 'INVITE' does not match the request method 'NEWMETHOD'",
    "bigcode": "bad status code '4294967301'",
    # §3.3: a UAS answers these 400 as well; nothing can be built on them.
    "insuf": "missing From header",
    "multi01": "appears more than once",
    "mcl01": "Content-Length header appears more than once",
}


def _load(name: str) -> bytes:
    return (TORTURE / f"{name}.dat").read_bytes()


def _request(name: str) -> Request:
    message = parse(_load(name))
    assert isinstance(message, Request)
    return message


def _response(name: str) -> Response:
    message = parse(_load(name))
    assert isinstance(message, Response)
    return message


def test_given_the_torture_directory_then_it_holds_every_rfc_4475_message() -> None:
    assert sorted(path.stem for path in TORTURE.glob("*.dat")) == sorted([*VALID, *INVALID])


@pytest.mark.parametrize("name", VALID)
def test_given_a_valid_torture_message_when_parsed_and_encoded_then_it_parses_back_the_same(name: str) -> None:
    message = parse(_load(name))

    assert parse(message.encode()) == message


@pytest.mark.parametrize(("name", "says"), sorted(INVALID.items()))
def test_given_an_invalid_torture_message_when_parsed_then_the_error_says_what_is_wrong(name: str, says: str) -> None:
    with pytest.raises(SipParseError) as raised:
        parse(_load(name))

    assert says in str(raised.value)
    assert raised.value.reason == str(raised.value)


def test_given_wsinv_then_folded_lines_and_whitespace_give_the_plain_values() -> None:
    message = _request("wsinv")

    assert message.uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert message.request_uri.params == {"unknownparam": None}
    assert message.to.tag == "1918181833n"
    assert message.to.uri.user == "vivekg"
    assert message.from_.display == 'J Rosenberg \\"'
    assert message.from_.tag == "98asjd8"
    assert message.max_forwards == 68
    assert (message.cseq.number, message.cseq.method) == (9, "INVITE")
    assert message.headers.get("Subject") == ""
    assert message.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert message.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert message.content_type == "application/sdp"
    assert len(message.body) == 150


def test_given_wsinv_then_its_three_vias_come_in_order_from_long_and_compact_lines() -> None:
    vias = [parse_via(value) for value in _request("wsinv").headers.get_all("Via")]

    assert [(via.transport, via.host, via.branch) for via in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]


def test_given_wsinv_then_contact_and_route_keep_their_unknown_parameters() -> None:
    message = _request("wsinv")
    contact = message.headers.get_all("Contact")
    route = message.headers.get_all("Route")

    assert len(contact) == 1
    assert 'Quoted string \\"\\"' in contact[0]
    assert route == ["<sip:services.example.com;lr;unknownwith=value;unknown-no-value>"]
    assert parse_uri(route[0][1:-1]).params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}


def test_given_intmeth_then_the_unknown_method_and_its_unusual_uri_are_kept() -> None:
    message = _request("intmeth")
    uri = message.request_uri

    assert message.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert message.cseq.method == message.method
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert message.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert message.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.from_.display == "token1~` token2'+_ token3*%!.-"
    assert message.from_.tag == "_token~1'+`*%!-."
    assert message.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert message.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_given_esc01_then_escaped_uri_users_are_unescaped_and_parameters_kept() -> None:
    message = _request("esc01")

    assert message.request_uri.user == "sips:user@example.com"
    assert message.request_uri.host == "example.net"
    assert message.to.uri.user == "user"
    assert message.from_.uri.user == "I have spaces"
    contact = parse_uri(message.headers.get_all("Contact")[0].strip("<>"))
    assert contact.user == "caller"
    assert contact.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}


def test_given_escnull_then_escaped_nulls_are_users() -> None:
    message = _request("escnull")

    assert message.to.uri.user == "null-\x00-null"
    assert [parse_uri(c.strip("<>")).user for c in message.headers.get_all("Contact")] == ["\x00", "\x00\x00"]


def test_given_esc02_then_percent_is_not_an_escape_outside_uris() -> None:
    message = _request("esc02")

    assert message.method == "RE%47IST%45R"
    assert message.to.display == "%Z%45"
    assert len(message.headers.get_all("Contact")) == 2
    assert message.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_given_lwsdisp_then_a_display_name_touching_the_angle_bracket_is_accepted() -> None:
    # §3.1.1.6: "not valid per the grammar in RFC 3261 ... This has been identified as a
    # specification bug ... Elements should accept this request as well formed."
    assert _request("lwsdisp").from_.display == "caller"


def test_given_longreq_then_long_values_and_34_vias_are_read() -> None:
    message = _request("longreq")
    vias = message.vias

    assert message.to.display == "I have a user name of " + "extreme" * 10 + " proportion"
    assert message.to.uri.params["unknownparam1"] == "very" + "long" * 20 + "value"
    assert message.from_.tag == "12" + "982" * 50 + "424"
    assert message.from_.uri.user == "amazinglylongcallername" * 5
    assert message.call_id == "longreq.one" + "really" * 20 + "longcallid"
    assert len(vias) == 34
    assert [via.host for via in vias[:33]] == [f"sip{n}.example.com" for n in range(33, 0, -1)]
    assert vias[33].branch == "very" + "long" * 50 + "branchvalue"
    assert vias[33].received == "192.0.2.5"


def test_given_dblreq_then_only_the_register_is_read_and_the_trailing_octets_dropped() -> None:
    message = _request("dblreq")

    assert message.method == "REGISTER"
    assert message.body == b""


def test_given_semiuri_then_the_semicolon_belongs_to_the_user_part() -> None:
    message = _request("semiuri")

    assert message.request_uri.user == "user;par=u@example.net"
    assert message.request_uri.host == "example.com"
    assert message.request_uri.params == {}
    assert message.headers.get_all("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed", "message/sip",
        "message/sipfrag",
    ]


def test_given_transports_then_every_transport_name_is_kept() -> None:
    assert [via.transport for via in _request("transports").vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_given_mpart01_then_the_binary_body_is_framed_by_content_length() -> None:
    message = _request("mpart01")

    assert len(message.body) == 553
    assert b"\x00" in message.body
    assert message.body.endswith(b"--7a9cbec02ceef655--\r\n")


def test_given_unreason_then_the_utf8_reason_phrase_is_kept() -> None:
    response = _response("unreason")

    assert response.status == 200
    assert response.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"


def test_given_noreason_then_the_reason_phrase_is_empty() -> None:
    response = _response("noreason")

    assert (response.status, response.reason) == (100, "")


def test_given_inv2543_then_a_via_without_branch_and_a_body_without_length_are_accepted() -> None:
    # §3.4.1: "a legal message per RFC 2543 ... that should be accepted by RFC 3261 elements
    # that want to maintain backwards compatibility". The transaction layer keys it the 2543 way.
    message = _request("inv2543")

    assert message.top_via.branch is None
    assert message.body.endswith(b"m=audio 49217 RTP/AVP 0\r\n")
    assert message.max_forwards is None


def test_given_unknown_uri_schemes_then_they_are_kept_for_the_uas_to_answer_416() -> None:
    assert _request("unkscm").uri == "nobodyKnowsThisScheme:totallyopaquecontent"
    assert _request("novelsc").uri == "soap.beep://192.0.2.103:3002"
    assert _request("unksm2").headers.get("To") == "isbn:2983792873"


def test_given_cparam01_then_parameters_after_a_bare_contact_uri_belong_to_the_header() -> None:
    from dialer.telephony.sip.message import parse_name_addr

    bare = parse_name_addr(_request("cparam01").headers.get_all("Contact")[0])
    angled = parse_name_addr(_request("cparam02").headers.get_all("Contact")[0])

    assert (bare.params, bare.uri.params) == ({"unknownparam": None}, {})
    assert (angled.params, angled.uri.params) == ({}, {"unknownparam": None})


def test_given_zeromf_and_bcast_then_they_parse_for_the_layers_above_to_judge() -> None:
    # zeromf: a UAS answers an OPTIONS with Max-Forwards 0; bcast: the transport discards a
    # response whose top Via is not its own (RFC 3261 §18.1.2). Neither is a syntax error.
    assert _request("zeromf").max_forwards == 0
    assert [via.host for via in _response("bcast").vias] == ["192.0.2.198", "255.255.255.255"]
