"""SDP parsing and G.711 offer/answer (RFC 4566, RFC 3264, RFC 4733)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.telephony.sip import sdp
from dialer.telephony.sip.message import parse
from dialer.telephony.sip.sdp import PCMA, PCMU, Codec, Negotiated, SdpError, SessionDescription

TORTURE = Path(__file__).parent / "torture"


def _offer_text(*media: str, connection: str = "c=IN IP4 198.51.100.7", session: str = "") -> str:
    head = f"v=0\r\no=trunk 2890844526 2890844526 IN IP4 198.51.100.7\r\ns=call\r\n{connection}\r\nt=0 0\r\n{session}"
    return head + "".join(media)


AUDIO = (
    "m=audio 49170 RTP/AVP 0 8 100\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-15\r\n"
)


def _answer(text: str) -> tuple[SessionDescription, Negotiated]:
    return sdp.answer(SessionDescription.parse(text), address="192.0.2.10", port=20000, session_id=7)


def test_given_our_offer_then_it_lists_the_codecs_in_order_with_telephone_event() -> None:
    offer = sdp.offer(address="192.0.2.10", port=20000, session_id=42, version=3)

    assert offer.encode() == (
        b"v=0\r\no=- 42 3 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        b"m=audio 20000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )


def test_given_an_ipv6_address_and_no_telephone_event_then_the_offer_says_ip6_and_lists_only_codecs() -> None:
    offer = sdp.offer(address="2001:db8::10", port=20000, session_id=1, codecs=(PCMU,), telephone_event=None,
                      direction="sendonly")

    text = offer.encode().decode()
    assert "o=- 1 0 IN IP6 2001:db8::10\r\n" in text and "c=IN IP6 2001:db8::10\r\n" in text
    assert "m=audio 20000 RTP/AVP 0\r\n" in text and "telephone-event" not in text and "a=sendonly" in text


def test_given_a_trunk_offer_then_the_answer_takes_its_first_supported_codec_and_echoes_its_event_pt() -> None:
    description, negotiated = _answer(_offer_text(AUDIO))

    assert negotiated == Negotiated(PCMU, 100, "198.51.100.7", 49170, "sendrecv", 20)
    text = description.encode().decode()
    assert "m=audio 20000 RTP/AVP 0 100\r\n" in text
    assert "a=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-15\r\n" in text
    assert "c=IN IP4 192.0.2.10\r\n" in text


def test_given_static_payload_types_without_rtpmap_then_they_are_understood() -> None:
    _, negotiated = _answer(_offer_text("m=audio 4000 RTP/AVP 18 8 0\r\na=rtpmap:18 G729/8000\r\n"))

    assert negotiated.codec == PCMA


def test_given_a_dynamic_payload_type_for_g711_then_its_number_is_kept() -> None:
    _, negotiated = _answer(_offer_text("m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 pcma/8000\r\n"))

    assert negotiated.codec == Codec("PCMA", 96)


def test_given_only_g729_then_the_error_says_what_was_offered_and_what_we_support() -> None:
    with pytest.raises(SdpError) as raised:
        _answer(_offer_text("m=audio 4000 RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n"))

    assert str(raised.value) == "no common audio codec: offered G729/8000, we support PCMA, PCMU"


def test_given_video_and_a_second_audio_line_then_they_are_answered_with_port_zero() -> None:
    text = _offer_text(
        "m=video 51372 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\n", AUDIO,
        "m=audio 49172 RTP/AVP 8\r\n",
    )

    description, negotiated = _answer(text)

    assert [(m.kind, m.port) for m in description.media] == [("video", 0), ("audio", 20000), ("audio", 0)]
    assert negotiated.remote_port == 49170
    assert "m=video 0 RTP/AVP 31\r\n" in description.encode().decode()


def test_given_a_media_level_connection_then_it_overrides_the_session_level_one() -> None:
    _, negotiated = _answer(_offer_text(AUDIO + "c=IN IP4 203.0.113.5\r\n"))

    assert negotiated.remote_address == "203.0.113.5"


@pytest.mark.parametrize(("connection", "attribute", "ours"), [
    ("c=IN IP4 198.51.100.7", "a=sendonly\r\n", "recvonly"),
    ("c=IN IP4 198.51.100.7", "a=recvonly\r\n", "sendonly"),
    ("c=IN IP4 198.51.100.7", "a=inactive\r\n", "inactive"),
    ("c=IN IP4 0.0.0.0", "", "recvonly"),
    ("c=IN IP4 0.0.0.0", "a=sendonly\r\n", "recvonly"),
    ("c=IN IP4 0.0.0.0", "a=recvonly\r\n", "inactive"),
])
def test_given_a_hold_offer_then_the_answer_mirrors_its_direction(connection: str, attribute: str, ours: str) -> None:
    description, negotiated = _answer(_offer_text(AUDIO + attribute, connection=connection))

    assert negotiated.direction == ours
    assert description.direction(description.media[0]) == ours


def test_given_a_session_level_direction_then_media_lines_inherit_it() -> None:
    _, negotiated = _answer(_offer_text(AUDIO, session="a=sendonly\r\n"))

    assert negotiated.direction == "recvonly"


@pytest.mark.parametrize(("text", "says"), [
    (_offer_text("m=video 4000 RTP/AVP 31\r\n"), "no audio stream offered"),
    (_offer_text("m=audio 0 RTP/AVP 0\r\n"), "no audio stream offered"),
    (_offer_text("m=audio 4000 RTP/SAVP 0\r\n"), "RTP/AVP only"),
    (_offer_text("m=audio 4000 RTP/AVP 0\r\n", connection=""), "no c= address"),
])
def test_given_an_offer_we_cannot_accept_then_answering_says_why(text: str, says: str) -> None:
    with pytest.raises(SdpError, match=says):
        _answer(text)


@pytest.mark.parametrize(("text", "says"), [
    ("", "must start with v=0"),
    ("v=0\r\ns=-\r\n", "no o= line"),
    ("v=0\r\no=- 1\r\n", "malformed o= line"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP9 x\r\n", "malformed c= line"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 70000 RTP/AVP 0\r\n", "malformed m= line"),
    ("v=0\r\no=- 1 1 IN IP4 h\r\nm =video 3227 RTP/AVP 31\r\n", "is not type=value"),
])
def test_given_malformed_sdp_then_parsing_says_why(text: str, says: str) -> None:
    with pytest.raises(SdpError, match=says):
        SessionDescription.parse(text)


def test_given_our_offer_and_the_trunks_answer_then_the_uac_side_agrees_on_the_same_stream() -> None:
    offer = sdp.offer(address="192.0.2.10", port=20000, session_id=1)
    answer = SessionDescription.parse(
        "v=0\no=trunk 5 5 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n"
        "m=audio 30000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\na=ptime:30\na=recvonly\n"
    )

    assert sdp.accept_answer(offer, answer) == Negotiated(PCMU, 101, "198.51.100.7", 30000, "sendonly", 30)


@pytest.mark.parametrize(("media", "says"), [
    ("m=audio 0 RTP/AVP 8\r\n", "rejected the audio stream"),
    ("m=audio 30000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n", "picked G729/8000, which we never offered"),
    ("m=audio 30000 RTP/AVP 101\r\n", "no audio codec"),
    ("m=audio 30000 RTP/AVP 8\r\nm=video 0 RTP/AVP 31\r\n", "2 media lines, our offer had 1"),
])
def test_given_a_bad_answer_then_the_uac_side_says_why(media: str, says: str) -> None:
    offer = sdp.offer(address="192.0.2.10", port=20000, session_id=1)

    with pytest.raises(SdpError, match=says):
        sdp.accept_answer(offer, SessionDescription.parse(_offer_text(media)))


def test_given_an_answer_without_telephone_event_then_none_is_negotiated() -> None:
    offer = sdp.offer(address="192.0.2.10", port=20000, session_id=1)

    negotiated = sdp.accept_answer(offer, SessionDescription.parse(_offer_text("m=audio 30000 RTP/AVP 8\r\n")))

    assert (negotiated.codec, negotiated.telephone_event, negotiated.ptime) == (PCMA, None, 20)


def test_given_the_torture_sdp_bodies_then_they_parse_and_video_is_refused() -> None:
    message = parse((TORTURE / "wsinv.dat").read_bytes())
    offer = SessionDescription.parse(message.body)

    description, negotiated = sdp.answer(offer, address="192.0.2.10", port=20000, session_id=1)

    assert (offer.origin.username, offer.origin.session_id, offer.connection) == ("mhandley", 29739, "192.0.2.4")
    assert [m.kind for m in offer.media] == ["audio", "video"]
    assert (negotiated.codec, negotiated.remote_address, negotiated.remote_port) == (PCMU, "192.0.2.4", 49217)
    assert [m.port for m in description.media] == [20000, 0]


def test_given_a_parsed_description_when_encoded_then_it_parses_back_the_same() -> None:
    text = _offer_text(AUDIO + "i=main audio\r\nc=IN IP4 203.0.113.5/127\r\nb=AS:64\r\na=sendrecv\r\n",
                       session="b=CT:128\r\na=tool:x\r\n")
    description = SessionDescription.parse(text)

    assert SessionDescription.parse(description.encode()) == description
    assert description.media[0].other == [("i", "main audio"), ("b", "AS:64")]


@given(
    port=st.integers(1, 65535), session_id=st.integers(0, 2**62), version=st.integers(0, 2**31),
    codecs=st.permutations([PCMA, PCMU]).map(tuple), event=st.one_of(st.none(), st.integers(96, 127)),
    direction=st.sampled_from(sdp.DIRECTIONS),
)
def test_given_any_offer_when_answered_and_accepted_then_both_sides_agree(
    port: int, session_id: int, version: int, codecs: tuple[Codec, ...], event: int | None, direction: str
) -> None:
    offer = sdp.offer(address="192.0.2.10", port=port, session_id=session_id, version=version, codecs=codecs,
                      telephone_event=event, direction=direction)
    assert SessionDescription.parse(offer.encode()) == offer

    description, theirs = sdp.answer(SessionDescription.parse(offer.encode()), address="198.51.100.7", port=30000,
                                     session_id=9)
    ours = sdp.accept_answer(offer, SessionDescription.parse(description.encode()))

    assert ours.codec == theirs.codec == codecs[0]
    assert ours.telephone_event == theirs.telephone_event == event
    assert (ours.remote_address, ours.remote_port, theirs.remote_port) == ("198.51.100.7", 30000, port)
    assert ours.direction == direction
