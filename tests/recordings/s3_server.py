"""A real S3-compatible server for the tests: moto in server mode (HTTP, SigV4, ranged GETs), in a
thread of the test process on a free port of 127.0.0.1, started once per run; each test gets a
bucket of its own. Import the fixtures into a test module to use them::

    from tests.recordings.s3_server import S3Server, s3_bucket, s3_server  # noqa: F401

moto is a test dependency (``moto[server]``), so these never skip. ``S3Server`` also reaches
behind the storage's back (boto3, installed with moto): to list what a bucket holds and to
replace an object's bytes, as a failing disk or a careless operator would.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-access-key"  # moto accepts any pair; this one is checked for leaks


@dataclass(frozen=True, slots=True)
class S3Server:
    endpoint_url: str
    region: str = REGION
    access_key_id: str = ACCESS_KEY_ID
    secret_access_key: str = SECRET_ACCESS_KEY

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)

    def create_bucket(self) -> str:
        name = f"recordings-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def names(self, bucket: str) -> list[str]:
        """Every object name in the bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def overwrite(self, bucket: str, name: str, content: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=name, Body=content)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket for this test alone."""
    return s3_server.create_bucket()
