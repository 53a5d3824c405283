"""GET/HEAD /v1/recordings/{id}/media with credentials: the WAV streamed from storage, single byte
ranges, ETag and conditional requests, clear errors for media that is not (or no longer) there; every
request audited."""

from __future__ import annotations

import datetime as dt
import hashlib

from dialer.calls.models import RecordingStatus
from recordings.storage import CHUNK, LocalStorage, key_of
from tests.recordings_api.conftest import wav

PURGED_AT = dt.datetime(2029, 11, 26, 2, 0, tzinfo=dt.timezone.utc)


class WatchedStorage(LocalStorage):
    """The app's local storage, noting each stream it opens and the chunks it yields; a whole read fails."""

    def __init__(self, root, *, lose_files: bool = False) -> None:
        super().__init__(root)
        self.streams: list[tuple[int, int | None]] = []
        self.chunks: list[int] = []
        self.lose_files = lose_files

    async def get(self, key):
        raise AssertionError("the media is streamed, never read whole")

    async def size(self, key):
        size = await super().size(key)
        if self.lose_files:  # the file disappears between its size and its stream
            await self.delete(key)
        return size

    async def stream(self, key, *, start=0, end=None):
        self.streams.append((start, end))
        async for chunk in super().stream(key, start=start, end=end):
            self.chunks.append(len(chunk))
            yield chunk


async def test_given_a_stored_recording_when_fetched_whole_then_the_file_with_its_headers(
        api, headers, users, make_recording, audit_rows):
    content = wav()
    recording = await make_recording(content=content)

    response = await api.get(f"/v1/recordings/{recording.id}/media", headers=headers["integration"])

    assert response.status_code == 200
    assert response.content == content and len(content) > CHUNK, "more than one storage chunk, streamed"
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert "content-range" not in response.headers
    [row] = await audit_rows()
    assert (row.action, row.entity_id, row.actor_id) == ("recording.media", str(recording.id), users["integration"].id)
    assert row.detail == {"who": "integration-1", "via": "token", "method": "GET", "range": None, "status": 200,
                          "bytes": len(content)}


async def test_given_single_ranges_when_fetched_then_206_with_exactly_that_slice(
        api, headers, make_recording, audit_rows):
    content = wav()
    size = len(content)
    recording = await make_recording(content=content)
    url = f"/v1/recordings/{recording.id}/media"
    cases = {  # Range → the slice it names
        "bytes=0-99": (0, 99), "bytes=100-": (100, size - 1), "bytes=-500": (size - 500, size - 1),
        f"bytes={CHUNK - 10}-{CHUNK + 10}": (CHUNK - 10, CHUNK + 10),  # across a storage chunk's boundary
        f"bytes=10-{size + 1000}": (10, size - 1), f"bytes=-{size + 10}": (0, size - 1),
    }

    for asked, (start, end) in cases.items():
        response = await api.get(url, headers={**headers["admin"], "Range": asked})

        assert response.status_code == 206, asked
        assert response.content == content[start:end + 1], asked
        assert response.headers["content-range"] == f"bytes {start}-{end}/{size}", asked
        assert response.headers["content-length"] == str(end - start + 1), asked
    rows = await audit_rows()
    assert [(r.detail["range"], r.detail["status"], r.detail["bytes"]) for r in rows] == [
        (asked, 206, end - start + 1) for asked, (start, end) in cases.items()]


async def test_given_a_range_past_the_end_when_fetched_then_416_with_the_size(
        api, headers, make_recording, audit_rows):
    content = wav()
    recording = await make_recording(content=content)

    for asked in (f"bytes={len(content)}-", f"bytes={len(content) + 5}-{len(content) + 10}", "bytes=-0"):
        response = await api.get(f"/v1/recordings/{recording.id}/media", headers={**headers["admin"], "Range": asked})

        assert response.status_code == 416, asked
        assert response.headers["content-range"] == f"bytes */{len(content)}"
        assert response.json()["error"] == "range_not_satisfiable"
    assert [r.detail["status"] for r in await audit_rows()] == [416] * 3


async def test_given_several_or_malformed_ranges_when_fetched_then_the_whole_file(api, headers, make_recording):
    content = wav()
    recording = await make_recording(content=content)

    for asked in ("bytes=0-9,20-29", "bytes=abc", "items=0-9", "bytes=9-0"):
        response = await api.get(f"/v1/recordings/{recording.id}/media", headers={**headers["admin"], "Range": asked})

        assert (response.status_code, response.content) == (200, content), asked


async def test_given_the_etag_when_fetched_conditionally_then_304_and_if_range_decides_the_range(
        api, headers, make_recording, audit_rows):
    content = wav()
    recording = await make_recording(content=content)
    url = f"/v1/recordings/{recording.id}/media"
    etag = (await api.get(url, headers=headers["admin"])).headers["etag"]

    same = await api.get(url, headers={**headers["admin"], "If-None-Match": etag})
    other = await api.get(url, headers={**headers["admin"], "If-None-Match": '"something-else"'})
    range_same = await api.get(url, headers={**headers["admin"], "Range": "bytes=0-9", "If-Range": etag})
    range_changed = await api.get(url, headers={**headers["admin"], "Range": "bytes=0-9", "If-Range": '"older"'})

    assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", etag)
    assert (other.status_code, other.content) == (200, content)
    assert (range_same.status_code, range_same.content) == (206, content[:10])
    assert (range_changed.status_code, range_changed.content) == (200, content)
    assert [r.detail["status"] for r in await audit_rows()] == [200, 304, 200, 206, 200]


