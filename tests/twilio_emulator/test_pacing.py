"""Twilio's limits and outages: CPS queueing (queue_time), 429/20429 past the concurrent-request
limit, 503 and dropped connections when the carrier is down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from twilio_emulator import Scenario

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"


def test_given_calls_faster_than_cps_then_they_queue_with_queue_time(twilio_emulator_factory, client_for):
    em = twilio_emulator_factory({"default": {"behaviour": "busy"}}, speed=2, cps=1)
    api = client_for(em)

    calls = [api.calls.create(to=DEBTOR, from_=AGENCY, twiml="<Response/>") for _ in range(3)]

    queue = [int(c.queue_time) for c in calls]
    assert queue[0] == 0
    assert 600 <= queue[1] <= 1000 and 1600 <= queue[2] <= 2000
    assert api.calls(calls[2].sid).fetch().status == "queued"


def test_given_more_concurrent_requests_than_allowed_then_429_20429(twilio_emulator_factory, client_for):
    em = twilio_emulator_factory(max_concurrent_requests=2, rest_latency_seconds=0.3)
    api = client_for(em)
    sid = api.calls.create(to=DEBTOR, from_=AGENCY, twiml="<Response/>").sid

    def fetch(_: int) -> object:
        try:
            return client_for(em).calls(sid).fetch().sid
        except TwilioRestException as exc:
            return exc

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(fetch, range(6)))

    refused = [o for o in outcomes if isinstance(o, TwilioRestException)]
    assert 1 <= len(refused) <= 4 and outcomes.count(sid) >= 2
    assert {(e.status, e.code) for e in refused} == {(429, 20429)}


def test_given_carrier_down_then_503_and_back_when_it_recovers(twilio_emulator_factory, client_for):
    em = twilio_emulator_factory(fail_rest=True)
    api = client_for(em)

    with pytest.raises(TwilioRestException) as err:
        api.calls.create(to=DEBTOR, from_=AGENCY, twiml="<Response/>")
    assert err.value.status == 503 and err.value.code == 20503
    assert em.emulator.calls == {}

    em.set_scenario(Scenario(speed=100))
    assert api.calls.create(to=DEBTOR, from_=AGENCY, twiml="<Response/>").status == "queued"


def test_given_connection_dropped_then_sdk_raises_a_transport_error(twilio_emulator_factory, client_for):
    em = twilio_emulator_factory(fail_rest="disconnect")
    with pytest.raises(requests.exceptions.RequestException):
        client_for(em).calls.create(to=DEBTOR, from_=AGENCY, twiml="<Response/>")
    assert em.emulator.calls == {}
