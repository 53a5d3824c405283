"""The purge: media past retention deleted after commit, rows kept as tombstones; never held or
shared media."""

from __future__ import annotations

import datetime as dt

from dialer.calls.models import RecordingStatus
from recordings import purge, retention
from recordings.models import HoldScope
from recordings.storage import LocalStorage, key_of
from tests.archive.records import NOW, events_of, stored_recording, wav

PAST = (NOW - dt.timedelta(days=1)).date()
LATER = (NOW + dt.timedelta(days=30)).date()


async def _purge(session, storage) -> purge.Purged:
    result = await purge.purge_due(session, now=NOW)
    await session.commit()
    await purge.delete_media(storage, result.keys)
    return result


async def test_given_a_recording_past_retention_then_media_deleted_and_tombstone_told(session, tmp_path):
    storage = LocalStorage(tmp_path)
    old = await stored_recording(session, storage, retain_until=PAST)
    young = await stored_recording(session, storage, retain_until=LATER, content=wav(tone=3))

    result = await _purge(session, storage)

    assert result.summary == {"purged": 1, "kept_shared": 0, "files": 1}
    assert old.status is RecordingStatus.PURGED and old.purged_at == NOW
    assert old.purge_rule.startswith("retention 1096 days (client ") and PAST.isoformat() in old.purge_rule
    assert old.sha256 is not None, "the tombstone keeps the checksum"
    assert await storage.size(key_of(old.sha256)) is None
    assert young.status is RecordingStatus.STORED and await storage.size(key_of(young.sha256)) is not None
    [told] = await events_of(session, "recording.purged")
    assert told.recording_id == old.id and told.payload["recording"]["purge_rule"] == old.purge_rule


async def test_given_a_held_recording_past_retention_then_kept_until_the_hold_is_lifted(session, tmp_path):
    storage = LocalStorage(tmp_path)
    old = await stored_recording(session, storage, retain_until=PAST)
    hold, _ = await retention.place_hold(session, scope=HoldScope.CALL, scope_id=old.call_id, reason="lawsuit",
                                         actor=None, now=NOW)

    assert (await _purge(session, storage)).purged == 0
    assert old.status is RecordingStatus.STORED and await storage.size(key_of(old.sha256)) is not None

    await retention.lift_hold(session, hold_id=hold.id, reason="case closed", actor=None, now=NOW)
    assert (await _purge(session, storage)).purged == 1
    assert await storage.size(key_of(old.sha256)) is None


async def test_given_shared_content_kept_longer_by_another_then_not_deleted_until_both_run_out(session, tmp_path):
    storage = LocalStorage(tmp_path)
    media = wav(tone=9)
    old = await stored_recording(session, storage, retain_until=PAST, content=media)
    longer = await stored_recording(session, storage, retain_until=LATER, content=media)
    assert old.sha256 == longer.sha256

    result = await _purge(session, storage)
    assert result.summary == {"purged": 0, "kept_shared": 1, "files": 0}
    assert old.status is RecordingStatus.STORED and await storage.size(key_of(old.sha256)) is not None

    longer.retain_until = PAST
    await session.flush()
    result = await _purge(session, storage)
    assert result.summary == {"purged": 2, "kept_shared": 0, "files": 1}
    assert {old.status, longer.status} == {RecordingStatus.PURGED}
    assert await storage.size(key_of(old.sha256)) is None


async def test_given_shared_content_one_of_them_held_then_neither_copy_deleted(session, tmp_path):
    storage = LocalStorage(tmp_path)
    media = wav(tone=5)
    await stored_recording(session, storage, retain_until=PAST, content=media)
    await stored_recording(session, storage, retain_until=PAST, content=media, legal_hold=True)

    result = await _purge(session, storage)

    assert result.purged == 0 and result.kept_shared == 1
    assert await storage.size(key_of(__import__("hashlib").sha256(media).hexdigest())) is not None
