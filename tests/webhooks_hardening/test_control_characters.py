"""A signed webhook whose fields hold NUL or another control character is refused with a 422 naming
the field, on either database (PostgreSQL cannot store a NUL: it was a 500), and nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from dialer.calls.models import Call
from tests.webhooks_hardening.conftest import signed, status_params
from webhooks.models import CarrierEvent


async def _count(app, model) -> int:
    async with app.state.container.sessions() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_given_a_signed_status_callback_with_a_control_character_then_422_naming_the_field(app, api):
    path = "/webhooks/twilio/call-status"
    for field, value in (("CallerName", "张\x00三"), ("CallStatus", "ringing\x1b"), ("ForwardedFrom", "+86\x7f")):
        params = status_params(**{field: value})

        response = await api.post(path, data=params, headers=signed(path, params))

        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "validation_error" and body["fields"][0]["field"] == field
        assert "control character refused" in body["detail"]
    assert await _count(app, CarrierEvent) == 0


async def test_given_a_control_character_in_a_field_name_then_422_naming_it_printably(api):
    path = "/webhooks/twilio/recording-status"
    params = status_params(**{"Odd\x00Name": "1"})

    response = await api.post(path, data=params, headers=signed(path, params))

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "Odd\\x00Name"


async def test_given_a_signed_inbound_voice_request_with_a_nul_caller_then_422_and_no_call(app, api):
    path = "/webhooks/twilio/voice/inbound"
    params = {"CallSid": "CA" + "7" * 32, "From": "+8613800138000\x00", "To": "+862100000000"}

    response = await api.post(path, data=params, headers=signed(path, params))

    assert response.status_code == 422 and response.json()["fields"][0]["field"] == "From"
    assert await _count(app, Call) == 0


async def test_given_tabs_and_line_breaks_in_a_signed_field_then_the_callback_is_stored(app, api):
    path = "/webhooks/twilio/call-status"
    params = status_params(CallerName="line one\r\nline\ttwo")

    assert (await api.post(path, data=params, headers=signed(path, params))).status_code == 204
    assert await _count(app, CarrierEvent) == 1
