"""The worker's default HTTP client (``AiohttpPoster``) against real servers on loopback: the test
receiver (signatures checked by ``standardwebhooks``) and, for what it cannot answer (a redirect, a
long body), a small aiohttp server of this file's own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from dialer.kit.clock import system_clock
from dialer.kit.ports import LOOPBACK
from dialer.outbox.http import AiohttpPoster
from dialer.outbox.models import DeliveryStatus
from dialer.outbox.signing import Signer, new_secret
from dialer.outbox.worker import DeliveryWorker
from tests.outbox.conftest import attempts_of, deliveries, make_endpoint, make_event
from tests.outbox.receiver import Answer

BODY = json.dumps({"id": "msg_1", "type": "call.completed", "data": {"call": {"id": 1}}}).encode()


@pytest.fixture
async def poster() -> AsyncIterator[AiohttpPoster]:
    made = AiohttpPoster(timeout_s=2.0)
    yield made
    await made.aclose()


def signed(secret: str, msg_id: str = "msg_1") -> dict[str, str]:
    return {"content-type": "application/json",
            **Signer(secret).headers(msg_id=msg_id, body=BODY, at=system_clock())}


@pytest.fixture
async def server() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """Serve an aiohttp app on a free loopback port: ``base = await server(app)``."""
    runners: list[web.AppRunner] = []

    async def serve(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://{LOOPBACK}:{port}"

    yield serve
    for runner in runners:
        await runner.cleanup()


async def test_given_a_signed_post_then_the_receiver_verifies_it_and_its_status_comes_back(receivers, poster):
    secret = new_secret()
    receiver = await receivers({"holder": secret})

    answer = await poster.post(receiver.url, content=BODY, headers=signed(secret))

    assert answer.status_code == 204
    [got] = receiver.received
    assert got.verified_by == {"holder"} and got.webhook_id == "msg_1" and got.body == json.loads(BODY)


async def test_given_a_429_with_retry_after_then_the_header_is_read_in_any_case(receivers, poster):
    secret = new_secret()
    receiver = await receivers({"holder": secret})
    receiver.script(Answer(429, retry_after="120"), Answer(503, retry_after="Wed, 21 Oct 2026 07:28:00 GMT"))

    first = await poster.post(receiver.url, content=BODY, headers=signed(secret))
    second = await poster.post(receiver.url, content=BODY, headers=signed(secret))

    assert (first.status_code, first.headers.get("retry-after"), first.headers["Retry-After"]) == (429, "120", "120")
    assert (second.status_code, second.headers.get("retry-after")) == (503, "Wed, 21 Oct 2026 07:28:00 GMT")
    assert [r.status for r in receiver.received] == [429, 503]


async def test_given_an_answer_later_than_the_timeout_then_the_post_raises_timeout(receivers):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, default=Answer(delay_s=2.0))
    poster = AiohttpPoster(timeout_s=0.2)
    try:
        with pytest.raises(TimeoutError):
            await poster.post(receiver.url, content=BODY, headers=signed(secret))
    finally:
        await poster.aclose()
    assert len(receiver.received) == 1  # it got there; no answer in time


async def test_given_nothing_listening_then_the_post_raises_a_connection_error(receivers, poster):
    receiver = await receivers({"holder": new_secret()})
    await receiver.stop()

    with pytest.raises(aiohttp.ClientConnectionError):
        await poster.post(receiver.url, content=BODY, headers=signed(new_secret()))


async def test_given_a_redirect_then_it_is_the_answer_and_is_not_followed(receivers, server, poster):
    secret = new_secret()
    receiver = await receivers({"holder": secret})

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(receiver.url)

    app = web.Application()
    app.router.add_post("/hooks", moved)
    base = await server(app)

    answer = await poster.post(f"{base}/hooks", content=BODY, headers=signed(secret))

    assert (answer.status_code, answer.headers["location"]) == (307, receiver.url)
    assert receiver.received == []


async def test_given_answers_with_bodies_then_short_and_long_ones_are_read_and_the_next_post_still_answers(
        server):
    sizes: list[int] = []

    async def talkative(request: web.Request) -> web.Response:
        sizes.append(len(await request.read()))
        size = int(request.query["size"])
        return web.Response(status=200 if size else 202, body=b"x" * size)

    app = web.Application()
    app.router.add_post("/hooks", talkative)
    base = await server(app)
    poster = AiohttpPoster(timeout_s=2.0, max_body=1024)
    try:
        statuses = [(await poster.post(f"{base}/hooks?size={size}", content=BODY, headers={})).status_code
                    for size in (100, 5_000_000, 0)]
    finally:
        await poster.aclose()

    assert statuses == [200, 200, 202]
    assert sizes == [len(BODY)] * 3


async def test_given_a_closed_poster_then_a_later_post_opens_a_new_session(receivers):
    secret = new_secret()
    receiver = await receivers({"holder": secret})
    poster = AiohttpPoster(timeout_s=2.0)

    await poster.post(receiver.url, content=BODY, headers=signed(secret))
    await poster.aclose()
    again = await poster.post(receiver.url, content=BODY, headers=signed(secret))
    await poster.aclose()

    assert again.status_code == 204 and len(receiver.delivered()) == 1 and len(receiver.received) == 2


async def test_given_no_client_given_then_the_worker_delivers_with_aiohttp_and_closes_it(sessions, receivers):
    secret = new_secret()
    receiver = await receivers({"holder": secret})
    now = system_clock().replace(microsecond=0)
    async with sessions() as s:
        await make_endpoint(s, url=receiver.url, secret=secret)
        event = await make_event(s, at=now)
        await s.commit()
    worker = DeliveryWorker(sessions=sessions, clock=lambda: now, timeout_s=2.0, rand=lambda: 0.0)

    figures = await worker.run_once()
    default = worker.http
    assert isinstance(default, AiohttpPoster) and not default.closed
    await worker.aclose()

    assert default.closed
    assert figures["delivered"] == 1 and receiver.delivered() == {event.event_id: 1}
    [delivery] = await deliveries(sessions)
    [attempt] = await attempts_of(sessions, delivery.id)
    assert (delivery.status, attempt.status_code, attempt.error) == (DeliveryStatus.DELIVERED, 204, None)
    assert delivery.delivered_at == attempt.attempted_at == now
