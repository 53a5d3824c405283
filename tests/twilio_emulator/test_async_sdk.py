"""The SDK's asyncio client (aiohttp) against the emulator."""

from __future__ import annotations

import asyncio

from twilio.base.exceptions import TwilioRestException

from twilio_emulator.sdk_client import async_emulator_client
from twilio_emulator.testing import has_status

from .conftest import ALL_CALL_EVENTS

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"


async def test_given_async_client_then_call_is_created_followed_and_hung_up(twilio_emulator_factory,
                                                                            twilio_receiver):
    em = twilio_emulator_factory({"default": {"ring_seconds": 1, "hangup_first": "caller"}})
    twilio_receiver.twiml["/voice"] = "<Response><Pause length='600'/></Response>"
    client = async_emulator_client(em.url, em.account_sid, em.auth_token)
    try:
        call = await client.calls.create_async(
            to=DEBTOR, from_=AGENCY, url=twilio_receiver.url_for("/voice"),
            status_callback=twilio_receiver.url_for("/status"), status_callback_event=ALL_CALL_EVENTS)
        await twilio_receiver.await_for("/status", has_status("in-progress"))

        ended = await client.calls(call.sid).update_async(status="completed")

        assert ended.status == "completed"
        got = await twilio_receiver.await_for("/status", has_status("completed"))
        assert [r.params["CallStatus"] for r in got] == ["initiated", "ringing", "in-progress", "completed"]
        assert [c.sid for c in await client.calls.list_async(to=DEBTOR)] == [call.sid]
    finally:
        await client.http_client.close()


async def test_given_async_burst_over_the_limit_then_some_get_429(twilio_emulator_factory):
    em = twilio_emulator_factory(max_concurrent_requests=1, rest_latency_seconds=0.2)
    client = async_emulator_client(em.url, em.account_sid, em.auth_token)
    try:
        outcomes = await asyncio.gather(
            *(client.calls.create_async(to=DEBTOR, from_=AGENCY, twiml="<Response/>") for _ in range(4)),
            return_exceptions=True)
    finally:
        await client.http_client.close()
    refused = [o for o in outcomes if isinstance(o, TwilioRestException)]
    assert refused and all(e.status == 429 and e.code == 20429 for e in refused)
    assert len(refused) < 4
