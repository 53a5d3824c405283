"""A refused (unsigned or wrongly signed) webhook is audited, but what it may write is bounded:
copied values are cut short and made printable, and repeats from one source are counted within
a minute's window instead of each writing a row (issue #18)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from dialer.audit.models import AuditEntry
from tests.webhooks_hardening.conftest import SID, signed, status_params
from webhooks.models import CarrierEvent
from webhooks.refusals import CLIPPED

PATH = "/webhooks/twilio/call-status"


async def _audited(app, action: str = "webhook.bad_signature") -> list[AuditEntry]:
    async with app.state.container.sessions() as s:
        return list((await s.execute(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(AuditEntry.id))).scalars())


async def _forge(api, **extra: str):
    params = status_params(**extra)
    return await api.post(PATH, data=params, headers=signed(PATH, params, token="not-twilio"))


async def test_given_a_forged_webhook_with_a_huge_call_sid_then_the_audit_row_holds_a_clipped_copy(app, api, clock):
    response = await _forge(api, CallSid="CA" + "9" * 60_000)

    assert response.status_code == 403 and response.json()["error"] == "bad_signature"
    [entry] = await _audited(app)
    assert len(entry.detail["call_sid"]) <= CLIPPED
    assert entry.detail["call_sid"].startswith("CA999") and entry.detail["call_sid_chars"] == 60_002
    assert len(repr(entry.detail)) < 1000 and entry.entity_id == PATH


async def test_given_a_forged_webhook_with_nul_and_escapes_then_403_and_a_printable_audit_row(app, api, clock):
    response = await _forge(api, CallSid=SID[:4] + "\x00\x1b[2J\u2028" + SID[4:])

    assert response.status_code == 403
    [entry] = await _audited(app)
    assert entry.detail["call_sid"].startswith("CA00\\x00\\x1b[2J\\u2028")
    assert entry.detail["call_sid"].isprintable() and "call_sid_chars" not in entry.detail
    async with app.state.container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CarrierEvent)) == 0


async def test_given_a_flood_from_one_source_then_one_row_per_window_and_the_repeats_counted(app, source, clock):
    async with source("203.0.113.7") as flood:
        for _ in range(30):
            assert (await _forge(flood)).status_code == 403
        first = await _audited(app)
        assert len(first) == 1 and first[0].detail["client"] == "203.0.113.7"
        assert await _audited(app, "webhook.bad_signature.repeated") == []

        clock.now += dt.timedelta(minutes=1)
        assert (await _forge(flood)).status_code == 403

    rows, [repeated] = await _audited(app), await _audited(app, "webhook.bad_signature.repeated")
    assert len(rows) == 2  # the second window's first refusal
    assert (repeated.entity, repeated.entity_id) == ("webhook_source", "203.0.113.7")
    assert repeated.detail == {"window_start": "2026-12-04T10:00:00+00:00", "window_end": "2026-12-04T10:01:00+00:00",
                               "repeats": 29, "last_at": "2026-12-04T10:00:00+00:00"}


async def test_given_refusals_from_two_sources_then_each_source_has_its_first_row(app, source, clock):
    for address in ("203.0.113.7", "198.51.100.2", "203.0.113.7"):
        async with source(address) as api:
            assert (await _forge(api)).status_code == 403

    assert sorted(e.detail["client"] for e in await _audited(app)) == ["198.51.100.2", "203.0.113.7"]


async def test_given_a_refusal_then_a_signed_webhook_is_still_stored(app, api, clock):
    assert (await _forge(api)).status_code == 403
    params = status_params()
    assert (await api.post(PATH, data=params, headers=signed(PATH, params))).status_code == 204
    async with app.state.container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CarrierEvent)) == 1


async def test_given_repeats_in_the_open_window_when_the_service_stops_then_their_count_is_written(settings):
    import httpx

    from dialer.app import create_app

    service = create_app(settings)
    async with service.router.lifespan_context(service):
        transport = httpx.ASGITransport(app=service, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://dialer.test") as flood:
            for _ in range(5):
                assert (await _forge(flood)).status_code == 403
        assert await _audited(service, "webhook.bad_signature.repeated") == []
        sessions = service.state.container.sessions

    async with sessions() as s:  # the engine is disposed at stop; a new connection reads what it wrote
        [repeated] = (await s.execute(select(AuditEntry).where(
            AuditEntry.action == "webhook.bad_signature.repeated"))).scalars()
    assert (repeated.entity_id, repeated.detail["repeats"]) == ("203.0.113.9", 4)
