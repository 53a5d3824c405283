"""The SIP carrier's requests to our webhooks: TwiML fetches and status callbacks, signed.

They are signed exactly as Twilio signs its own (``X-Twilio-Signature``: HMAC-SHA1 over the URL
and the sorted form parameters, computed by the twilio SDK's ``RequestValidator``) with the SIP
carrier's callback secret, so the webhooks verify, store and apply them on the one path every
carrier event takes. Callbacks of one stream (a leg, a room) are delivered in order by one task;
a delivery that fails (the service restarting, a 5xx) is retried with back-off, then logged and
dropped — the reconciler settles what a lost callback would have told (``dialer.dialing.reconcile``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from twilio.request_validator import RequestValidator

log = logging.getLogger("dialer.telephony.sip")

SIGNATURE_HEADER = "X-Twilio-Signature"


class CallbackFailed(Exception):
    """A webhook answered 5xx or could not be reached."""


class Callbacks:
    """Signed POSTs to the service's webhooks (form-encoded, as Twilio sends them)."""

    def __init__(self, http: httpx.AsyncClient, *, secret: str, attempts: int = 6, max_wait_s: float = 8.0) -> None:
        self._http = http
        self._validator = RequestValidator(secret)
        self._attempts = attempts
        self._max_wait_s = max_wait_s
        self._tails: dict[str, asyncio.Task[None]] = {}

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        return str(self._validator.compute_signature(url, dict(params)))

    async def fetch(self, url: str, params: Mapping[str, str]) -> str:
        """POST for a TwiML document; raises ``CallbackFailed`` when there is none."""
        try:
            response = await self._post(url, params)
        except httpx.HTTPError as exc:
            raise CallbackFailed(f"{_path(url)} could not be reached: {exc!r}") from exc
        if response.status_code >= 400:
            raise CallbackFailed(f"{_path(url)} answered HTTP {response.status_code}")
        return response.text

    def send(self, stream: str, url: str, params: Mapping[str, str]) -> None:
        """Queue a callback behind the stream's earlier ones."""
        previous = self._tails.get(stream)
        if previous is not None and previous.done():
            previous = None
        tail = self._tails[stream] = asyncio.get_running_loop().create_task(
            self._deliver(previous, url, dict(params)), name=f"sip-callback-{stream}")
        tail.add_done_callback(lambda done: self._delivered(stream, done))

    def _delivered(self, stream: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(stream) is task:  # the stream's last callback: nothing queued behind it
            del self._tails[stream]

    def __len__(self) -> int:
        """Streams with a callback not delivered (or given up) yet."""
        return len(self._tails)

    async def drain(self) -> None:
        """Wait until every queued callback is delivered or given up (shutdown, tests)."""
        while tails := [t for t in self._tails.values() if not t.done()]:
            await asyncio.gather(*tails, return_exceptions=True)

    async def _deliver(self, previous: asyncio.Task[None] | None, url: str, params: dict[str, str]) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts), reraise=True,
                wait=wait_exponential(multiplier=0.2, max=self._max_wait_s),
                retry=retry_if_exception_type((httpx.HTTPError, CallbackFailed)),
            ):
                with attempt:
                    response = await self._post(url, params)
                    if response.status_code >= 500:
                        raise CallbackFailed(f"HTTP {response.status_code}")
                    if response.status_code >= 400:
                        log.warning("callback %s refused: HTTP %s %s", _path(url), response.status_code,
                                    response.text[:200])
        except (httpx.HTTPError, CallbackFailed) as exc:
            log.error("callback %s (%s) given up after %s attempts: %s", _path(url),
                      params.get("CallStatus") or params.get("StatusCallbackEvent") or params.get("RecordingStatus"),
                      self._attempts, exc)

    async def _post(self, url: str, params: Mapping[str, str]) -> httpx.Response:
        headers = {SIGNATURE_HEADER: self.sign(url, params), "User-Agent": "collections-dialer-sip/1"}
        return await self._http.post(url, data=dict(params), headers=headers)


def _path(url: str) -> str:
    """A URL for a log line (no query: it carries nothing secret, but keeps lines short)."""
    return url.split("?", 1)[0]
