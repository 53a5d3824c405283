"""File imports through the HTTP API (multipart) and the CLI."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from dialer.cli import _in_session, _settings
from dialer.cli import app as cli
from dialer.clients.schemas import ClientCreate
from dialer.clients.service import create_client

GOOD = (
    "account_ref,debtor_name,debtor_numbers,total_owed,overdue_days,contact1_name,contact1_relation,contact1_numbers\n"
    "A-1,张三,13800138000,15800.00,45,李四,配偶,13900139000\n"
    "A-2,王五,13700137000;13600136000,2000,10,,,\n"
)
BAD = (
    "account_ref,debtor_name,debtor_numbers,total_owed,overdue_days,contact1_name,contact1_relation,contact1_numbers\n"
    "A-1,张三,12345,15800.00,45,李四,配偶,13900139000\n"
    "A-2,王五,13700137000,2000,10,赵六,邻居,13500135000\n"
    "A-1,重复,13400134000,1,1,,,\n"
)


async def _client(api, headers) -> int:
    return (await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行"}, headers=headers["admin"])).json()["id"]


async def test_given_good_csv_upload_then_201_with_counts_and_cases_listed(api, headers):
    cid = await _client(api, headers)
    response = await api.post(
        f"/v1/clients/{cid}/imports/cases", files={"file": ("cases.csv", GOOD.encode(), "text/csv")},
        headers=headers["integration"],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["rows"] == 2
    assert body["created"] == {"cases": 2, "debtors": 2, "third_parties": 1, "phone_numbers": 4}
    cases = (await api.get("/v1/cases", params={"client_id": cid}, headers=headers["admin"])).json()["items"]
    assert [c["account_ref"] for c in cases] == ["A-1", "A-2"]


async def test_given_bad_rows_upload_then_422_report_names_lines_and_nothing_written(api, headers):
    cid = await _client(api, headers)
    response = await api.post(
        f"/v1/clients/{cid}/imports/cases", files={"file": ("cases.csv", BAD.encode(), "text/csv")},
        headers=headers["supervisor"],
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "import_rejected"
    assert "nothing was imported" in body["detail"]
    found = {(e["line"], e["column"]) for e in body["errors"]}
    assert (2, "debtor_numbers") in found
    assert (3, "contact1_relation") in found
    assert (4, "account_ref") in found
    assert all(e["reason"] for e in body["errors"])
    cases = (await api.get("/v1/cases", headers=headers["admin"])).json()["items"]
    assert cases == []


async def test_given_agent_then_cannot_import(api, headers):
    cid = await _client(api, headers)
    response = await api.post(
        f"/v1/clients/{cid}/imports/cases", files={"file": ("cases.csv", GOOD.encode(), "text/csv")},
        headers=headers["agent"],
    )
    assert response.status_code == 403


async def test_given_stop_list_upload_then_entries_created(api, headers):
    cid = await _client(api, headers)
    csv = "number,id_number,reason\n13800138000,,客户投诉\n,110101199003074514,委托方要求停催\n"
    response = await api.post(
        f"/v1/clients/{cid}/imports/stop-list", files={"file": ("stop.csv", csv.encode(), "text/csv")},
        headers=headers["admin"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["created"]["stop_contacts"] == 2


def _cli(args: list[str]):
    return CliRunner().invoke(cli, args)


def test_given_files_when_imported_with_cli_then_counts_or_report(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DIALER_DATABASE_URL", db_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    asyncio.run(_in_session(_settings(), lambda s: create_client(s, data=ClientCreate(code="CMB", name="招商银行"), actor=None)))
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.csv").write_text(BAD, encoding="utf-8")

    bad = _cli(["--json", "import-cases", "CMB", str(tmp_path / "bad.csv")])
    assert bad.exit_code == 2
    report = json.loads(bad.output)
    assert report["error"] == "import_rejected" and len(report["errors"]) >= 3

    good = _cli(["import-cases", "CMB", str(tmp_path / "good.csv")])
    assert good.exit_code == 0, good.output
    assert json.loads(good.output)["created"]["cases"] == 2

    stop = tmp_path / "stop.csv"
    stop.write_text("电话,原因\n13800138000,本人要求\n", encoding="utf-8")
    listed = _cli(["import-stop-list", "CMB", str(stop)])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)["created"]["stop_contacts"] == 1
