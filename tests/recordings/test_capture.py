"""Recording capture: stored by checksum, retried with backoff, never lost silently."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import wave

from sqlalchemy import select

from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from recordings import capture
from recordings.storage import LocalStorage
from tests.factories import make_case

NOW = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.timezone.utc)


def _wav(seconds: float = 1.0, channels: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x01\x00" * channels * int(8000 * seconds))
    return buffer.getvalue()


class FlakySource:
    """Fails ``failures`` times, then serves the media; records what it was asked."""

    def __init__(self, media: bytes, failures: int) -> None:
        self.media, self.failures, self.asked = media, failures, []

    async def fetch_recording(self, media_url: str) -> bytes:
        self.asked.append(media_url)
        if len(self.asked) <= self.failures:
            raise ConnectionError("carrier unreachable")
        return self.media


async def _recording(session, *, answered: bool = True) -> Recording:
    case = await make_case(session)
    call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id="CA1", state=CallState.COMPLETED,
                outcome=CallOutcome.ANSWERED if answered else CallOutcome.NO_ANSWER, case_id=case.id,
                client_id=case.client_id, ended_at=NOW - dt.timedelta(hours=1))
    session.add(call)
    await session.flush()
    recording = Recording(call_id=call.id, carrier="twilio", carrier_recording_id="RE1",
                          media_url="http://carrier/RE1.wav", next_attempt_at=NOW)
    session.add(recording)
    await session.commit()
    return recording


async def test_given_download_fails_twice_then_succeeds_with_checksum_and_attempts_visible(session, tmp_path):
    recording = await _recording(session)
    media = _wav()
    source, storage = FlakySource(media, failures=2), LocalStorage(tmp_path)
    clock = NOW

    for expected_stored in (False, False, True):
        due = await capture.due(session, now=clock)
        assert [r.id for r in due] == [recording.id]
        assert await capture.capture_one(session, due[0], source=source, storage=storage, now=clock) is expected_stored
        await session.commit()
        if not expected_stored:
            assert recording.last_error == "ConnectionError: carrier unreachable"
            assert await capture.due(session, now=clock) == [], "backs off before retrying"
            await session.commit()
            clock = recording.next_attempt_at

    assert recording.status is RecordingStatus.STORED and recording.attempts == 3
    assert recording.sha256 == hashlib.sha256(media).hexdigest() and recording.size_bytes == len(media)
    assert recording.channels == 2 and recording.retain_until >= (NOW + dt.timedelta(days=3 * 365)).date()
    assert await storage.verify(f"sha256/{recording.sha256}", recording.sha256)
    assert source.asked == ["http://carrier/RE1.wav"] * 3


async def test_given_download_keeps_failing_then_failed_and_call_flagged(session, tmp_path):
    recording = await _recording(session)
    source, storage = FlakySource(b"", failures=10**6), LocalStorage(tmp_path)
    for _ in range(capture.MAX_ATTEMPTS):
        await capture.capture_one(session, recording, source=source, storage=storage, now=NOW)
    await session.commit()
    call = await session.get(Call, recording.call_id)
    await session.refresh(call)
    assert recording.status is RecordingStatus.FAILED and call.recording_missing is True


async def test_given_answered_call_without_stored_recording_then_flagged_after_grace(session):
    recording = await _recording(session)
    flagged = await capture.flag_missing(session, now=NOW)
    await session.commit()
    assert flagged == 1
    call = (await session.execute(select(Call).where(Call.id == recording.call_id))).scalar_one()
    await session.refresh(call)
    assert call.recording_missing is True


async def test_given_same_content_stored_twice_then_one_file(tmp_path):
    storage = LocalStorage(tmp_path)
    first, second = await storage.put(b"abc"), await storage.put(b"abc")
    assert first == second
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path / first.sha256[:2] / first.sha256[2:4] / first.sha256]
    assert await storage.get(first.key) == b"abc"
    assert not await storage.verify(first.key, hashlib.sha256(b"other").hexdigest())


def test_given_attempts_then_backoff_grows_and_is_capped():
    assert [capture.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert capture.backoff(20) == dt.timedelta(hours=1)
