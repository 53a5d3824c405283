"""Exports: a party's file holds every attempt with its decision (rule results, violations, policy
version, zones and why, the counts at that instant), agent and seat, the call and its recording's
SHA-256, and every refusal, in CSV, XLSX and JSON alike; formula-like text is neutralised in the
tables; each export is audited and writes nothing else."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from sqlalchemy import select

from dialer.audit import exports
from dialer.audit.models import AuditEntry
from dialer.audit.schemas import ExportQuery
from dialer.compliance import evidence
from dialer.outbox.payloads import duration_of
from tests.auditor.conftest import FORMULA_ACCOUNT, FORMULA_AGENT, Floor, at, row_counts


async def _export(api, floor: Floor, fmt: str, role: str = "auditor", **params) -> list[dict]:
    """The export's rows as dicts of text (tables) or values (JSON)."""
    answer = await api.get("/v1/audit/exports", params={"format": fmt, **params}, headers=floor.headers[role])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    if fmt == "csv":
        assert answer.content.startswith(b"\xef\xbb\xbf")
        return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
        header, *rows = book["export"].iter_rows(values_only=True)
        about = dict(book["about"].iter_rows(values_only=True))
        assert about["rows"] == len(rows) and about["generated_by"] == "auditor-1"
        return [{name: "" if value is None else value for name, value in zip(header, row)} for row in rows]
    body = json.loads(answer.content)
    assert body["row_count"] == len(body["rows"]) and body["about"]["scope"]["party_id"] == floor.friend_a
    return body["rows"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
async def test_given_a_party_when_exported_then_every_attempt_with_its_decision_and_evidence(api, floor: Floor, fmt):
    rows = await _export(api, floor, fmt, party_id=floor.friend_a)

    def cell(row: dict, name: str) -> str:
        """As CSV shows it (XLSX and JSON hold booleans and numbers as such; JSON's null is no text)."""
        value = row[name]
        return str(value).lower() if isinstance(value, bool) else "" if value is None else str(value)

    assert [cell(r, "row_type") for r in rows] == ["attempt", "attempt", "attempt", "refused_decision"]
    assert [cell(r, "attempt_id") for r in rows[:3]] == [str(floor.attempts[n]) for n in (
        "imported", "friend_1000", "friend_1010")]
    assert [cell(r, "decision_id") for r in rows] == ["", *(str(floor.decisions[n]) for n in (
        "friend_1000", "friend_1010", "friend_1020"))]
    imported, first, second, refused = rows
    assert cell(imported, "attempt_source") == "import" and cell(imported, "policy_version") == ""
    assert cell(first, "allowed") == "true" and cell(refused, "allowed") == "false"
    assert {cell(r, "policy_version") for r in rows[1:]} == {"1"}
    assert {cell(r, "party_id") for r in rows} == {str(floor.friend_a)}
    assert {cell(r, "number") for r in rows} == {floor.friend_number}
    assert cell(first, "call_id") == str(floor.calls["friend_1000"]) and cell(first, "call_outcome") == "answered"
    assert cell(first, "call_duration_s") == "95" and cell(second, "call_outcome") == "no_answer"
    assert cell(refused, "call_id") == "" and cell(refused, "agent_id") == str(floor.users["agent-1"].id)
    assert cell(first, "seat") and cell(first, "seat_id") == cell(refused, "seat_id")
    if fmt == "json":
        assert first["rule_results"]["calling_window"] == "pass"
        assert refused["rule_results"]["third_party_hourly_cap"] == "fail"
        assert [v["rule"] for v in refused["violations"]] == ["third_party_hourly_cap"]
        assert first["zones"] == [{"zone": "Asia/Shanghai",
                                   "sources": ["policy default", f"number {floor.friend_number} prefix"]}]
        assert first["zone_sources"] == "recorded_only"
        counts = {c["rule"]: (c["used"], c["limit"]) for c in refused["counts"]}
        assert counts == {"third_party_daily_cap": (2, 6), "third_party_hourly_cap": (2, 2)}
        assert {c["rule"]: c["used"] for c in second["counts"]} == {"third_party_daily_cap": 1,
                                                                   "third_party_hourly_cap": 1}
        assert first["recordings"] == [{"id": floor.recording_id, "status": "stored", "sha256": floor.sha256,
                                        "partial": False}]
        assert (first["agent"], first["account_ref"]) == (FORMULA_AGENT, FORMULA_ACCOUNT)  # JSON runs no formula
        assert imported["zones"] is None and imported["recordings"] == []
    else:
        assert "calling_window=pass" in first["rule_results"]
        assert "third_party_hourly_cap=fail" in refused["rule_results"]
        assert refused["violations"].startswith("third_party_hourly_cap: ")
        assert first["zones"] == f"Asia/Shanghai (policy default, number {floor.friend_number} prefix)"
        assert "third_party_hourly_cap 2/2 (rolling 60 minutes)" in refused["counts"]
        assert "third_party_daily_cap 2/6 (local day)" in refused["counts"]
        assert first["recording_sha256"] == floor.sha256 and first["recording_statuses"] == "stored"
        assert first["agent"] == "'" + FORMULA_AGENT and first["account_ref"] == "'" + FORMULA_ACCOUNT
        assert second["recording_sha256"] == ""
    assert cell(first, "evidence_basis") == evidence.BASIS


async def test_given_an_xlsx_export_then_no_cell_is_a_formula(api, floor: Floor):
    answer = await api.get("/v1/audit/exports", params={"format": "xlsx", "case_id": floor.case_a},
                           headers=floor.headers["admin"])
    book = openpyxl.load_workbook(io.BytesIO(answer.content))

    cells = [c for row in book["export"].iter_rows() for c in row]
    assert cells and all(c.data_type != "f" for c in cells)
    assert any(c.value == "'" + FORMULA_AGENT for c in cells)


async def test_given_an_export_then_it_is_audited_and_writes_nothing_else(app, api, floor: Floor):
    before = await row_counts(app)

    await _export(api, floor, "json", party_id=floor.friend_a)

    after = await row_counts(app)
    assert {table: after[table] - count for table, count in before.items() if after[table] != count} == {
        "audit_log": 1}
    async with app.state.container.sessions() as s:
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "audit.export"))).scalar_one()
    assert (entry.actor_id, entry.actor_role, entry.entity) == (floor.users["auditor"].id, "auditor", "export")
    assert entry.detail == {"who": "auditor-1", "scope": {"party_id": floor.friend_a, "include_dry_runs": False},
                            "format": "json", "rows": 4}


