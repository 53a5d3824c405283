"""A huge or very bad import is refused with a small report; an oversized upload is not read."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dialer.cases.models import Case
from dialer.imports.case_rows import parse_case_file
from dialer.imports.endpoints import MAX_UPLOAD_BYTES
from dialer.imports.service import import_cases
from dialer.kit.errors import ImportRejected
from tests.factories import make_client
from tests.imports.test_service import NOW

HEADER = "account_ref,debtor_name,debtor_numbers,total_owed,overdue_days"


def bad_rows(count: int) -> bytes:
    return (HEADER + "\n" + "".join(f"A-{n},张三,12345,abc,1\n" for n in range(count))).encode()


def good_rows(count: int) -> bytes:
    return (HEADER + "\n" + "".join(f"A-{n},张三,138{n:08d},100,1\n" for n in range(count))).encode()


def test_given_thousands_of_bad_rows_when_parsed_then_fifty_kept_per_kind_and_all_counted():
    parsed = parse_case_file("bad.csv", bad_rows(3000))

    assert parsed.rows == ()
    assert len(parsed.errors) == 100  # 50 debtor_numbers + 50 total_owed
    assert parsed.log is not None
    assert dict(parsed.log.counts) == {"debtor_numbers": 3000, "total_owed": 3000}
    assert parsed.log.bad_rows == 3000
    assert [e.line for e in parsed.errors][:4] == [2, 2, 3, 3]


async def test_given_a_file_of_thousands_of_bad_rows_then_the_rejection_report_is_bounded(session):
    client = await make_client(session)

    with pytest.raises(ImportRejected) as rejected:
        await import_cases(session, client_id=client.id, filename="bad.csv", content=bad_rows(3000), actor=None, now=NOW)

    body = rejected.value.body()
    assert body["detail"].startswith("3000 rows rejected in bad.csv; nothing was imported")
    assert "the first 50 errors of each kind are listed" in body["detail"]
    assert len(body["errors"]) == 100
    assert body["error_counts"] == {"debtor_numbers": 3000, "total_owed": 3000}
    assert body["errors_total"] == 6000


async def test_given_a_file_imported_twice_then_the_database_findings_are_bounded_too(session):
    client = await make_client(session)
    content = good_rows(120)
    await import_cases(session, client_id=client.id, filename="good.csv", content=content, actor=None, now=NOW)

    with pytest.raises(ImportRejected) as rejected:
        await import_cases(session, client_id=client.id, filename="again.csv", content=content, actor=None, now=NOW)

    body = rejected.value.body()
    assert body["error_counts"] == {"account_ref": 120} and len(body["errors"]) == 50
    assert all("already imported" in e["reason"] for e in body["errors"])
    assert await session.scalar(select(func.count()).select_from(Case)) == 120


async def _client_id(api, headers) -> int:
    return (await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行"}, headers=headers["admin"])).json()["id"]


async def test_given_an_upload_over_the_cap_then_413_names_the_limit_before_reading_it(api, headers):
    cid = await _client_id(api, headers)
    huge = b"x" * (MAX_UPLOAD_BYTES + 1)

    response = await api.post(
        f"/v1/clients/{cid}/imports/cases", files={"file": ("huge.csv", huge, "text/csv")}, headers=headers["admin"],
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": "import_too_large", "detail": "the upload is larger than 20 MiB", "limit": "upload_bytes",
        "maximum": MAX_UPLOAD_BYTES,
    }


async def test_given_a_chunked_upload_without_length_over_the_cap_then_413_while_streaming(api, headers):
    cid = await _client_id(api, headers)
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()

    async def body():
        yield head
        for _ in range(MAX_UPLOAD_BYTES // (1024 * 1024) + 2):
            yield b"x" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await api.post(
        f"/v1/clients/{cid}/imports/stop-list", content=body(),
        headers={**headers["admin"], "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 413
    assert (response.json()["error"], response.json()["limit"]) == ("import_too_large", "upload_bytes")


async def test_given_a_bad_file_through_the_api_then_the_body_holds_counts_per_kind(api, headers):
    cid = await _client_id(api, headers)

    response = await api.post(
        f"/v1/clients/{cid}/imports/cases", files={"file": ("bad.csv", bad_rows(500), "text/csv")},
        headers=headers["admin"],
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "import_rejected"
    assert body["error_counts"] == {"debtor_numbers": 500, "total_owed": 500} and len(body["errors"]) == 100
