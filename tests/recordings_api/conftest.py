"""The recordings API on the test application: its router mounted under /v1 and the container's
link signer, when the composition root does not provide them yet; real WAV files in the app's
LocalStorage (under tmp_path) and the rows that point at them."""

from __future__ import annotations

import datetime as dt
import io
import wave
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from dialer.audit.models import AuditEntry
from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from recordings.storage import key_of
from tests.factories import make_case

ENDED = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.timezone.utc)


def wav(seconds: float = 3.0, channels: int = 2) -> bytes:
    """A real WAV (8 kHz, 16 bit) whose samples vary, so every slice of it is distinct; 3 s of stereo
    is ~96 kB: more than one storage chunk."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        frames = int(8000 * seconds) * channels
        writer.writeframes(b"".join((i % 65521).to_bytes(2, "little") for i in range(frames)))
    return buffer.getvalue()


@pytest.fixture
async def app(app):
    """The service's own wiring: the router mounted once, the container's link signer set."""
    assert app.state.container.links is not None
    assert app.url_path_for("recording_media", recording_id="1") == "/v1/recordings/1/media"
    return app


@pytest.fixture
def storage(app):
    return app.state.container.storage


MakeRecording = Callable[..., Awaitable[Recording]]


@pytest.fixture
def make_recording(app, storage) -> MakeRecording:
    """``await make_recording(content=..., status=..., carrier=...)``: a call and its recording; a
    stored one has its content put in storage first; a purged one keeps its checksum, not its file."""

    async def make(*, content: bytes | None = None, status: RecordingStatus = RecordingStatus.STORED,
                   carrier: str = "twilio", channels: int = 2, **fields: Any) -> Recording:
        stored = None
        if status in (RecordingStatus.STORED, RecordingStatus.PURGED):
            stored = await storage.put(content if content is not None else wav())
            if status is RecordingStatus.PURGED:
                await storage.delete(key_of(stored.sha256))
        async with app.state.container.sessions() as session:
            case = await make_case(session)
            call = Call(direction=Direction.OUTBOUND, carrier=carrier, carrier_call_id=f"CA-{case.id}",
                        state=CallState.COMPLETED, outcome=CallOutcome.ANSWERED, case_id=case.id,
                        client_id=case.client_id, ended_at=ENDED)
            session.add(call)
            await session.flush()
            recording = Recording(
                call_id=call.id, carrier=carrier, carrier_recording_id=f"RE-{call.id}", status=status,
                media_url=f"http://carrier/RE-{call.id}.wav", channels=channels,
                **({"sha256": stored.sha256, "size_bytes": stored.size_bytes, "content_type": "audio/wav",
                    "duration_s": 3, "stored_at": ENDED + dt.timedelta(minutes=1),
                    "retain_until": dt.date(2029, 11, 25)} if stored else {}),
                **fields,
            )
            session.add(recording)
            await session.commit()
            return recording

    return make


@pytest.fixture
def audit_rows(app) -> Callable[[], Awaitable[list[AuditEntry]]]:
    """The audit log's rows about recordings, oldest first, read in a session of their own (so only
    what a request committed is seen)."""

    async def rows() -> list[AuditEntry]:
        async with app.state.container.sessions() as session:
            query = select(AuditEntry).where(AuditEntry.entity == "recording").order_by(AuditEntry.id)
            return list((await session.execute(query)).scalars())

    return rows