async def test_given_scopes_then_each_holds_its_own_rows(api, floor: Floor):
    case_a = await _export(api, floor, "csv", case_id=floor.case_a)
    with_dry_runs = await _export(api, floor, "csv", case_id=floor.case_a, include_dry_runs="true")
    client_b = await _export(api, floor, "csv", client_id=floor.client_b)
    everyone_in_range = await _export(api, floor, "csv", **{"from": at(5).isoformat(), "to": at(60).isoformat()})

    assert [r["decision_id"] for r in case_a][1:] == [str(floor.decisions[n]) for n in (
        "friend_1000", "friend_1010", "friend_1020")]
    dry_run = [r for r in with_dry_runs if r["decision_id"] == str(floor.decisions["debtor_a_dry_run"])]
    assert len(with_dry_runs) == len(case_a) + len(dry_run) and all(r["dry_run"] == "true" for r in dry_run)
    assert [(r["row_type"], r["decision_id"], r["client_code"]) for r in client_b] == [
        ("attempt", str(floor.decisions["b_1030"]), client_b[0]["client_code"])]
    assert [r["decision_id"] for r in everyone_in_range] == [str(floor.decisions[n]) for n in (
        "friend_1010", "friend_1020", "b_1030")]


async def test_given_small_batches_then_the_same_rows_in_the_same_order(app, floor: Floor):
    query = ExportQuery.model_validate({"case_id": floor.case_a, "include_dry_runs": True})

    async def collect(batch: int) -> list[dict]:
        async with app.state.container.sessions() as s:
            found = await exports.keys(s, query)
            return [row async for row in exports.rows(s, found, evidence=_plain_evidence, duration=duration_of,
                                                      batch=batch)]

    assert await collect(1) == await collect(500)


async def _plain_evidence(session, decisions):
    rebuilt = await evidence.rebuild(session, decisions)
    return {decision_id: {"zones": [z.zone for z in e.zones]} for decision_id, e in rebuilt.items()}


async def test_given_more_rows_than_the_limit_then_export_too_large_naming_it(app, floor: Floor):
    query = ExportQuery.model_validate({"party_id": floor.friend_a})

    async with app.state.container.sessions() as s:
        with pytest.raises(exports.ExportTooLarge) as refused:
            await exports.keys(s, query, limit=3)
        assert len(await exports.keys(s, query, limit=4)) == 4

    assert refused.value.status == 422 and refused.value.code == "export_too_large"
    assert refused.value.extra == {"limit": 3} and "more than 3 rows" in refused.value.detail


@pytest.mark.parametrize("role", ["agent", "supervisor", "integration"])
async def test_given_a_role_other_than_auditor_or_admin_then_no_export(app, api, floor: Floor, role):
    answer = await api.get("/v1/audit/exports", params={"party_id": floor.friend_a}, headers=floor.headers[role])

    assert answer.status_code == 403
    async with app.state.container.sessions() as s:
        assert (await s.execute(select(AuditEntry).where(AuditEntry.action == "audit.export"))).first() is None


@pytest.mark.parametrize(("params", "field"), [
    ({"party_id": "1", "case_id": "2"}, "client_id"),
    ({}, "client_id"),
    ({"from": "2026-11-24T00:00:00+08:00"}, "client_id"),
    ({"party_id": "1", "format": "pdf"}, "format"),
    ({"party_id": "1", "from": "2026-11-24T00:00:00"}, "from"),
    ({"party_id": "1", "from": "2026-11-24T00:00:00+08:00", "to": "2026-11-23T00:00:00+08:00"}, "to"),
    ({"party_id": "0"}, "party_id"),
    ({"party_id": "1", "include_dry_runs": "perhaps"}, "include_dry_runs"),
])
async def test_given_a_bad_export_query_then_422_naming_the_field(api, headers, params, field):
    answer = await api.get("/v1/audit/exports", params=params, headers=headers["auditor"])

    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["fields"]] == [field]
