"""The recording storage contract: the same tests for every backend, ``LocalStorage`` (a directory)
and ``S3Storage`` (a bucket of a real S3-compatible server, moto's: tests/recordings/s3_server.py).
Then what only the S3 backend has: the object layout replicas share, credentials, failures."""

from __future__ import annotations

import hashlib
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from obstore.exceptions import BaseError as ObjectStoreError

from recordings.s3 import S3Storage, endpoint_of
from recordings.storage import CHUNK, LocalStorage, RecordingStorage
from tests.recordings.s3_server import S3Server, s3_bucket, s3_server  # noqa: F401 (fixtures)

CONTENT = random.Random(15).randbytes(3 * CHUNK + 1234)  # several chunks, the last one short
SHA256 = hashlib.sha256(CONTENT).hexdigest()
KEY = f"sha256/{SHA256}"
N = len(CONTENT)
PREFIX = "tenant-a/recordings"


@dataclass(frozen=True)
class Backend:
    storage: RecordingStorage
    names: Callable[[], list[str]]  # what the medium holds, seen from outside the backend
    overwrite: Callable[[str, bytes], None]  # replace a digest's stored bytes behind the backend's back


def _local(root: Path) -> Backend:
    def overwrite(sha256: str, content: bytes) -> None:
        (root / sha256[:2] / sha256[2:4] / sha256).write_bytes(content)

    return Backend(
        storage=LocalStorage(root),
        names=lambda: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
        overwrite=overwrite,
    )


def _s3(server: S3Server, bucket: str) -> Backend:
    return Backend(
        storage=_s3_storage(server, bucket),
        names=lambda: server.names(bucket),
        overwrite=lambda sha256, content: server.overwrite(bucket, f"{PREFIX}/sha256/{sha256}", content),
    )


def _s3_storage(server: S3Server, bucket: str, *, prefix: str = PREFIX) -> S3Storage:
    return S3Storage(bucket=bucket, endpoint_url=server.endpoint_url, region=server.region, prefix=prefix,
                     access_key_id=server.access_key_id, secret_access_key=server.secret_access_key)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return _local(tmp_path / "recordings")
    return _s3(request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket"))


async def _read(storage: RecordingStorage, key: str, *, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.stream(key, start=start, end=end)])


# --- the contract ------------------------------------------------------------------------------

async def test_given_new_content_when_put_twice_then_it_is_stored_once(store: Backend) -> None:
    first = await store.storage.put(CONTENT)
    second = await store.storage.put(CONTENT)

    assert first == second
    assert (first.key, first.sha256, first.size_bytes) == (KEY, SHA256, N)
    assert len(store.names()) == 1


async def test_given_an_object_of_the_same_size_there_when_put_then_it_is_not_uploaded_again(store: Backend) -> None:
    await store.storage.put(CONTENT)
    store.overwrite(SHA256, bytes(N))  # same size, other bytes

    await store.storage.put(CONTENT)

    assert await store.storage.get(KEY) == bytes(N)  # kept: finding that is verify's job
    assert len(store.names()) == 1


async def test_given_an_object_of_another_size_there_when_put_then_it_is_replaced(store: Backend) -> None:
    await store.storage.put(CONTENT)
    store.overwrite(SHA256, CONTENT[:100])  # truncated

    await store.storage.put(CONTENT)

    assert await store.storage.get(KEY) == CONTENT
    assert await store.storage.verify(KEY, SHA256)


async def test_given_stored_content_when_get_then_the_same_bytes_by_key_or_bare_digest(store: Backend) -> None:
    await store.storage.put(CONTENT)

    assert await store.storage.get(KEY) == CONTENT
    assert await store.storage.get(SHA256) == CONTENT


async def test_given_stored_content_when_size_then_its_length(store: Backend) -> None:
    await store.storage.put(CONTENT)
    await store.storage.put(b"x")

    assert await store.storage.size(KEY) == N
    assert await store.storage.size(f"sha256/{hashlib.sha256(b'x').hexdigest()}") == 1


@pytest.mark.parametrize(("start", "end"), [
    pytest.param(0, None, id="whole"),
    pytest.param(1000, None, id="start-only"),
    pytest.param(0, 0, id="first-byte"),
    pytest.param(CHUNK - 10, CHUNK + 9, id="across-a-chunk-boundary"),
    pytest.param(CHUNK, 2 * CHUNK - 1, id="exactly-one-chunk"),
    pytest.param(N - 1, N - 1, id="last-byte"),
    pytest.param(N - 1, None, id="from-the-last-byte"),
    pytest.param(100, N + 500, id="end-past-the-last-byte"),
    pytest.param(N, None, id="start-past-the-last-byte"),
    pytest.param(500, 499, id="empty-range"),
])
async def test_given_stored_content_when_streamed_then_exactly_the_asked_bytes(
    store: Backend, start: int, end: int | None,
) -> None:
    await store.storage.put(CONTENT)

    assert await _read(store.storage, KEY, start=start, end=end) == CONTENT[start:None if end is None else end + 1]


async def test_given_nothing_stored_when_read_then_not_found(store: Backend) -> None:
    with pytest.raises(FileNotFoundError):
        await store.storage.get(KEY)
    with pytest.raises(FileNotFoundError):
        await _read(store.storage, KEY)
    with pytest.raises(FileNotFoundError):
        await _read(store.storage, KEY, start=10, end=5)
    assert await store.storage.size(KEY) is None
    assert await store.storage.delete(KEY) is False
    assert await store.storage.verify(KEY, SHA256) is False


