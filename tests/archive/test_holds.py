"""Retention by the client's policy and legal holds: set and lifted with a reason, told, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dialer.audit.models import AuditEntry
from dialer.calls.models import Recording, RecordingStatus
from dialer.kit.errors import Conflict, InvalidInput, NotFound
from recordings import capture, retention
from recordings.models import HoldScope, LegalHold
from recordings.storage import LocalStorage
from tests.archive.records import NOW, answered_call, events_of, stored_recording, wav
from tests.factories import make_case, make_client, make_party


class Source:
    def __init__(self, media: bytes) -> None:
        self.media = media

    async def fetch_recording(self, media_url: str) -> bytes:
        return self.media


async def test_given_a_client_keeping_recordings_2000_days_when_one_is_stored_then_kept_that_long(session, tmp_path):
    client = await make_client(session, preset="cn-cba-2026", overrides={"recordings": {"retention_days": 2000}})
    call = await answered_call(session, case=await make_case(session, client=client))
    recording = Recording(call_id=call.id, carrier="twilio", carrier_recording_id="RE-2000", media_url="x")
    session.add(recording)
    await session.flush()

    assert await capture.capture_one(session, recording, source=Source(wav()), storage=LocalStorage(tmp_path), now=NOW)

    assert recording.retain_until == (NOW + dt.timedelta(days=2000)).date()
    assert recording.legal_hold is False
    [stored] = await events_of(session, "recording.stored")
    assert stored.payload["recording"]["retain_until"] == recording.retain_until.isoformat()


async def test_given_a_hold_on_a_case_then_its_recordings_held_told_and_audited(session, tmp_path):
    storage = LocalStorage(tmp_path)
    case = await make_case(session)
    first = await stored_recording(session, storage, call=await answered_call(session, case=case))
    other_case = await stored_recording(session, storage, content=wav(tone=7))

    hold, changed = await retention.place_hold(session, scope=HoldScope.CASE, scope_id=case.id,
                                               reason="complaint to the regulator, ref 2026-118", actor=None, now=NOW)

    assert changed == 1 and first.legal_hold is True and other_case.legal_hold is False
    [told] = await events_of(session, "recording.hold_changed")
    assert told.recording_id == first.id and told.payload["recording"]["legal_hold"] is True
    assert told.payload["cause"] == f"hold {hold.id} placed"
    audited = (await session.execute(select(AuditEntry).where(AuditEntry.action == "legal_hold.place"))).scalar_one()
    assert audited.detail["reason"] == "complaint to the regulator, ref 2026-118" and audited.detail["recordings"] == 1


async def test_given_a_held_case_when_a_later_call_is_recorded_then_it_is_held_too(session, tmp_path):
    case = await make_case(session)
    await retention.place_hold(session, scope=HoldScope.CASE, scope_id=case.id, reason="litigation", actor=None,
                               now=NOW)
    call = await answered_call(session, case=case)
    recording = Recording(call_id=call.id, carrier="twilio", carrier_recording_id="RE-later", media_url="x")
    session.add(recording)
    await session.flush()

    await capture.capture_one(session, recording, source=Source(wav()), storage=LocalStorage(tmp_path), now=NOW)

    assert recording.legal_hold is True


async def test_given_two_holds_when_one_is_lifted_then_still_held_and_after_the_last_released(session, tmp_path):
    case = await make_case(session)
    call = await answered_call(session, case=case)
    recording = await stored_recording(session, LocalStorage(tmp_path), call=call)
    on_case, _ = await retention.place_hold(session, scope=HoldScope.CASE, scope_id=case.id, reason="dispute",
                                            actor=None, now=NOW)
    on_party, _ = await retention.place_hold(session, scope=HoldScope.PARTY, scope_id=call.party_id,
                                             reason="the party's complaint", actor=None, now=NOW)

    _, released = await retention.lift_hold(session, hold_id=on_case.id, reason="dispute settled", actor=None, now=NOW)
    assert released == 0 and recording.legal_hold is True

    _, released = await retention.lift_hold(session, hold_id=on_party.id, reason="complaint closed", actor=None,
                                            now=NOW)
    assert released == 1 and recording.legal_hold is False
    assert [e.payload["recording"]["legal_hold"] for e in await events_of(session, "recording.hold_changed")] == [
        True, False]
    assert [h.id for h in await retention.holds(session)] == []
    assert len(await retention.holds(session, active_only=False)) == 2


async def test_given_bad_hold_requests_then_specific_errors_and_nothing_changed(session, tmp_path):
    case = await make_case(session)
    await make_party(session, case=case)
    with pytest.raises(InvalidInput, match="reason: say why"):
        await retention.place_hold(session, scope=HoldScope.CASE, scope_id=case.id, reason="  ", actor=None, now=NOW)
    with pytest.raises(NotFound, match="no case 999999 to hold"):
        await retention.place_hold(session, scope=HoldScope.CASE, scope_id=999999, reason="x", actor=None, now=NOW)
    with pytest.raises(NotFound, match="legal hold 4242 not found"):
        await retention.lift_hold(session, hold_id=4242, reason="x", actor=None, now=NOW)
    assert (await session.execute(select(LegalHold))).first() is None

    hold, _ = await retention.place_hold(session, scope=HoldScope.CASE, scope_id=case.id, reason="x", actor=None,
                                         now=NOW)
    await retention.lift_hold(session, hold_id=hold.id, reason="done", actor=None, now=NOW)
    with pytest.raises(Conflict, match="lifted already"):
        await retention.lift_hold(session, hold_id=hold.id, reason="again", actor=None, now=NOW)
    assert (await session.execute(select(Recording).where(Recording.status == RecordingStatus.STORED))).first() is None
