"""Digest authentication against the RFC 2617 and RFC 7616 worked examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.telephony.sip.digest import (
    Challenge,
    DigestError,
    authorization,
    check,
    ha1,
    header_name,
    parse_params,
    pick,
)

# RFC 2617 §3.5
RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", '
    'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)

# RFC 7616 §3.9.1
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def _rfc7616_challenge(algorithm: str) -> str:
    return (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )


def test_given_the_rfc_2617_challenge_then_every_field_is_read() -> None:
    challenge = Challenge.parse(RFC2617_CHALLENGE)

    assert challenge == Challenge(
        realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm="MD5", qop=["auth", "auth-int"], stale=False,
    )
    assert header_name(challenge) == "Authorization"


def test_given_the_rfc_2617_example_when_answering_then_the_response_matches_the_rfc() -> None:
    challenge = Challenge.parse(RFC2617_CHALLENGE)

    value = authorization(challenge, method="GET", uri="/dir/index.html", username="Mufasa",
                          password="Circle Of Life", cnonce="0a4f113b")
    params = parse_params(value)

    assert params["response"] == "6629fae49393a05397450978507c4ef1"
    assert (params["qop"], params["nc"], params["cnonce"]) == ("auth", "00000001", "0a4f113b")
    assert params["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"
    assert 'qop=auth,' in value and 'nc=00000001' in value  # qop and nc are unquoted (RFC 2617 §3.2.2)


def test_given_the_rfc_2617_authorization_then_check_accepts_the_password_and_its_ha1() -> None:
    stored = ha1("Mufasa", "testrealm@host.com", "Circle Of Life")

    assert check(RFC2617_AUTHORIZATION, method="GET", password="Circle Of Life")
    assert check(RFC2617_AUTHORIZATION, method="GET", ha1_hex=stored)
    assert not check(RFC2617_AUTHORIZATION, method="GET", password="Circle of Life")
    assert not check(RFC2617_AUTHORIZATION, method="POST", password="Circle Of Life")


@pytest.mark.parametrize(("algorithm", "response"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_given_the_rfc_7616_examples_when_answering_then_the_response_matches_the_rfc(
    algorithm: str, response: str
) -> None:
    challenge = Challenge.parse(_rfc7616_challenge(algorithm), proxy=True)

    value = authorization(challenge, method="GET", uri="/dir/index.html", username="Mufasa",
                          password="Circle of Life", cnonce=RFC7616_CNONCE)

    assert parse_params(value)["response"] == response
    assert f"algorithm={algorithm}" in value
    assert header_name(challenge) == "Proxy-Authorization"
    assert check(value, method="GET", password="Circle of Life")


def test_given_a_server_offering_sha256_then_md5_then_pick_takes_the_first_it_can_answer() -> None:
    offered = ['Basic realm="x"', 'Digest realm="r", nonce="n", algorithm=SHA-999', _rfc7616_challenge("SHA-256"),
               _rfc7616_challenge("MD5")]

    assert pick(offered).algorithm == "SHA-256"
    with pytest.raises(DigestError, match="unsupported Digest algorithm 'SHA-999'"):
        pick(offered[:2])


@pytest.mark.parametrize(("value", "says"), [
    ('Basic realm="WallyWorld"', "not a Digest header"),
    ('Digest nonce="abc"', "without realm"),
    ('Digest realm="r"', "without nonce"),
    ('Digest realm="r", nonce="n", algorithm=SHA-1', "unsupported Digest algorithm"),
    ('Digest realm="r" nonce="n"', "malformed Digest parameters"),
    ('Digest realm="unterminated, nonce="n"', "malformed Digest parameters"),
])
def test_given_a_bad_challenge_then_parsing_says_why(value: str, says: str) -> None:
    with pytest.raises(DigestError, match=says):
        Challenge.parse(value)


def test_given_a_challenge_with_odd_spacing_and_case_then_it_is_read() -> None:
    challenge = Challenge.parse('digest  REALM = "a \\"quoted\\" realm" ,nonce=abc123 , Stale=TRUE,algorithm=md5-SESS')

    assert (challenge.realm, challenge.nonce, challenge.stale, challenge.algorithm) == (
        'a "quoted" realm', "abc123", True, "MD5-sess")
    assert challenge.qop == []


def test_given_a_challenge_without_qop_then_the_rfc_2069_response_is_used() -> None:
    challenge = Challenge.parse('Digest realm="sip.example.net", nonce="ea9c8e88df84f1cec4341ae6cbe5a359"')

    value = authorization(challenge, method="REGISTER", uri="sip:sip.example.net", username="bob", password="zanzibar")
    params = parse_params(value)

    assert "qop" not in params and "cnonce" not in params and "nc" not in params
    assert check(value, method="REGISTER", password="zanzibar")


def test_given_only_auth_int_offered_then_the_body_is_covered() -> None:
    challenge = Challenge.parse('Digest realm="r", nonce="n", qop="auth-int"')

    value = authorization(challenge, method="INVITE", uri="sip:b@r", username="u", password="p", body=b"v=0\r\n")

    assert parse_params(value)["qop"] == "auth-int"
    assert check(value, method="INVITE", password="p", body=b"v=0\r\n")
    assert not check(value, method="INVITE", password="p", body=b"v=1\r\n")


def test_given_only_an_unknown_qop_then_answering_fails() -> None:
    with pytest.raises(DigestError, match="unknown qop"):
        authorization(Challenge.parse('Digest realm="r", nonce="n", qop="auth-conf"'), method="INVITE",
                      uri="sip:b@r", username="u", password="p")


def test_given_malformed_credentials_then_check_says_no() -> None:
    assert not check('Basic dXNlcjpwYXNz', method="GET", password="p")
    assert not check('Digest username="u", realm="r", nonce="n", uri="/"', method="GET", password="p")
    assert not check('Digest username="u", realm="r", nonce="n", uri="/", response="x", qop=auth', method="GET",
                     password="p")
    with pytest.raises(ValueError):
        check(RFC2617_AUTHORIZATION, method="GET")


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)


@given(
    algorithm=st.sampled_from(["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"]),
    qop=st.sampled_from(["", "auth", "auth-int", "auth,auth-int"]),
    username=_text.filter(bool), realm=_text, password=_text, body=st.binary(max_size=64),
    nc=st.integers(1, 2**32 - 1), stale=st.booleans(),
)
def test_given_any_challenge_when_answered_then_check_accepts_only_the_right_password(
    algorithm: str, qop: str, username: str, realm: str, password: str, body: bytes, nc: int, stale: bool
) -> None:
    challenge = Challenge(realm=realm, nonce="n0nce", opaque="op", algorithm=algorithm,
                          qop=[q for q in qop.split(",") if q], stale=stale)

    value = authorization(challenge, method="INVITE", uri="sip:+15551234567@trunk.example.net", username=username,
                          password=password, body=body, nc=nc)

    assert parse_params(value)["username"] == username
    assert check(value, method="INVITE", password=password, body=body)
    assert check(value, method="INVITE", ha1_hex=ha1(username, realm, password, algorithm), body=body)
    assert not check(value, method="INVITE", password=password + "x", body=body)


def test_given_a_challenge_built_by_hand_with_a_lower_case_algorithm_then_the_answer_names_it_canonically() -> None:
    challenge = Challenge(realm="r", nonce="n", algorithm="sha-256-SESS", qop=["auth"], proxy=True)

    value = authorization(challenge, method="BYE", uri="sip:b@r", username="u", password="p")

    assert "algorithm=SHA-256-sess" in value
    assert check(value, method="BYE", password="p")
