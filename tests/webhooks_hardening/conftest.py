from __future__ import annotations

import datetime as dt

import httpx
import pytest
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from tests.webhooks.conftest import PUBLIC, TWILIO_TOKEN
from tests.clocks import DrivenClock

SID = "CA" + "0" * 31 + "1"


@pytest.fixture
def settings(settings):
    """The app under test is reachable at a public URL (behind a proxy) and knows Twilio's token."""
    return settings.model_copy(update={"twilio_auth_token": SecretStr(TWILIO_TOKEN), "public_base_url": PUBLIC})




@pytest.fixture
def clock(app) -> DrivenClock:
    """The service's clock, set to a whole minute and moved only by the test."""
    driven = DrivenClock(dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone.utc))
    app.state.container.use(clock=driven)
    return driven


@pytest.fixture
def source(app):
    """A client of the app seen from a given address: ``async with source("203.0.113.7") as api``."""
    def open_from(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                                 base_url="http://dialer.test")
    return open_from


def signed(path: str, params: dict[str, str], *, token: str = TWILIO_TOKEN) -> dict[str, str]:
    """The ``X-Twilio-Signature`` header Twilio would send for ``params`` posted to ``path``."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(PUBLIC + path, params)}


def status_params(**extra: str) -> dict[str, str]:
    return {"CallSid": SID, "CallStatus": "ringing", "SequenceNumber": "0", "AccountSid": "AC" + "0" * 32, **extra}
