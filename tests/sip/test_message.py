"""SIP message parsing, headers, URIs and §8.2.6 responses (RFC 3261)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.telephony.sip.message import (
    COMPACT_FORMS,
    Headers,
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    frame_length,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse,
    parse_name_addr,
    parse_uri,
    parse_via,
    reason_phrase,
)

CRLF = "\r\n"


def _invite(*extra: str, body: str = "", first_line: str = "INVITE sip:bob@example.com SIP/2.0",
            content_length: int | None = None) -> bytes:
    lines = [
        first_line,
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport",
        "Max-Forwards: 70",
        'From: "Alice" <sip:alice@example.com>;tag=1928301774',
        "To: <sip:bob@example.com>",
        "Call-ID: a84b4c76e66710@pc33.example.com",
        "CSeq: 314159 INVITE",
        *extra,
        f"Content-Length: {len(body.encode()) if content_length is None else content_length}",
    ]
    return (CRLF.join(lines) + CRLF + CRLF + body).encode()


def _request(*extra: str, body: str = "") -> Request:
    message = parse(_invite(*extra, body=body))
    assert isinstance(message, Request)
    return message


# sipp's built-in "uac" scenario, in the shape it sends (field values as sipp fills them in).
SIPP_UAC_INVITE = (
    "INVITE sip:service@192.0.2.10:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.20:5061;branch=z9hG4bK-4402-1-0\r\n"
    "From: sipp <sip:sipp@192.0.2.20:5061>;tag=4402SIPpTag001\r\n"
    "To: service <sip:service@192.0.2.10:5060>\r\n"
    "Call-ID: 1-4402@192.0.2.20\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: sip:sipp@192.0.2.20:5061\r\n"
    "Max-Forwards: 70\r\n"
    "Subject: Performance Test\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length:   131\r\n"
    "\r\n"
    "v=0\r\n"
    "o=user1 53655765 2353687637 IN IP4 192.0.2.20\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.20\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
).encode()


def test_given_sipps_default_uac_invite_then_it_parses_with_its_sdp_body() -> None:
    message = parse(SIPP_UAC_INVITE)

    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert message.from_.display == "sipp"
    assert message.from_.tag == "4402SIPpTag001"
    assert message.to.display == "service"
    assert message.to.tag is None
    assert message.top_via.branch == "z9hG4bK-4402-1-0"
    assert message.top_via.port == 5061
    assert parse_name_addr(message.headers.get_all("Contact")[0]).uri.port == 5061
    assert len(message.body) == 131
    assert message.body.endswith(b"a=rtpmap:0 PCMU/8000\r\n")


@pytest.mark.parametrize(("compact", "full"), sorted(COMPACT_FORMS.items()))
def test_given_a_compact_header_name_then_it_is_stored_under_the_full_name(compact: str, full: str) -> None:
    headers = Headers()
    headers.add(compact.upper(), "x")

    assert headers.items() == [(full, "x")]
    assert headers.get(full.upper()) == "x"
    assert headers.get(compact) == "x"


def test_given_compact_forms_in_a_message_then_properties_read_them() -> None:
    raw = (
        "OPTIONS sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP h.example.com;branch=z9hG4bKa\r\n"
        "f: <sip:a@example.com>;tag=9\r\nt: sip:bob@example.com\r\ni: abc@h\r\nCSeq: 1 OPTIONS\r\n"
        "k: timer, 100rel\r\nl: 0\r\n\r\n"
    ).encode()

    message = parse(raw)

    assert message.call_id == "abc@h"
    assert message.from_.tag == "9"
    assert message.headers.get_all("Supported") == ["timer", "100rel"]
    assert "call-id" in message.headers and "I" in message.headers and "Subject" not in message.headers


def test_given_mixed_case_names_and_parameters_then_lookups_ignore_case() -> None:
    message = _request("CONTACT: <sip:alice@192.0.2.1:5060;Transport=UDP>;Expires=60")
    contact = parse_name_addr(message.headers.get_all("contact")[0])

    assert contact.uri.param("TRANSPORT") == "UDP"
    assert contact.uri.transport == "udp"
    assert contact.params == {"expires": "60"}
    assert message.headers.get("cseq") == "314159 INVITE"
    assert message.headers.get("call-id") == message.headers.get("Call-ID")


def test_given_vias_on_several_lines_and_comma_joined_then_get_all_lists_one_per_hop() -> None:
    message = _request(
        "v: SIP/2.0/TCP proxy1.example.com;branch=z9hG4bKp1 , SIP/2.0/UDP proxy2.example.com:5070;branch=z9hG4bKp2",
        "VIA: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKp3;received=192.0.2.9",
    )

    vias = message.vias

    assert [(v.transport, v.host, v.port, v.branch) for v in vias] == [
        ("UDP", "192.0.2.1", 5060, "z9hG4bK776asdhds"),
        ("TCP", "proxy1.example.com", None, "z9hG4bKp1"),
        ("UDP", "proxy2.example.com", 5070, "z9hG4bKp2"),
        ("TLS", "[2001:db8::9]", 5061, "z9hG4bKp3"),
    ]
    assert vias[3].received == "192.0.2.9"
    assert message.top_via.params["rport"] is None


def test_given_a_comma_joined_via_when_removing_the_first_then_only_the_top_hop_goes() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2"),
                       ("Via", "SIP/2.0/UDP c.example.com;branch=z9hG4bK3")])

    headers.remove_first("v")

    assert [parse_via(v).host for v in headers.get_all("Via")] == ["b.example.com", "c.example.com"]


def test_given_headers_when_prepending_setting_and_removing_then_order_is_kept() -> None:
    headers = Headers([("To", "<sip:b@x>"), ("Via", "SIP/2.0/UDP b;branch=z9hG4bK2"), ("Route", "<sip:r1;lr>")])
    copied = headers.copy()

    headers.prepend("Via", "SIP/2.0/UDP a;branch=z9hG4bK1")
    headers.set("route", "<sip:r2;lr>")
    headers.add("Route", "<sip:r3;lr>, <sip:r4;lr>")
    headers.remove("TO")

    assert headers.items() == [
        ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Via", "SIP/2.0/UDP b;branch=z9hG4bK2"),
        ("Route", "<sip:r2;lr>"), ("Route", "<sip:r3;lr>, <sip:r4;lr>"),
    ]
    assert headers.get_all("Route") == ["<sip:r2;lr>", "<sip:r3;lr>", "<sip:r4;lr>"]
    assert copied.items() == [("To", "<sip:b@x>"), ("Via", "SIP/2.0/UDP b;branch=z9hG4bK2"), ("Route", "<sip:r1;lr>")]


def test_given_a_list_header_with_quoted_commas_then_they_do_not_split() -> None:
    headers = Headers([("Contact", '"Smith, John" <sip:j@x>;q=0.5, <sip:k@y;a=b,c>')])

    assert headers.get_all("Contact") == ['"Smith, John" <sip:j@x>;q=0.5', "<sip:k@y;a=b,c>"]
    assert headers.get_all("Subject") == []


def test_given_a_non_list_header_with_commas_then_get_all_keeps_it_whole() -> None:
    value = 'Digest username="a", realm="b", nonce="c"'

    assert Headers([("Authorization", value)]).get_all("Authorization") == [value]


def test_given_a_udp_body_longer_than_content_length_then_it_is_truncated() -> None:
    message = parse(_invite(body="v=0\r\nextra bytes", content_length=5))

    assert message.body == b"v=0\r\n"
    assert message.headers.get("Content-Length") == "5"


def test_given_a_body_shorter_than_content_length_then_parsing_fails() -> None:
    with pytest.raises(SipParseError, match="Content-Length 50 is larger than the 3-byte body"):
        parse(_invite(body="v=0", content_length=50))


def test_given_no_content_length_on_udp_then_the_body_runs_to_the_end_of_the_datagram() -> None:
    raw = _invite(body="v=0\r\n").replace(b"Content-Length: 5\r\n", b"")

    message = parse(raw)

    assert message.body == b"v=0\r\n"
    assert message.headers.get("Content-Length") == "5"


def test_given_leading_crlf_keepalives_then_they_are_ignored() -> None:
    assert isinstance(parse(b"\r\n\r\n" + _invite()), Request)


@pytest.mark.parametrize(("raw", "says"), [
    (b"", "no empty line"),
    (b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1", "no empty line"),
    (_invite(first_line="INVITE sip:bob@example.com SIP/3.0"), "unsupported version"),
    (_invite(first_line="INVITE  sip:bob@example.com SIP/2.0"), "expected 'Method SP Request-URI SP SIP/2.0'"),
    (_invite(first_line="INV(TE sip:bob@example.com SIP/2.0"), "is not a token"),
    (_invite(first_line="INVITE sip:bob@example.com:99999 SIP/2.0"), "bad port"),
    (_invite("Max-Forwards: 256").replace(b"Max-Forwards: 70\r\n", b""), "Max-Forwards '256'"),
    (_invite("Via: SIP/2.0/UDP"), "Via header 2"),
    (_invite("Bad Header: x"), "line 8: not a header field"),
    (_invite().replace(b"CSeq: 314159 INVITE", b"CSeq: INVITE"), "CSeq 'INVITE'"),
    (_invite().replace(b"Call-ID: a84b4c76e66710@pc33.example.com\r\n", b""), "missing Call-ID header"),
])
def test_given_a_malformed_message_then_the_error_says_what_and_where(raw: bytes, says: str) -> None:
    with pytest.raises(SipParseError) as raised:
        parse(raw)

    assert says in raised.value.reason


def test_given_a_response_then_status_reason_and_properties_are_read() -> None:
    raw = (
        "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx;received=198.51.100.7;rport=40000\r\n"
        "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()

    response = parse(raw)

    assert isinstance(response, Response)
    assert (response.status, response.reason) == (486, "Busy Here")
    assert (response.top_via.received, response.top_via.rport) == ("198.51.100.7", 40000)
    assert (response.cseq.number, response.cseq.method, response.to.tag) == (2, "INVITE", "2")


def test_given_a_request_when_encoded_then_crlf_version_and_content_length_from_the_body() -> None:
    request = Request("OPTIONS", "sip:b@example.com", Headers([("Call-ID", "x"), ("Content-Length", "99")]), b"hi")

    assert request.encode() == b"OPTIONS sip:b@example.com SIP/2.0\r\nCall-ID: x\r\nContent-Length: 2\r\n\r\nhi"
    assert Response(200, "OK", Headers()).encode() == b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(("status", "reason"), [(100, "Trying"), (180, "Ringing"), (407, "Proxy Authentication Required"),
                                                (488, "Not Acceptable Here"), (499, "Bad Request")])
def test_given_a_response_without_reason_then_the_rfc_phrase_is_used(status: int, reason: str) -> None:
    assert Response(status, "", Headers()).reason == reason == reason_phrase(status)


def test_given_an_invite_when_answering_then_exactly_the_8_2_6_headers_are_copied() -> None:
    request = _request(
        "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp, SIP/2.0/UDP edge.example.com;branch=z9hG4bKe",
        "Record-Route: <sip:proxy.example.com;lr>", "Contact: <sip:alice@192.0.2.1>", "Route: <sip:x;lr>",
        "Subject: hi", body="v=0\r\n",
    )

    response = make_response(request, 180, to_tag="a6c85cf")

    assert response.reason == "Ringing"
    assert response.headers.items() == [
        ("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport"),
        ("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp"),
        ("Via", "SIP/2.0/UDP edge.example.com;branch=z9hG4bKe"),
        ("From", '"Alice" <sip:alice@example.com>;tag=1928301774'),
        ("To", "<sip:bob@example.com>;tag=a6c85cf"),
        ("Call-ID", "a84b4c76e66710@pc33.example.com"),
        ("CSeq", "314159 INVITE"),
        ("Record-Route", "<sip:proxy.example.com;lr>"),
    ]
    assert response.body == b""


@pytest.mark.parametrize("status", [100, 486])
def test_given_an_invite_when_answering_trying_or_failure_then_record_route_is_not_copied(status: int) -> None:
    request = _request("Record-Route: <sip:proxy.example.com;lr>", "Timestamp: 54")

    response = make_response(request, status)

    assert "Record-Route" not in response.headers
    assert ("Timestamp" in response.headers) is (status == 100)


def test_given_a_to_tag_already_present_when_answering_then_it_is_kept() -> None:
    request = parse(_invite().replace(b"To: <sip:bob@example.com>", b"To: <sip:bob@example.com>;tag=old"))
    assert isinstance(request, Request)

    response = make_response(request, 200, to_tag="new", body=b"v=0\r\n", content_type="application/sdp")

    assert response.to.tag == "old"
    assert response.content_type == "application/sdp"
    assert b"Content-Length: 5\r\n\r\nv=0\r\n" in response.encode()


def test_given_a_stream_buffer_then_frame_length_waits_for_the_whole_message() -> None:
    raw = _invite(body="v=0\r\n")

    assert frame_length(raw[:20]) is None
    assert frame_length(raw[:-1]) is None
    assert frame_length(raw) == len(raw)
    assert frame_length(b"\r\n\r\n" + raw + b"INVITE") == len(raw) + 4


def test_given_new_identifiers_then_they_are_fresh_and_well_formed() -> None:
    branches = {new_branch() for _ in range(100)}

    assert len(branches) == 100
    assert all(b.startswith("z9hG4bK") and len(b) - 7 >= 16 for b in branches)
    assert new_tag() != new_tag()
    assert new_call_id("dialer.example.com").endswith("@dialer.example.com")


@pytest.mark.parametrize(("text", "expected"), [
    ("sip:alice@atlanta.example.com", SipUri("sip", "alice", None, "atlanta.example.com")),
    ("SIPS:Alice:secret@[2001:db8::1]:5061;Transport=TLS?subject=hi&priority=urgent",
     SipUri("sips", "Alice", "secret", "[2001:db8::1]", 5061, {"transport": "TLS"},
            {"subject": "hi", "priority": "urgent"})),
    ("sip:+15551234567@trunk.example.net;user=phone", SipUri("sip", "+15551234567", None, "trunk.example.net", None,
                                                            {"user": "phone"})),
    ("sip:[::1]", SipUri("sip", None, None, "[::1]")),
    ("tel:+1-201-555-0123;phone-context=example.com", SipUri("tel", "+1-201-555-0123", None, "", None,
                                                            {"phone-context": "example.com"})),
])
def test_given_uri_text_then_it_parses_into_its_parts(text: str, expected: SipUri) -> None:
    assert parse_uri(text) == expected


@pytest.mark.parametrize("text", ["alice@example.com", "sip:", "sip:a@", "sip:a@b c", "http://x", "sip:a@ex_ample.com",
                                  "sip:a@h:0", "sip:a@[::1", "sip:a@h;=x", "sip:@h"])
def test_given_bad_uri_text_then_parsing_fails(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_given_a_bare_addr_spec_then_its_parameters_belong_to_the_header() -> None:
    bare = parse_name_addr("sip:bob@example.com;tag=abc;transport=udp")
    angled = parse_name_addr('"Bob" <sip:bob@example.com;transport=udp>;tag=abc')

    assert (bare.display, bare.tag, bare.uri.params) == (None, "abc", {})
    assert bare.params == {"tag": "abc", "transport": "udp"}
    assert (angled.display, angled.tag, angled.uri.transport) == ("Bob", "abc", "udp")
    assert str(angled) == '"Bob" <sip:bob@example.com;transport=udp>;tag=abc'


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.!*_+`'~", min_size=1, max_size=12)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_host = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
_uri = st.builds(
    SipUri,
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    password=st.none(),
    host=_host,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    params=st.dictionaries(_token.map(str.lower), st.one_of(st.none(), _token), max_size=4),
    headers=st.dictionaries(_token, _token, max_size=2),
)


@given(_uri)
def test_given_any_sip_uri_when_written_and_parsed_then_it_comes_back(uri: SipUri) -> None:
    assert parse_uri(str(uri)) == uri


@given(
    st.one_of(st.none(), st.text(alphabet=st.characters(exclude_characters="\r\n"), max_size=20)),
    _uri.filter(lambda u: not u.headers),
    st.dictionaries(_token.map(str.lower), st.one_of(st.none(), _token), max_size=3),
)
def test_given_any_name_addr_when_written_and_parsed_then_it_comes_back(
    display: str | None, uri: SipUri, params: dict[str, str | None]
) -> None:
    address = NameAddr(display, uri, params)

    assert parse_name_addr(str(address)) == address


@given(st.lists(_host, min_size=1, max_size=5), st.booleans())
def test_given_any_via_list_when_joined_by_commas_or_lines_then_get_all_reads_each_hop(
    hosts: list[str], joined: bool
) -> None:
    values = [f"SIP/2.0/UDP {host};branch=z9hG4bK{index}" for index, host in enumerate(hosts)]
    headers = Headers([("Via", ", ".join(values))] if joined else [("v", value) for value in values])

    assert [parse_via(value).host for value in headers.get_all("Via")] == hosts


def test_given_a_via_with_an_ipv6_received_then_the_bare_address_is_read() -> None:
    via = parse_via("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKx;received=2001:db8::9;rport=5062")

    assert (via.host, via.port, via.received, via.rport) == ("[2001:db8::1]", 5060, "2001:db8::9", 5062)
    assert via.encode() == "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKx;received=2001:db8::9;rport=5062"


def test_given_a_stream_whose_content_length_is_not_a_number_then_framing_fails() -> None:
    with pytest.raises(SipParseError, match="cannot frame the stream"):
        frame_length(_invite(content_length=-1))


def test_given_a_to_with_an_unknown_scheme_when_answering_then_the_tag_is_still_added() -> None:
    request = parse((_invite().replace(b"To: <sip:bob@example.com>", b"To: isbn:2983792873")))
    assert isinstance(request, Request)

    response = make_response(request, 416, to_tag="t1")

    assert (response.reason, response.headers.get("To")) == ("Unsupported URI Scheme", "isbn:2983792873;tag=t1")


def test_given_a_status_line_without_the_space_before_an_empty_reason_then_it_is_accepted() -> None:
    raw = (
        "SIP/2.0 100\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@example.com>;tag=1\r\n"
        "To: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\n\r\n"
    ).encode()

    response = parse(raw)

    assert isinstance(response, Response)
    assert (response.status, response.reason) == (100, "")


def test_given_a_bare_contact_with_a_quoted_angle_bracket_parameter_then_it_stays_an_addr_spec() -> None:
    contact = parse_name_addr('sip:alice@192.0.2.1;+sip.instance="<urn:uuid:f81d4fae>";expires=60')

    assert (contact.display, str(contact.uri)) == (None, "sip:alice@192.0.2.1")
    assert contact.params == {"+sip.instance": '"<urn:uuid:f81d4fae>"', "expires": "60"}
