"""Recordings in a bucket of an S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage…), so that
every replica of the service sees the same ones.

An object is named ``<prefix>/sha256/<hex>``: the key ``LocalStorage`` uses, under an optional prefix.
The client is obstore's (Rust ``object_store`` + reqwest): its HTTP connections live in obstore's own
runtime, not in an asyncio loop, so an ``S3Storage`` can be built anywhere (the composition root,
before the loop runs), used from any loop, and has nothing to close (its pooled connections go with
it). Uploads are signed over their SHA-256 payload (SigV4), so the server refuses bytes damaged on
the way in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

import obstore
from obstore.exceptions import BaseError
from obstore.store import S3Store

from recordings.storage import CHUNK, Stored, digest_of, key_of, verify_stream

if TYPE_CHECKING:
    from obstore import GetOptions
    from obstore.store import ClientConfig, RetryConfig, S3Config, S3Credential

AddressingStyle = Literal["path", "virtual"]
_HEX = frozenset("0123456789abcdef")


class S3Storage:
    """``RecordingStorage`` on one bucket. Missing objects behave as in ``LocalStorage``:
    ``FileNotFoundError`` from ``get``/``stream``, None from ``size``, False from ``delete``/``verify``;
    any other failure (the store unreachable, access refused) raises the client's error.

    Without ``access_key_id``/``secret_access_key`` the credentials come from the environment
    (``AWS_*`` variables, an instance or container role). ``addressing_style="path"`` (the
    default) names the bucket in the URL path, as S3-compatible servers expect; ``"virtual"`` in
    the host name (AWS). Timeouts: ``connect_timeout_s`` to connect, ``read_timeout_s`` for a
    stalled read, ``request_timeout_s`` for a whole request with its body (a streamed recording
    must be read within it). Failed requests (5xx, connection errors, timeouts) are retried up
    to ``max_retries`` times with back-off, for at most ``retry_timeout_s``.
    """

    def __init__(
        self, *, bucket: str, endpoint_url: str | None = None, region: str = "us-east-1", prefix: str = "",
        access_key_id: str | None = None, secret_access_key: str | None = None,
        addressing_style: AddressingStyle = "path", connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0,
        request_timeout_s: float = 300.0, max_retries: int = 3, retry_timeout_s: float = 60.0,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 bucket is required")
        if (access_key_id is None) != (secret_access_key is None):
            raise ValueError("give both the S3 access key id and the secret access key, or neither")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        config: S3Config = {"region": region, "virtual_hosted_style_request": addressing_style == "virtual"}
        if endpoint_url:
            config["endpoint"] = endpoint_of(endpoint_url, bucket, addressing_style)
        client: ClientConfig = {
            "allow_http": (endpoint_url or "").startswith("http://"),
            "connect_timeout": dt.timedelta(seconds=connect_timeout_s),
            "read_timeout": dt.timedelta(seconds=read_timeout_s),
            "timeout": dt.timedelta(seconds=request_timeout_s),
        }
        retry: RetryConfig = {"max_retries": max_retries, "retry_timeout": dt.timedelta(seconds=retry_timeout_s)}
        credentials = (_StaticCredentials(access_key_id, secret_access_key)
                       if access_key_id is not None and secret_access_key is not None else None)
        self._store = S3Store(bucket, prefix=self.prefix or None, config=config, client_options=client,
                              retry_config=retry, credential_provider=credentials)

    def __repr__(self) -> str:
        return f"S3Storage(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r}, prefix={self.prefix!r})"

    async def check(self) -> None:
        """Raise the client's error unless the bucket answers (it exists, the credentials may list
        it). Call it at start-up: S3 answers a HEAD in a missing bucket with a bare 404, which
        every other method reads as "this recording is not there"."""
        await obstore.list_with_delimiter_async(self._store, "sha256/check")  # no digest starts so: nothing listed

    async def put(self, content: bytes) -> Stored:
        """Upload unless an object of the same size is already there (content-addressed: it is
        the same recording; ``verify`` is what catches an object damaged in place)."""
        sha256 = (await asyncio.to_thread(hashlib.sha256, content)).hexdigest()
        key = key_of(sha256)
        if await self.size(key) != len(content):
            await obstore.put_async(self._store, key, content)
        return Stored(key=key, sha256=sha256, size_bytes=len(content))

    async def get(self, key: str) -> bytes:
        result = await obstore.get_async(self._store, _object_name(key))
        return (await result.bytes_async()).to_bytes()

    async def size(self, key: str) -> int | None:
        try:
            return (await obstore.head_async(self._store, _object_name(key)))["size"]
        except FileNotFoundError:
            return None

    async def stream(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """One ranged GET, read in chunks of at least ``CHUNK`` bytes (the last may be shorter). An
        empty range (``end`` before ``start``, or ``start`` past the last byte) yields nothing."""
        name = _object_name(key)
        if end is not None and end < start:
            await obstore.head_async(self._store, name)  # FileNotFoundError when it is not there
            return
        options: GetOptions = {}
        if end is not None:
            options["range"] = (start, end + 1)  # obstore's end is exclusive
        elif start:
            options["range"] = {"offset": start}
        try:
            result = await obstore.get_async(self._store, name, options=options)
        except BaseError:  # 416 when start is past the last byte; anything else is raised again
            if not start or start < (await obstore.head_async(self._store, name))["size"]:
                raise
            return
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield chunk

    async def delete(self, key: str) -> bool:
        try:
            name = _object_name(key)
            await obstore.head_async(self._store, name)  # S3 answers a delete of nothing with success
        except FileNotFoundError:
            return False
        await obstore.delete_async(self._store, name)
        return True

    async def verify(self, key: str, sha256: str) -> bool:
        return await verify_stream(self, key, sha256)


def endpoint_of(endpoint_url: str, bucket: str, addressing_style: AddressingStyle) -> str:
    """The endpoint obstore is given: the server's URL as it is for path-style addressing; with
    the bucket in front of the host name for virtual-hosted style (what obstore expects then)."""
    url = endpoint_url.rstrip("/")
    if addressing_style == "path":
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{bucket}.{parts.netloc}"))


def _object_name(key: str) -> str:
    """``sha256/<hex>`` for a recording key (or a bare digest); anything else is refused as a
    recording that is not there, so no other object of the bucket can be named through a key."""
    sha256 = digest_of(key)
    if len(sha256) != 64 or not _HEX.issuperset(sha256):
        raise FileNotFoundError(f"not a recording key: {key!r}")
    return key_of(sha256)


class _StaticCredentials:
    """The configured key pair, given to obstore as is (so no ``AWS_SESSION_TOKEN`` or other
    credential from the environment is mixed in); its repr hides the secret."""

    def __init__(self, access_key_id: str, secret_access_key: str) -> None:
        self._credential: S3Credential = {"access_key_id": access_key_id, "secret_access_key": secret_access_key,
                                          "token": None, "expires_at": None}

    def __call__(self) -> S3Credential:
        return self._credential

    def __repr__(self) -> str:
        return f"_StaticCredentials(access_key_id={self._credential['access_key_id']!r}, secret_access_key=***)"
