"""The service on an S3-compatible bucket (moto's real server): settings choose it, recordings are
stored there, and the completeness audit verifies them there."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from dialer.settings import Settings
from recordings.s3 import S3Storage
from tests.archive.records import stored_recording
from tests.recordings.s3_server import S3Server, s3_bucket, s3_server  # noqa: F401 (fixtures)


def test_given_s3_storage_without_a_bucket_then_the_settings_say_so() -> None:
    with pytest.raises(ValidationError, match="needs s3_bucket"):
        Settings(_env_file=None, recording_storage="s3")


@pytest.fixture
def settings(settings, s3_server: S3Server, s3_bucket: str):  # noqa: F811 (the shared fixture, on S3)
    return settings.model_copy(update={
        "recording_storage": "s3", "s3_endpoint_url": s3_server.endpoint_url, "s3_bucket": s3_bucket,
        "s3_prefix": "calls", "s3_access_key_id": s3_server.access_key_id,
        "s3_secret_access_key": SecretStr(s3_server.secret_access_key)})


async def test_given_s3_settings_then_recordings_kept_in_the_bucket_and_audited_there(
        api, app, headers, s3_server: S3Server, s3_bucket: str) -> None:  # noqa: F811
    storage = app.state.container.storage
    assert isinstance(storage, S3Storage)
    async with app.state.container.sessions() as session:
        recording = await stored_recording(session, storage)
        await session.commit()
    assert s3_server.names(s3_bucket) == [f"calls/sha256/{recording.sha256}"]

    report = (await api.get("/v1/audit/recordings", params={"day": "2026-11-24"}, headers=headers["admin"])).json()
    assert report["recordings_verified"] == 1

    s3_server.overwrite(s3_bucket, f"calls/sha256/{recording.sha256}", b"not the recording")
    report = (await api.get("/v1/audit/recordings", params={"day": "2026-11-24"}, headers=headers["admin"])).json()
    assert report["gaps_by_kind"]["file_corrupt"] == 1
