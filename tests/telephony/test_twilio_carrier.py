"""The Twilio adapter's own behaviour against the emulator: pacing, 429 retries, outages that
leave a create uncertain (and never re-sent), refusals with Twilio's codes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from dialer.telephony import CarrierRateLimited, CarrierRejected, CarrierUnavailable, PlaceCall, SupervisorMode
from dialer.telephony.twilio_carrier import TwilioCarrier
from twilio_emulator import EmulatorServer

from .conftest import AGENCY, DEBTOR, SCENARIO, twilio_carrier_for

CALLS = "/Calls.json"


def request(to: str = DEBTOR) -> PlaceCall:
    return PlaceCall(call_ref="call-9", to_e164=to, from_e164=AGENCY, twiml_url="http://127.0.0.1:9/voice",
                     status_callback_url="http://127.0.0.1:9/status", record=False)


@pytest.fixture
async def carriers():
    """``make(server, **options)`` → a TwilioCarrier, closed at teardown."""
    made: list[TwilioCarrier] = []

    def make(server: EmulatorServer, **options) -> TwilioCarrier:
        made.append(twilio_carrier_for(server, **options))
        return made[-1]

    yield make
    for carrier in made:
        await carrier.aclose()


async def test_given_more_concurrent_requests_than_twilio_allows_then_429s_are_retried_until_all_succeed(
        logged_emulator, carriers):
    server, log = logged_emulator(max_concurrent_requests=1, rest_latency_seconds=0.1)
    carrier = carriers(server, max_concurrent_requests=4, max_429_retries=100)

    placed = await asyncio.gather(*(carrier.place_call(request()) for _ in range(4)))

    assert len({p.carrier_call_id for p in placed}) == 4 == len(server.emulator.calls)
    statuses = [s.status for s in log.of("POST", CALLS)]
    assert statuses.count(201) == 4 and statuses.count(429) >= 1  # refused, so safely sent again


async def test_given_limiter_at_twilios_limit_then_no_request_is_refused(logged_emulator, carriers):
    server, log = logged_emulator(max_concurrent_requests=1, rest_latency_seconds=0.05)
    carrier = carriers(server, max_concurrent_requests=1)
    placed = await carrier.place_call(request())

    await asyncio.gather(*(carrier.get_call(placed.carrier_call_id) for _ in range(4)))

    assert [s.status for s in log.seen] == [201, 200, 200, 200, 200]
    assert carrier.requests.peak == 1


async def test_given_429_past_the_retries_then_rate_limited_and_no_call_exists(logged_emulator, carriers):
    server, log = logged_emulator(max_concurrent_requests=1, rest_latency_seconds=1.0)
    holder = carriers(server)
    busy = asyncio.create_task(holder.find_calls(DEBTOR, datetime.now(UTC)))  # holds Twilio's only slot
    await asyncio.sleep(0.2)

    with pytest.raises(CarrierRateLimited) as limited:
        await carriers(server, max_429_retries=2).place_call(request())

    assert limited.value.carrier_code == 20429 and limited.value.retryable
    assert "after 2 retries" in limited.value.detail
    assert [s.status for s in log.of("POST", CALLS)] == [429, 429, 429] and server.emulator.calls == {}
    await busy


async def test_given_429s_then_each_retry_waits_the_jittered_backoff_up_to_its_cap_and_is_logged(
        logged_emulator, carriers, caplog):
    server, log = logged_emulator(max_concurrent_requests=1, rest_latency_seconds=1.0)
    busy = asyncio.create_task(carriers(server).find_calls(DEBTOR, datetime.now(UTC)))  # holds the only slot
    await asyncio.sleep(0.2)
    waits: list[float] = []

    async def noted_sleep(seconds: float) -> None:  # noted, not waited: the retries come at once
        waits.append(seconds)

    carrier = carriers(server, max_429_retries=4, backoff_base_s=1.0, backoff_max_s=3.0, jitter=lambda: 0.5,
                       sleep=noted_sleep)
    with caplog.at_level("INFO", logger="dialer.telephony.twilio"), pytest.raises(CarrierRateLimited) as limited:
        await carrier.place_call(request())

    # ceilings 1, 2, 4 → 3 (the cap), 8 → 3; half of each always waited, the other half jittered
    assert waits == pytest.approx([0.75, 1.5, 2.25, 2.25])
    assert [s.status for s in log.of("POST", CALLS)] == [429] * 5 and "after 4 retries" in limited.value.detail
    assert [r.getMessage() for r in caplog.records if "429, retry" in r.getMessage()] == [
        "Twilio create call: 429, retry 1 in 0.75s", "Twilio create call: 429, retry 2 in 1.50s",
        "Twilio create call: 429, retry 3 in 2.25s", "Twilio create call: 429, retry 4 in 2.25s"]
    await busy


async def test_given_calls_per_second_then_the_bucket_spaces_the_creates_one_slot_apart(
        logged_emulator, carriers):
    # What the bucket decides (its waits) is asserted, not when the creates reached the emulator:
    # on a loaded machine the event loop can bunch requests the bucket spaced, so the emulator's
    # queue_time of the paced creates is a timing, which tests do not assert on.
    scenario = {"default": {"behaviour": "fail"}, "speed": 1, "cps": 25}
    server, log = logged_emulator(scenario)
    waits: list[float] = []

    async def noted_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    paced = carriers(server, calls_per_second=5, call_burst=1, sleep=noted_sleep)
    placed = await asyncio.gather(*(paced.place_call(request()) for _ in range(5)))

    assert waits == pytest.approx([0.2, 0.4, 0.6, 0.8], abs=0.05)  # one slot each, in arrival order
    assert len(placed) == 5 and len(log.of("POST", CALLS)) == 5

    unpaced_server, _ = logged_emulator(scenario)
    burst = carriers(unpaced_server, calls_per_second=1000, call_burst=5)
    queued = await asyncio.gather(*(burst.place_call(request()) for _ in range(5)))
    assert max(p.queue_time_ms for p in queued) >= 100  # the same burst unpaced: Twilio queues it


@pytest.mark.parametrize("failure", ["disconnect", "503"])
async def test_given_carrier_failing_during_create_then_unavailable_uncertain_and_never_sent_twice(
        logged_emulator, carriers, failure):
    server, log = logged_emulator(fail_rest=failure)

    with pytest.raises(CarrierUnavailable) as down:
        await carriers(server, max_429_retries=5).place_call(request())

    assert down.value.uncertain and down.value.retryable and down.value.status == 503
    assert len(log.of("POST", CALLS)) == 1
    if failure == "503":
        assert down.value.carrier_code == 20503


async def test_given_create_times_out_then_uncertain_and_reconciliation_finds_the_call(logged_emulator, carriers):
    server, log = logged_emulator(rest_latency_seconds=0.5)
    carrier = carriers(server, request_timeout_s=0.1)
    since = datetime.now(UTC)

    with pytest.raises(CarrierUnavailable) as timed_out:
        await carrier.place_call(request())

    assert timed_out.value.uncertain and "no answer in time" in timed_out.value.detail
    server.set_scenario(server.emulator.scenario.model_copy(update={"rest_latency_seconds": 0.0}))
    for _ in range(100):  # Twilio went on and placed it: the caller reconciles instead of re-sending
        if found := await carrier.find_calls(DEBTOR, since):
            break
        await asyncio.sleep(0.02)
    assert len(found) == 1 and len(log.of("POST", CALLS)) == 1


async def test_given_emulator_stopped_then_unavailable_but_certainly_not_sent(twilio_emulator_factory, carriers):
    server = twilio_emulator_factory()
    server.stop()

    with pytest.raises(CarrierUnavailable) as down:
        await carriers(server).place_call(request())

    assert not down.value.uncertain and "cannot connect" in down.value.detail


async def test_given_invalid_number_then_rejected_with_twilios_code(logged_emulator, carriers):
    server, log = logged_emulator()

    with pytest.raises(CarrierRejected) as refused:
        await carriers(server).place_call(request(to="12345"))

    assert refused.value.carrier_code == 21211 and refused.value.http_status == 400
    assert not refused.value.retryable and "12345" in refused.value.detail
    assert refused.value.body()["carrier_code"] == 21211 and len(log.of("POST", CALLS)) == 1


async def test_given_wrong_credentials_then_rejected_20003(twilio_emulator):
    carrier = TwilioCarrier(account_sid=twilio_emulator.account_sid, auth_token="wrong",
                            api_base_url=twilio_emulator.url)
    try:
        with pytest.raises(CarrierRejected) as refused:
            await carrier.place_call(request())
    finally:
        await carrier.aclose()
    assert refused.value.carrier_code == 20003 and refused.value.http_status == 401


async def test_given_recording_url_elsewhere_then_credentials_are_not_sent(logged_emulator, carriers):
    server, log = logged_emulator()
    carrier = carriers(server)

    with pytest.raises(CarrierRejected, match="refusing to send"):
        await carrier.fetch_recording("https://archive.example.com/2010-04-01/Recordings/RE1")
    with pytest.raises(CarrierRejected) as missing:
        await carrier.fetch_recording(f"{server.url}/2010-04-01/Accounts/{server.account_sid}/Recordings/RE0")

    assert missing.value.carrier_code == 20404 and len(log.seen) == 1


async def test_given_another_replica_then_it_finds_the_conference_by_name_to_switch_modes(
        twilio_emulator_factory, twilio_receiver, carriers):
    from .conftest import TwilioHarness

    harness = TwilioHarness(twilio_emulator_factory(SCENARIO), twilio_receiver)
    try:
        agent = await harness.agent_in_conference("room-1")
        supervisor = await harness.carrier.add_supervisor(
            "room-1", "client:supervisor-2", SupervisorMode.MONITOR, agent_call_id=agent, caller_id=AGENCY,
            status_callback_url=harness.url("/s"))
        await harness.in_room("room-1", supervisor)
        other = carriers(harness.server)

        await other.set_supervisor_mode("room-1", supervisor, SupervisorMode.BARGE, agent_call_id=agent)

        assert await harness.participant("room-1", supervisor) == (False, False, None)
        with pytest.raises(CarrierRejected) as missing:
            await other.set_supervisor_mode("no-such-room", supervisor, SupervisorMode.BARGE, agent_call_id=agent)
        assert missing.value.carrier_code == 20404
    finally:
        await harness.carrier.aclose()


async def test_given_closed_carrier_then_the_next_request_opens_a_new_session(twilio_emulator, carriers):
    carrier = carriers(twilio_emulator)
    placed = await carrier.place_call(request())
    await carrier.aclose()

    assert (await carrier.get_call(placed.carrier_call_id)).carrier_call_id == placed.carrier_call_id
    assert await carrier.find_calls(DEBTOR, datetime.now(UTC) - timedelta(minutes=1))


def test_given_no_credentials_then_refused_and_api_key_is_accepted():
    with pytest.raises(ValueError):
        TwilioCarrier(account_sid="AC1")
    assert TwilioCarrier(account_sid="AC1", api_key="SK1", api_secret="s")._username == "SK1"