async def test_given_stored_content_when_deleted_then_it_is_gone(store: Backend) -> None:
    await store.storage.put(CONTENT)

    assert await store.storage.delete(KEY) is True

    with pytest.raises(FileNotFoundError):
        await store.storage.get(KEY)
    with pytest.raises(FileNotFoundError):
        await _read(store.storage, KEY, start=5)
    assert await store.storage.size(KEY) is None
    assert await store.storage.verify(KEY, SHA256) is False
    assert await store.storage.delete(KEY) is False
    assert store.names() == []


async def test_given_stored_content_when_verified_then_true_for_its_digest_only(store: Backend) -> None:
    await store.storage.put(CONTENT)

    assert await store.storage.verify(KEY, SHA256) is True
    assert await store.storage.verify(KEY, hashlib.sha256(b"other").hexdigest()) is False


async def test_given_content_corrupted_behind_the_backend_when_verified_then_false(store: Backend) -> None:
    await store.storage.put(CONTENT)
    corrupted = bytearray(CONTENT)
    corrupted[N // 2] ^= 0xFF  # one bit-rotten byte, the size unchanged
    store.overwrite(SHA256, bytes(corrupted))

    assert await store.storage.verify(KEY, SHA256) is False
    assert await store.storage.size(KEY) == N


@pytest.mark.parametrize("bad_key", [
    pytest.param("sha256/../../etc/passwd", id="path-traversal"),
    pytest.param(f"sha256/{SHA256.upper()}", id="upper-case"),
    pytest.param(f"sha256/{SHA256[:-1]}", id="too-short"),
    pytest.param(f"sha256/{SHA256}/x", id="trailing-path"),
    pytest.param(f"md5/{SHA256}", id="other-scheme"),
    pytest.param("", id="empty"),
])
async def test_given_a_bad_key_when_used_then_it_is_refused_as_not_there(store: Backend, bad_key: str) -> None:
    await store.storage.put(CONTENT)
    held = store.names()

    with pytest.raises(FileNotFoundError):
        await store.storage.get(bad_key)
    with pytest.raises(FileNotFoundError):
        await _read(store.storage, bad_key)
    assert await store.storage.size(bad_key) is None
    assert await store.storage.delete(bad_key) is False
    assert await store.storage.verify(bad_key, SHA256) is False
    assert store.names() == held
    assert await store.storage.verify(KEY, SHA256) is True


# --- S3 only -----------------------------------------------------------------------------------

async def test_given_a_prefix_when_put_then_the_object_is_named_prefix_sha256_hex(
    s3_server: S3Server, s3_bucket: str,  # noqa: F811
) -> None:
    await _s3_storage(s3_server, s3_bucket, prefix="/tenant-a/recordings/").put(CONTENT)
    await _s3_storage(s3_server, s3_bucket, prefix="").put(b"x")

    assert s3_server.names(s3_bucket) == sorted([f"tenant-a/recordings/sha256/{SHA256}",
                                                 f"sha256/{hashlib.sha256(b'x').hexdigest()}"])


async def test_given_two_replicas_on_one_bucket_when_one_puts_then_the_other_sees_it(
    s3_server: S3Server, s3_bucket: str,  # noqa: F811
) -> None:
    one, other = _s3_storage(s3_server, s3_bucket), _s3_storage(s3_server, s3_bucket)

    stored = await one.put(CONTENT)

    assert await other.get(stored.key) == CONTENT
    assert await other.verify(stored.key, stored.sha256) is True
    assert await other.delete(stored.key) is True
    assert await one.size(stored.key) is None


async def test_given_credentials_when_shown_then_the_secret_is_not(
    s3_server: S3Server, s3_bucket: str,  # noqa: F811
) -> None:
    storage = _s3_storage(s3_server, s3_bucket)

    shown = [repr(storage), str(storage), repr(vars(storage))]

    assert not any(s3_server.secret_access_key in text for text in shown)
    assert s3_bucket in repr(storage)


async def test_given_a_bucket_when_checked_then_only_a_missing_one_fails(
    s3_server: S3Server, s3_bucket: str,  # noqa: F811
) -> None:
    await _s3_storage(s3_server, s3_bucket).check()

    with pytest.raises(ObjectStoreError, match="NoSuchBucket"):
        await _s3_storage(s3_server, "no-such-bucket").check()


def test_given_half_a_key_pair_when_built_then_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        S3Storage(bucket="recordings", access_key_id="id-only")
    with pytest.raises(ValueError, match="bucket"):
        S3Storage(bucket="")


def test_given_an_addressing_style_then_the_bucket_is_in_the_path_or_the_host() -> None:
    assert endpoint_of("https://minio.internal:9000/", "recordings", "path") == "https://minio.internal:9000"
    assert endpoint_of("https://minio.internal:9000", "recordings", "virtual") == "https://recordings.minio.internal:9000"


async def test_given_an_unreachable_server_when_used_then_it_fails_instead_of_saying_missing() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = S3Storage(bucket="recordings", endpoint_url=f"http://127.0.0.1:{port}", access_key_id="id",
                        secret_access_key="secret", max_retries=0, connect_timeout_s=1, retry_timeout_s=1)

    with pytest.raises(ObjectStoreError):
        await storage.size(KEY)
    with pytest.raises(ObjectStoreError):
        await storage.verify(KEY, SHA256)
    with pytest.raises(ObjectStoreError):
        await storage.put(CONTENT)
