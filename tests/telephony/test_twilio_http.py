"""The HTTP client's URL rewrite and lifecycle, and the one mapping of failures to CarrierError."""

from __future__ import annotations

import json

import aiohttp
import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from dialer.telephony import CarrierError, CarrierRateLimited, CarrierRejected, CarrierUnavailable
from dialer.telephony.twilio_http import TwilioApiHttpClient, rewrite_url, to_carrier_error

EMULATOR = "http://127.0.0.1:8099"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json", f"{EMULATOR}/2010-04-01/Accounts/AC1/Calls.json"),
    ("https://api.sydney.au1.twilio.com/2010-04-01/Calls.json", f"{EMULATOR}/2010-04-01/Calls.json"),
    ("https://example.com/2010-04-01/Calls.json", "https://example.com/2010-04-01/Calls.json"),
    ("https://evil-twilio.com/x", "https://evil-twilio.com/x"),
])
def test_given_api_url_then_only_twilios_api_host_is_rewritten(url, expected):
    assert rewrite_url(url, EMULATOR) == expected


def test_given_base_with_a_path_then_it_prefixes_the_api_path():
    assert rewrite_url("https://api.twilio.com/2010-04-01/X.json", "http://gw:8080/twilio/") == \
        "http://gw:8080/twilio/2010-04-01/X.json"


def test_given_no_running_loop_then_the_client_refuses_to_be_built():
    with pytest.raises(RuntimeError):
        TwilioApiHttpClient(api_base_url=EMULATOR)


async def test_given_a_loop_then_the_client_has_a_bounded_session():
    client = TwilioApiHttpClient(api_base_url=EMULATOR, timeout_s=3.0)
    try:
        assert client.timeout == 3.0 and client.session.timeout.total == 3.0
    finally:
        await client.close()


def rest(status: int, code: int | None = None) -> TwilioRestException:
    return TwilioRestException(status, "https://api.twilio.com/x", "msg", code, "POST")


@pytest.mark.parametrize(("exc", "kind", "uncertain"), [
    (rest(429, 20429), CarrierRateLimited, None),
    (rest(503, 20503), CarrierUnavailable, True),
    (rest(400, 21211), CarrierRejected, None),
    (rest(401, 20003), CarrierRejected, None),
    (aiohttp.ServerDisconnectedError(), CarrierUnavailable, True),
    (aiohttp.ClientPayloadError("cut"), CarrierUnavailable, True),
    (TimeoutError(), CarrierUnavailable, True),
    (httpx.ReadTimeout("slow"), CarrierUnavailable, True),
    (httpx.ConnectError("refused"), CarrierUnavailable, False),
    (json.JSONDecodeError("bad", "{", 0), CarrierUnavailable, True),
    (TwilioException("odd"), CarrierError, None),
])
def test_given_a_failure_during_a_write_then_it_maps_to_one_carrier_error(exc, kind, uncertain):
    error = to_carrier_error(exc, operation="create call", writes=True)

    assert type(error) is kind and "Twilio create call" in error.detail
    if uncertain is not None:
        assert error.uncertain is uncertain


def test_given_failure_of_a_read_then_not_uncertain_and_bugs_are_not_swallowed():
    assert to_carrier_error(TimeoutError(), operation="fetch call", writes=False).uncertain is False
    assert to_carrier_error(KeyError("bug"), operation="fetch call", writes=False) is None
    assert to_carrier_error(rest(404, 20404), operation="fetch call", writes=False).carrier_code == 20404
