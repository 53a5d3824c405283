"""The composition root builds the carrier from settings and closes it at shutdown."""

from __future__ import annotations

from pydantic import SecretStr

from dialer.app import create_app
from dialer.container import build_carrier
from dialer.telephony.carrier import Carrier
from dialer.telephony.twilio_carrier import TwilioCarrier


def test_given_no_twilio_account_then_no_carrier(settings):
    assert build_carrier(settings) is None


def test_given_twilio_settings_then_twilio_carrier_pointed_at_the_configured_api(settings):
    configured = settings.model_copy(update={
        "twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": SecretStr("token-123"),
        "twilio_api_base_url": "http://127.0.0.1:8099", "twilio_calls_per_second": 5.0,
    })
    carrier = build_carrier(configured)
    assert isinstance(carrier, TwilioCarrier) and isinstance(carrier, Carrier)


async def test_given_app_with_carrier_then_container_holds_it_and_shutdown_closes_it(settings, monkeypatch):
    closed = []
    monkeypatch.setattr(TwilioCarrier, "aclose", lambda self: _record(closed))
    app = create_app(settings.model_copy(update={"twilio_account_sid": "AC" + "1" * 32,
                                                 "twilio_auth_token": SecretStr("token-123")}))
    async with app.router.lifespan_context(app):
        assert isinstance(app.state.container.carrier, TwilioCarrier)
    assert closed == [True]


async def _record(closed: list[bool]) -> None:
    closed.append(True)
