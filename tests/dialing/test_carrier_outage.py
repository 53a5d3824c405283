"""A carrier outage is not a seat's fault: agents stay ready (waiting), the engine stops dialing,
probes the carrier with back-off, and resumes by itself when it answers again."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from dialer.agents.models import AgentSession, AgentState
from dialer.calls.models import Call
from dialer.dialing.carrier_health import PROBE_FIRST_S, CarrierHealth
from dialer.dialing.engine import ProgressiveEngine
from dialer.telephony.carrier import CarrierRejected, CarrierUnavailable, PlaceCall, PlacedCall
from dialer.telephony.fake import FakeCarrier
from tests.dialing.test_engine import _container, _floor


class _Outage(FakeCarrier):
    """Refuses every connection until ``back`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.back = False

    async def place_call(self, request: PlaceCall) -> PlacedCall:
        if not self.back:
            self.requests.append(("place_call", {"request": request}))
            raise CarrierUnavailable("connection refused", uncertain=False)
        return await super().place_call(request)

    async def get_call(self, carrier_call_id: str):
        self.requests.append(("get_call", {"carrier_call_id": carrier_call_id}))
        if not self.back:
            raise CarrierUnavailable("connection refused", uncertain=False)
        return await super().get_call(carrier_call_id)


def test_given_refusals_or_rate_limits_then_the_carrier_is_still_up_and_no_answer_makes_it_down() -> None:
    clock = [100.0]
    health = CarrierHealth(monotonic=lambda: clock[0])
    health.failed(CarrierRejected("Invalid 'To'", carrier_code=21211, http_status=400))
    assert health.up
    health.failed(CarrierUnavailable("timed out"))
    assert not health.up and health.view().state == "down" and "timed out" in health.view().last_error
    assert not health.probe_due()
    clock[0] += PROBE_FIRST_S
    assert health.probe_due()


async def test_given_the_probe_finding_it_still_down_then_the_next_one_waits_twice_as_long() -> None:
    clock = [0.0]
    health, carrier = CarrierHealth(monotonic=lambda: clock[0]), _Outage()
    health.failed(CarrierUnavailable("refused"))
    clock[0] = PROBE_FIRST_S
    assert not await health.probe(carrier)
    clock[0] += PROBE_FIRST_S * 2 - 0.01
    assert not health.probe_due()
    clock[0] += 0.02
    assert health.probe_due()
    carrier.back = True
    assert await health.probe(carrier) and health.up  # a 404 for the probe's made-up leg is an answer


async def test_given_a_carrier_outage_then_agents_wait_ready_and_the_engine_resumes_when_it_answers(
        session, db_url, settings) -> None:
    _, made, _ = await _floor(session, agents=3, cases=9)
    container = _container(db_url, settings)
    outage = _Outage()
    container.use(carrier=outage)
    engine, stop = ProgressiveEngine(container.dialer, interval_s=0.05), asyncio.Event()
    runner = asyncio.create_task(engine.run(stop))
    try:
        await _until(lambda: not container.actions.health.up, "the outage noticed")
        await _until(lambda: outage.requested("get_call"), "the carrier probed", timeout=PROBE_FIRST_S + 3)
        tried = len(outage.requested("place_call"))
        assert 1 <= tried <= 3, "dialing paused at the first failures, not once per agent per sweep"
        async with container.sessions() as s:
            states = (await s.execute(select(AgentSession.state, AgentSession.state_reason))).all()
        assert {state for state, _ in states} == {AgentState.READY}, states  # waiting, none parked

        outage.back = True
        await _until(lambda: container.actions.health.up, "the probe finding the carrier back", timeout=40)

        async def placed() -> list[Call]:
            async with container.sessions() as s:
                return list((await s.execute(select(Call).where(Call.agent_leg_call_id.is_not(None)))).scalars())

        deadline = asyncio.get_running_loop().time() + 10
        while len(await placed()) < 3:
            assert asyncio.get_running_loop().time() < deadline, "every ready agent dialed once the carrier answers"
            await asyncio.sleep(0.05)
        assert sorted(c.agent_id for c in await placed()) == sorted(agent.id for agent, _ in made)
    finally:
        stop.set()
        await runner
        await container.engine.dispose()


async def _until(probe, what: str, *, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not probe():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
