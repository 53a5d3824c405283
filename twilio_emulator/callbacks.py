"""Signed webhooks: status, conference and recording callbacks, and TwiML fetches.

Every request carries ``X-Twilio-Signature`` (HMAC-SHA1 over the URL and the sorted POST
parameters, keyed with the account's auth token — the SDK's ``RequestValidator`` computes it)
and ``I-Twilio-Idempotency-Token`` (the same on a repeated delivery). Callbacks of one stream
(one call's status events, one conference's events) go out one after the other, in order —
unless the scenario asks for duplicates or for shuffled (out-of-order) delivery.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from twilio.request_validator import RequestValidator

log = logging.getLogger("twilio_emulator.callbacks")


@dataclass
class Delivery:
    kind: str  # status | conference | recording | twiml | action
    stream: str
    resource_sid: str
    url: str  # the URL requested (for GET: with the parameters in the query)
    method: str
    params: dict[str, str]
    signature: str
    idempotency_token: str
    attempt: int = 1
    status_code: int | None = None
    error: str | None = None
    at: datetime | None = None


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


class CallbackPoster:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_for: Callable[[str], str],
        duplicate: Callable[[], bool],
        shuffle: Callable[[], bool],
        seed: int = 0,
    ) -> None:
        self._http = http
        self._token_for = token_for
        self._duplicate = duplicate
        self._shuffle = shuffle
        self._rng = random.Random(seed)
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, list[Delivery]] = {}
        self.deliveries: list[Delivery] = []

    def prepare(self, *, kind: str, stream: str, resource_sid: str, account_sid: str,
                url: str, params: dict[str, str], method: str = "POST") -> Delivery:
        method = (method or "POST").upper()
        target = _with_query(url, params) if method == "GET" else url
        signature = sign(self._token_for(account_sid), target, {} if method == "GET" else params)
        return Delivery(kind, stream, resource_sid, target, method, dict(params), signature, str(uuid.uuid4()))

    async def request(self, delivery: Delivery) -> httpx.Response:
        """Send one signed request now and return the answer (TwiML fetches, action URLs)."""
        headers = {
            "X-Twilio-Signature": delivery.signature,
            "I-Twilio-Idempotency-Token": delivery.idempotency_token,
            "User-Agent": "TwilioProxy/1.1",
        }
        delivery.at = datetime.now(UTC)
        self.deliveries.append(delivery)
        try:
            if delivery.method == "GET":
                response = await self._http.get(delivery.url, headers=headers)
            else:
                response = await self._http.post(delivery.url, data=delivery.params, headers=headers)
        except httpx.HTTPError as exc:
            delivery.error = repr(exc)
            raise
        delivery.status_code = response.status_code
        return response

    def send(self, delivery: Delivery) -> None:
        """Queue a callback on its stream (held back when shuffling until the stream closes)."""
        if self._shuffle():
            self._held.setdefault(delivery.stream, []).append(delivery)
            return
        self._dispatch(delivery.stream, [delivery])

    def close_stream(self, stream: str) -> None:
        """The stream's last event is queued: release what shuffling held back, out of order."""
        held = self._held.pop(stream, [])
        if len(held) > 1:
            order = held[:]
            self._rng.shuffle(order)
            if order == held:
                order = held[1:] + held[:1]
            held = order
        if held:
            self._dispatch(stream, held)

    def redeliver(self, resource_sid: str, *, shuffle: bool = False) -> int:
        """Send again every callback already delivered for a resource (same signature and token)."""
        first = [d for d in self.deliveries if d.resource_sid == resource_sid and d.attempt == 1
                 and d.kind in {"status", "conference", "recording"}]
        again = [Delivery(**{**d.__dict__, "attempt": d.attempt + 1, "status_code": None, "error": None})
                 for d in first]
        if shuffle and len(again) > 1:
            again = again[::-1]
        if again:
            self._dispatch(f"redeliver:{resource_sid}", again, duplicate=False)
        return len(again)

    def _dispatch(self, stream: str, batch: list[Delivery], *, duplicate: bool | None = None) -> None:
        if duplicate if duplicate is not None else self._duplicate():
            batch = [x for d in batch for x in (d, Delivery(**{**d.__dict__, "attempt": 2}))]
        previous = self._tails.get(stream)
        if previous is not None and previous.done():
            previous = None
        self._tails[stream] = asyncio.get_running_loop().create_task(self._run(previous, batch))

    async def _run(self, previous: asyncio.Task[None] | None, batch: list[Delivery]) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        for delivery in batch:
            try:
                await self.request(delivery)
            except httpx.HTTPError:
                log.warning("callback to %s failed: %s", delivery.url, delivery.error)

    async def drain(self) -> None:
        """Release everything held back and wait until every queued callback went out."""
        for stream in list(self._held):
            self.close_stream(stream)
        while pending := [t for t in self._tails.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
