"""Importing case files and stop lists into the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.models import AuditEntry
from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.cases.models import Bucket, Case, CaseStatus, Party, PartyRole, PhoneNumber, Relation
from dialer.clients.models import Client
from dialer.compliance.models import StopContact, StopSource
from dialer.imports.models import ImportBatch, ImportKind
from dialer.imports.service import import_cases, import_stop_list
from dialer.kit.errors import ImportRejected, NotFound
from tests.factories import make_case, make_client, make_party, make_user

# 01:30 on 2 March in Shanghai: the overdue date is the client's local date, not UTC's.
NOW = dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.timezone.utc)

CASE_HEADER = [
    "account_ref", "debtor_name", "debtor_id_number", "debtor_numbers", "principal", "total_owed",
    "overdue_days", "assigned_agent", "contact1_name", "contact1_relation", "contact1_numbers",
    "contact1_debt_related", "contact2_name", "contact2_relation", "contact2_numbers",
]
CASE_ROWS = [
    ["A001", "张三", "11010519491231002X", "13800138000; 010-62345678", "15000", "¥15,800.50", "45", "agent7",
     "李四", "配偶", "13900139000", "是", "王五", "colleague", "13700137000/13700137001"],
    ["A002", "赵六", "", "13800138001", "", "900", "61", "", "", "", "", "", "", "", ""],
]


def principal(user_id: int) -> Principal:
    return Principal(user_id=user_id, username="sup", role=Role.SUPERVISOR, team=None, via="token")


def as_csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(f'"{c}"' if "," in c else c for c in row) for row in rows).encode(encoding)


def as_xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append([c if c != "" else None for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def count(session: AsyncSession, model: type[Any]) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def assert_sample_imported(session: AsyncSession, client: Client, agent_id: int, batch_id: int) -> None:
    cases = {c.account_ref: c for c in (await session.execute(select(Case))).scalars()}
    assert set(cases) == {"A001", "A002"}
    first, second = cases["A001"], cases["A002"]
    assert (first.client_id, first.total_owed, first.principal, first.interest_fees) == (
        client.id, Decimal("15800.50"), Decimal("15000.00"), Decimal("0.00"))
    assert (first.overdue_days, first.bucket, second.bucket) == (45, Bucket.M2, Bucket.M3_PLUS)
    assert first.overdue_as_of == dt.date(2026, 3, 2)
    assert (first.status, first.currency, first.import_batch_id) == (CaseStatus.OPEN, "CNY", batch_id)
    assert (first.assigned_agent_id, first.team) == (agent_id, "team-a")
    assert (second.assigned_agent_id, second.team) == (None, None)

    parties = (await session.execute(select(Party).order_by(Party.id))).scalars().all()
    assert [(p.case_id, p.role, p.relation, p.name) for p in parties] == [
        (first.id, PartyRole.DEBTOR, Relation.SELF, "张三"),
        (first.id, PartyRole.THIRD_PARTY, Relation.SPOUSE, "李四"),
        (first.id, PartyRole.THIRD_PARTY, Relation.COLLEAGUE, "王五"),
        (second.id, PartyRole.DEBTOR, Relation.SELF, "赵六"),
    ]
    assert parties[0].id_number == "11010519491231002X"
    assert [p.debt_related for p in parties] == [False, True, False, False]

    numbers = (await session.execute(select(PhoneNumber).order_by(PhoneNumber.id))).scalars().all()
    assert [(n.party_id, n.e164, n.position) for n in numbers] == [
        (parties[0].id, "+8613800138000", 0),
        (parties[0].id, "+861062345678", 1),
        (parties[1].id, "+8613900139000", 0),
        (parties[2].id, "+8613700137000", 0),
        (parties[2].id, "+8613700137001", 1),
        (parties[3].id, "+8613800138001", 0),
    ]
    assert (numbers[0].kind.value, numbers[1].kind.value) == ("mobile", "home")
    assert {(n.region, n.time_zone, n.valid) for n in numbers} == {("CN", "Asia/Shanghai", True)}


# --- cases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_given_a_good_file_when_imported_then_cases_parties_and_numbers_exactly(session, fmt):
    client = await make_client(session)
    agent = await make_user(session, username="agent7", team="team-a")
    boss = await make_user(session, role=Role.SUPERVISOR)
    content = as_csv([CASE_HEADER, *CASE_ROWS]) if fmt == "csv" else as_xlsx([CASE_HEADER, *CASE_ROWS])

    result = await import_cases(
        session, client_id=client.id, filename=f"cases.{fmt}", content=content, actor=principal(boss.id), now=NOW,
    )
    await session.commit()

    assert (result.kind, result.rows) == ("cases", 2)
    assert result.created == {"cases": 2, "debtors": 2, "third_parties": 2, "phone_numbers": 6}
    await assert_sample_imported(session, client, agent.id, result.batch_id)
    batch = await session.get(ImportBatch, result.batch_id)
    assert (batch.kind, batch.filename, batch.row_count, batch.created_by_id) == (
        ImportKind.CASES, f"cases.{fmt}", 2, boss.id)
    assert batch.sha256 == hashlib.sha256(content).hexdigest()
    [audit] = (await session.execute(select(AuditEntry))).scalars().all()
    assert (audit.action, audit.actor_id, audit.entity, audit.entity_id) == (
        "import.cases", boss.id, "import_batch", str(batch.id))
    assert audit.detail["rows"] == 2


async def test_given_a_gb18030_csv_with_chinese_headers_when_imported_then_same_cases(session):
    client = await make_client(session)
    agent = await make_user(session, username="agent7", team="team-a")
    chinese = ["账号", "姓名", "身份证号", "电话", "本金", "欠款总额", "逾期天数", "催收员", "联系人1姓名",
               "联系人1关系", "联系人1电话", "联系人1涉债", "联系人2姓名", "联系人2关系", "联系人2电话"]
    content = as_csv([chinese, *CASE_ROWS], encoding="gb18030")

    result = await import_cases(session, client_id=client.id, filename="案件.csv", content=content, actor=None, now=NOW)

    assert result.created["cases"] == 2
    await assert_sample_imported(session, client, agent.id, result.batch_id)


async def test_given_bad_rows_when_imported_then_rejected_with_every_error_and_nothing_written(session):
    client = await make_client(session)
    await make_user(session, username="agent7")
    await make_case(session, client=client, account_ref="OLD1")
    before = {m: await count(session, m) for m in (Case, Party, PhoneNumber, ImportBatch, AuditEntry)}
    rows = [
        CASE_ROWS[0],
        ["A002", "赵六", "", "1380013", "", "900", "61", "", "", "", "", "", "", "", ""],
        ["A003", "钱七", "", "13800138003", "", "900", "61", "", "孙八", "boss", "13900139003", "", "", "", ""],
        ["A004", "", "", "13800138004", "", "900", "61", "", "", "", "", "", "", "", ""],
        ["A001", "周九", "", "13800138005", "", "900", "61", "", "", "", "", "", "", "", ""],
        ["A006", "吴十", "", "13800138006", "", "12.345", "61", "", "", "", "", "", "", "", ""],
        ["OLD1", "郑一", "", "13800138007", "", "900", "61", "nobody", "", "", "", "", "", "", ""],
    ]

    with pytest.raises(ImportRejected) as info:
        await import_cases(
            session, client_id=client.id, filename="cases.csv", content=as_csv([CASE_HEADER, *rows]),
            actor=None, now=NOW,
        )

    assert info.value.detail == "6 rows rejected in cases.csv; nothing was imported"
    errors = {(e["line"], e["column"]): e["reason"] for e in info.value.extra["errors"]}
    assert set(errors) == {
        (3, "debtor_numbers"), (4, "contact1_relation"), (5, "debtor_name"), (6, "account_ref"),
        (7, "total_owed"), (8, "account_ref"), (8, "assigned_agent"),
    }
    assert "'1380013'" in errors[(3, "debtor_numbers")]
    assert "unknown relation 'boss'" in errors[(4, "contact1_relation")]
    assert errors[(5, "debtor_name")] == "debtor_name is required"
    assert errors[(6, "account_ref")] == "account_ref 'A001' is duplicated: also on line 2"
    assert "more than two decimals" in errors[(7, "total_owed")]
    assert errors[(8, "account_ref")] == "account_ref 'OLD1' was already imported for this client"
    assert errors[(8, "assigned_agent")] == "no active agent with username 'nobody'"
    assert {m: await count(session, m) for m in before} == before


async def test_given_an_account_already_imported_when_imported_again_then_rejected(session):
    client = await make_client(session)
    await make_user(session, username="agent7")
    await import_cases(session, client_id=client.id, filename="day1.csv",
                       content=as_csv([CASE_HEADER, *CASE_ROWS]), actor=None, now=NOW)
    await session.commit()

    with pytest.raises(ImportRejected) as info:
        await import_cases(session, client_id=client.id, filename="day2.csv",
                           content=as_csv([CASE_HEADER, CASE_ROWS[1]]), actor=None, now=NOW)

    assert info.value.extra["errors"] == [
        {"line": 2, "column": "account_ref", "reason": "account_ref 'A002' was already imported for this client"}
    ]
    assert (await count(session, Case), await count(session, ImportBatch)) == (2, 1)


async def test_given_the_same_account_for_another_client_then_imported(session):
    first, second = await make_client(session, code="B1"), await make_client(session, code="B2")
    content = as_csv([CASE_HEADER, CASE_ROWS[1]])
    await import_cases(session, client_id=first.id, filename="c.csv", content=content, actor=None, now=NOW)

    result = await import_cases(session, client_id=second.id, filename="c.csv", content=content, actor=None, now=NOW)

    assert result.created["cases"] == 1


@pytest.mark.parametrize("who", ["missing", "inactive", "supervisor"])
async def test_given_an_assigned_agent_who_cannot_take_cases_then_rejected(session, who):
    client = await make_client(session)
    if who == "inactive":
        await make_user(session, username="agent7", active=False)
    if who == "supervisor":
        await make_user(session, username="agent7", role=Role.SUPERVISOR)

    with pytest.raises(ImportRejected) as info:
        await import_cases(session, client_id=client.id, filename="c.csv",
                           content=as_csv([CASE_HEADER, CASE_ROWS[0]]), actor=None, now=NOW)

    assert info.value.extra["errors"] == [
        {"line": 2, "column": "assigned_agent", "reason": "no active agent with username 'agent7'"}
    ]
    assert await count(session, Case) == 0


async def test_given_a_header_only_file_then_rejected_as_a_whole(session):
    client = await make_client(session)

    with pytest.raises(ImportRejected) as info:
        await import_cases(session, client_id=client.id, filename="c.csv", content=as_csv([CASE_HEADER]),
                           actor=None, now=NOW)

    assert info.value.detail == "c.csv rejected: the file has a header but no data rows; nothing was imported"


async def test_given_an_unknown_client_then_not_found(session):
    with pytest.raises(NotFound):
        await import_cases(session, client_id=999, filename="c.csv", content=as_csv([CASE_HEADER, CASE_ROWS[1]]),
                           actor=None, now=NOW)
    with pytest.raises(NotFound):
        await import_stop_list(session, client_id=999, filename="s.csv", content=b"number,reason\n13800138000,x\n",
                               actor=None, now=NOW)


async def test_given_more_rows_than_one_insert_batch_then_every_party_lands_on_its_own_case(session):
    client = await make_client(session)
    rows = [[f"B{i:08d}", f"债务人{i}", "", f"+86138{i:08d}", "", "100", str(i % 90), "",
             f"联系人{i}", "friend", f"+86139{i:08d}", "", "", "", ""] for i in range(1500)]

    result = await import_cases(session, client_id=client.id, filename="big.csv",
                                content=as_csv([CASE_HEADER, *rows]), actor=None, now=NOW)

    assert result.created == {"cases": 1500, "debtors": 1500, "third_parties": 1500, "phone_numbers": 3000}
    mismatched = (await session.execute(
        select(func.count()).select_from(Case).join(Party, Party.case_id == Case.id)
        .join(PhoneNumber, PhoneNumber.party_id == Party.id)
        .where(func.substr(PhoneNumber.e164, 7) != func.substr(Case.account_ref, 2))
    )).scalar_one()
    assert mismatched == 0


async def test_given_two_contacts_alike_but_for_one_field_then_each_keeps_its_own_numbers(session):
    client = await make_client(session)
    header = ["account_ref", "debtor_name", "debtor_numbers", "total_owed", "overdue_days",
              "contact1_name", "contact1_relation", "contact1_numbers", "contact1_debt_related",
              "contact2_name", "contact2_relation", "contact2_numbers", "contact2_debt_related"]
    row = ["A1", "张三", "13800138000", "1", "1", "王五", "friend", "13900139000", "yes",
           "王五", "friend", "13700137000", "no"]

    await import_cases(session, client_id=client.id, filename="c.csv", content=as_csv([header, row]),
                       actor=None, now=NOW)

    found = (await session.execute(
        select(Party.debt_related, PhoneNumber.e164).join(PhoneNumber, PhoneNumber.party_id == Party.id)
        .where(Party.role == PartyRole.THIRD_PARTY)
    )).all()
    assert sorted(found) == [(False, "+8613700137000"), (True, "+8613900139000")]


# --- stop lists ------------------------------------------------------------------------------


async def test_given_a_stop_list_when_imported_then_entries_created_and_linked_to_case_and_party(session):
    client = await make_client(session)
    boss = await make_user(session, role=Role.SUPERVISOR)
    case = await make_case(session, client=client, account_ref="A1", debtor_numbers=("+8613800138000",))
    debtor = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    debtor.id_number = "11010519491231002X"
    spouse = await make_party(session, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.SPOUSE,
                              numbers=("+8613900139000",))
    content = as_csv([
        ["电话", "身份证号", "姓名", "账号", "原因"],
        ["13900139000", "", "李四", "A1", "配偶投诉"],
        ["", "11010519491231002x", "张三", "A1", "律师函"],
        ["13700137000", "", "", "A1", "号码不属于任何当事人"],
        ["13600136000", "440304199001010011", "", "", "客户要求停催"],
    ])

    result = await import_stop_list(session, client_id=client.id, filename="stop.csv", content=content,
                                    actor=principal(boss.id), now=NOW)

    assert (result.kind, result.rows, result.created) == ("stop_list", 4, {"stop_contacts": 4, "already_listed": 0})
    entries = (await session.execute(select(StopContact).order_by(StopContact.id))).scalars().all()
    assert [(e.e164, e.id_number, e.case_id, e.party_id) for e in entries] == [
        ("+8613900139000", None, case.id, spouse.id),
        (None, "11010519491231002X", case.id, debtor.id),
        ("+8613700137000", None, case.id, None),
        ("+8613600136000", "440304199001010011", None, None),
    ]
    assert {(e.source, e.client_id, e.import_batch_id, e.created_by_id) for e in entries} == {
        (StopSource.CLIENT_LIST, client.id, result.batch_id, boss.id)}
    assert entries[0].reason == "配偶投诉"
    [audit] = (await session.execute(select(AuditEntry))).scalars().all()
    assert (audit.action, audit.entity_id) == ("import.stop_list", str(result.batch_id))


async def test_given_bad_stop_rows_then_rejected_with_every_error_and_nothing_written(session):
    client = await make_client(session)
    content = as_csv([
        ["number", "id_number", "account_ref", "reason"],
        ["", "", "", "no target"],
        ["12345", "", "", "bad number"],
        ["13800138000", "", "NOPE", "unknown account"],
        ["13900139000", "110105194912310021", "", "bad id"],
        ["13700137000", "", "", "fine"],
        ["+86 137 0013 7000", "", "", "duplicate"],
    ])

    with pytest.raises(ImportRejected) as info:
        await import_stop_list(session, client_id=client.id, filename="stop.csv", content=content, actor=None, now=NOW)

    assert info.value.detail == "5 rows rejected in stop.csv; nothing was imported"
    errors = {(e["line"], e["column"]): e["reason"] for e in info.value.extra["errors"]}
    assert errors[(2, "number")] == "a row needs a number or an id_number"
    assert "'12345'" in errors[(3, "number")]
    assert errors[(4, "account_ref")] == "no case with account_ref 'NOPE' for this client"
    assert "check digit" in errors[(5, "id_number")]
    assert errors[(7, "number")] == "+8613700137000 is listed twice: also on line 6"
    assert (await count(session, StopContact), await count(session, ImportBatch)) == (0, 0)


async def test_given_entries_already_listed_then_skipped_and_counted(session):
    client = await make_client(session)
    other = await make_client(session, code="OTHER")
    session.add_all([
        StopContact(client_id=client.id, e164="+8613800138000", source=StopSource.PARTY_REQUEST, reason="asked"),
        StopContact(client_id=client.id, id_number="11010519491231002X", source=StopSource.CLIENT_LIST, reason="old"),
        StopContact(client_id=client.id, e164="+8613500135000", source=StopSource.HOSTILE, reason="hostile"),
        StopContact(client_id=client.id, e164="+8613900139000", source=StopSource.CLIENT_LIST, reason="lifted",
                    lifted_at=NOW - dt.timedelta(days=1), lift_reason="paid"),
        StopContact(client_id=other.id, e164="+8613700137000", source=StopSource.CLIENT_LIST, reason="other bank"),
    ])
    await session.flush()
    content = as_csv([
        ["number", "id_number", "reason"],
        ["13800138000", "", "already (party request)"],
        ["", "11010519491231002X", "already (id)"],
        ["13500135000", "440304199001010011", "number listed, id new"],
        ["13900139000", "", "was lifted"],
        ["13700137000", "", "listed for another client only"],
    ])

    result = await import_stop_list(
        session, client_id=client.id, filename="s.csv", content=content, actor=None, now=NOW,
    )

    assert result.created == {"stop_contacts": 3, "already_listed": 2}
    new = (await session.execute(
        select(StopContact.reason).where(StopContact.import_batch_id == result.batch_id).order_by(StopContact.id)
    )).scalars().all()
    assert new == ["number listed, id new", "was lifted", "listed for another client only"]