async def test_given_head_when_asked_then_the_headers_without_the_body_and_audited(
        api, headers, make_recording, audit_rows):
    content = wav()
    recording = await make_recording(content=content)

    response = await api.head(f"/v1/recordings/{recording.id}/media", headers=headers["supervisor"])
    ranged = await api.head(f"/v1/recordings/{recording.id}/media", headers={**headers["supervisor"],
                                                                              "Range": "bytes=0-9"})

    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert ranged.status_code == 200, "a Range on HEAD is ignored (RFC 9110 §14.2)"
    assert [(r.detail["method"], r.detail["status"]) for r in await audit_rows()] == [("HEAD", 200), ("HEAD", 200)]


async def test_given_a_recording_whose_file_was_deleted_when_fetched_then_410_with_the_reason(
        api, headers, storage, make_recording, audit_rows):
    recording = await make_recording()
    assert await storage.delete(key_of(recording.sha256))

    response = await api.get(f"/v1/recordings/{recording.id}/media", headers=headers["admin"])
    head = await api.head(f"/v1/recordings/{recording.id}/media", headers=headers["admin"])
    metadata = await api.get(f"/v1/recordings/{recording.id}", headers=headers["admin"])

    assert response.status_code == 410
    assert (response.json()["error"], response.json()["reason"]) == ("recording_gone", "missing")
    assert "no longer in storage" in response.json()["detail"] and response.json()["sha256"] == recording.sha256
    assert head.status_code == 410
    assert metadata.status_code == 200 and metadata.json()["sha256"] == recording.sha256, "the checksum stays"
    assert [(r.action, r.detail["status"]) for r in await audit_rows()] == [
        ("recording.media", 410), ("recording.media", 410), ("recording.read", 200)]


async def test_given_a_purged_recording_when_fetched_then_410_saying_when_and_why(
        api, headers, storage, make_recording, audit_rows):
    recording = await make_recording(status=RecordingStatus.PURGED, purged_at=PURGED_AT,
                                     purge_rule="3 years after the call (policy v1)")
    assert await storage.size(key_of(recording.sha256)) is None, "the purge deleted the file"

    response = await api.get(f"/v1/recordings/{recording.id}/media", headers=headers["admin"])
    link = await api.post(f"/v1/recordings/{recording.id}/link", headers=headers["admin"])
    metadata = (await api.get(f"/v1/recordings/{recording.id}", headers=headers["admin"])).json()

    assert (response.status_code, response.json()["reason"], link.status_code) == (410, "purged", 410)
    assert response.json()["detail"] == (
        f"recording {recording.id} was purged at 2029-11-26T02:00:00+00:00 (3 years after the call (policy v1)); "
        "its row and checksum are kept, its media is not")
    assert (metadata["status"], metadata["sha256"], metadata["purged_at"]) == (
        "purged", recording.sha256, "2029-11-26T02:00:00Z")
    assert [(r.action, r.detail["status"]) for r in await audit_rows()] == [
        ("recording.media", 410), ("recording.link", 410), ("recording.read", 200)]


async def test_given_a_pending_or_failed_recording_when_fetched_then_409_not_stored(
        api, headers, make_recording, audit_rows):
    pending = await make_recording(status=RecordingStatus.PENDING)
    failed = await make_recording(status=RecordingStatus.FAILED)

    answers = [await api.get(f"/v1/recordings/{r.id}/media", headers=headers["admin"]) for r in (pending, failed)]

    assert [(a.status_code, a.json()["error"], a.json()["recording_status"]) for a in answers] == [
        (409, "recording_not_stored", "pending"), (409, "recording_not_stored", "failed")]
    assert [r.detail["status"] for r in await audit_rows()] == [409, 409]


async def test_given_an_agent_or_no_credentials_when_fetching_media_then_403_or_401(api, headers, make_recording):
    recording = await make_recording()

    agent = await api.get(f"/v1/recordings/{recording.id}/media", headers=headers["agent"])
    anonymous = await api.get(f"/v1/recordings/{recording.id}/media")

    assert agent.status_code == 403 and "role 'agent' may not do this" in agent.json()["detail"]
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"


async def test_given_a_large_recording_when_fetched_then_it_is_streamed_in_chunks_from_storage(
        api, app, headers, storage, make_recording):
    content = wav(seconds=6)
    recording = await make_recording(content=content)
    watched = app.state.container.storage = WatchedStorage(storage.root)

    whole = await api.get(f"/v1/recordings/{recording.id}/media", headers=headers["admin"])
    part = await api.get(f"/v1/recordings/{recording.id}/media", headers={**headers["admin"], "Range": "bytes=1000-"})

    assert whole.content == content and part.content == content[1000:]
    assert watched.streams == [(0, len(content) - 1), (1000, len(content) - 1)]
    assert max(watched.chunks) == CHUNK and sum(watched.chunks) == 2 * len(content) - 1000


async def test_given_the_file_vanishes_after_its_size_was_read_when_fetched_then_410_not_a_broken_stream(
        api, app, headers, storage, make_recording, audit_rows):
    recording = await make_recording()
    app.state.container.storage = WatchedStorage(storage.root, lose_files=True)

    response = await api.get(f"/v1/recordings/{recording.id}/media", headers=headers["admin"])

    assert (response.status_code, response.json()["error"]) == (410, "recording_gone")
    assert [r.detail["status"] for r in await audit_rows()] == [410]
