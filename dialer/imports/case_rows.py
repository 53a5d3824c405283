"""The case file a client hands over: one row per account. Pure parsing and checking.

Columns (English or Chinese header; case and surrounding spaces do not matter; unknown
columns are ignored):

=====================  ==========  ========  ===============================================
column                 中文         required  rule
=====================  ==========  ========  ===============================================
account_ref            账号          yes       unique in the file and new for the client
debtor_name            姓名          yes
debtor_id_number       身份证号       no        18 characters with check digit, or 15 digits
debtor_numbers         电话          yes       one or more numbers separated by ``; , /`` or
                                               spaces; national (CN) or +E.164
debtor_time_zone       时区          no        IANA name, e.g. Asia/Urumqi
principal              本金          no        amount, default 0
interest_fees          利息费用       no        amount, default 0
total_owed             欠款总额       yes       amount
currency               币种          no        3 letters, default CNY
overdue_days           逾期天数       yes       whole number >= 0
product                产品          no
team                   组            no        defaults to the assigned agent's team
assigned_agent         催收员         no        username of an active agent
contactN_name          联系人N姓名     group     N = 1, 2, ... any number of contact groups
contactN_relation      联系人N关系     group     spouse parent sibling child colleague friend
                                               other, or 配偶 父母 兄弟姐妹 子女 同事 朋友 其他 ...
contactN_numbers       联系人N电话     group     like debtor_numbers
contactN_debt_related  联系人N涉债     no        yes/no/true/false/1/0/是/否, default no
=====================  ==========  ========  ===============================================

An amount may carry ``¥`` and thousands separators (``¥12,345.60``) and has at most two
decimals. A contact group is either entirely empty or has a name, a relation and at least one
number. Whether an account is new for the client and whether the agent exists are database
questions: they come back as :class:`~dialer.imports.parsing.Reference` for the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from dialer.cases.models import Relation
from dialer.imports.cells import FieldError, amount, currency, id_number, non_negative_int, single_zone, time_zone, yes_no
from dialer.imports.parsing import (
    HEADER_LINE, ErrorLog, ParsedFile, Reference, RowError, RowReader, Table, alias_resolver, missing_columns,
    read_table,
)
from dialer.kit.phones import ParsedNumber

COLUMNS: dict[str, tuple[str, ...]] = {
    "account_ref": ("账号",),
    "debtor_name": ("姓名",),
    "debtor_id_number": ("身份证号",),
    "debtor_numbers": ("电话",),
    "debtor_time_zone": ("时区",),
    "principal": ("本金",),
    "interest_fees": ("利息费用",),
    "total_owed": ("欠款总额",),
    "currency": ("币种",),
    "overdue_days": ("逾期天数",),
    "product": ("产品",),
    "team": ("组",),
    "assigned_agent": ("催收员",),
}
REQUIRED = ("account_ref", "debtor_name", "debtor_numbers", "total_owed", "overdue_days")
CONTACT_FIELDS = {"name": "姓名", "relation": "关系", "numbers": "电话", "debt_related": "涉债"}
CONTACT_REQUIRED = ("name", "relation", "numbers")

RELATION_SYNONYMS: dict[str, Relation] = {
    **{r.value: r for r in Relation if r is not Relation.SELF},
    **dict.fromkeys(("配偶", "夫妻", "丈夫", "妻子"), Relation.SPOUSE),
    **dict.fromkeys(("父亲", "母亲", "父母"), Relation.PARENT),
    **dict.fromkeys(("兄弟", "姐妹", "兄弟姐妹", "哥哥", "弟弟", "姐姐", "妹妹"), Relation.SIBLING),
    **dict.fromkeys(("子女", "儿子", "女儿"), Relation.CHILD),
    "同事": Relation.COLLEAGUE,
    "朋友": Relation.FRIEND,
    "其他": Relation.OTHER,
}
_ACCEPTED_RELATIONS = ", ".join(RELATION_SYNONYMS)

# Column widths of the tables the rows land in.
MAX_ACCOUNT_REF, MAX_NAME, MAX_PRODUCT, MAX_TEAM, MAX_USERNAME = 64, 128, 32, 64, 64

_CONTACT_EN = re.compile(r"contact_?(\d+)_(name|relation|numbers|debt_related)")
_CONTACT_ZH = re.compile(r"联系人(\d+)_?(" + "|".join(CONTACT_FIELDS.values()) + ")")
_ZH_FIELD = {zh: en for en, zh in CONTACT_FIELDS.items()}
_resolve_fixed: Callable[[str], str | None] = alias_resolver(COLUMNS)


@dataclass(frozen=True, slots=True)
class PhoneRow:
    e164: str
    region: str | None
    kind: str
    time_zone: str | None  # the prefix's zone when exactly one is plausible

    @classmethod
    def of(cls, number: ParsedNumber) -> PhoneRow:
        return cls(number.e164, number.region, number.kind, single_zone(number))


@dataclass(frozen=True, slots=True)
class ContactRow:
    group: int
    name: str
    relation: Relation
    numbers: tuple[PhoneRow, ...]
    debt_related: bool


@dataclass(frozen=True, slots=True)
class CaseRow:
    line: int
    account_ref: str
    debtor_name: str
    debtor_id_number: str | None
    debtor_numbers: tuple[PhoneRow, ...]
    debtor_time_zone: str | None
    principal: Decimal
    interest_fees: Decimal
    total_owed: Decimal
    currency: str
    overdue_days: int
    product: str | None
    team: str | None
    assigned_agent: str | None
    contacts: tuple[ContactRow, ...]


def resolve_column(header: str) -> str | None:
    """Canonical column for a normalised header, contact groups included."""
    if (known := _resolve_fixed(header)) is not None:
        return known
    if match := _CONTACT_EN.fullmatch(header):
        return f"contact{int(match.group(1))}_{match.group(2)}"
    if match := _CONTACT_ZH.fullmatch(header):
        return f"contact{int(match.group(1))}_{_ZH_FIELD[match.group(2)]}"
    return None


def parse_case_file(filename: str, content: bytes, *, encoding: str | None = None) -> ParsedFile[CaseRow]:
    table = read_table(filename, content, resolve_column, encoding=encoding)
    errors = table.errors
    if errors and not table.columns:  # unreadable or empty: nothing more to say
        return ParsedFile.of((), errors)
    errors += missing_columns(table, REQUIRED)
    groups = _contact_groups(table, errors)

    rows: list[CaseRow] = []
    references: list[Reference] = []
    first_line: dict[str, int] = {}
    for source in table.rows:
        reader = RowReader(source, table.columns, errors)
        row = _case_row(reader, groups)
        ref = reader.text("account_ref")
        if ref is not None:
            if ref in first_line:
                reader.error("account_ref", f"account_ref {ref!r} is duplicated: also on line {first_line[ref]}")
            else:
                first_line[ref] = source.line
                references.append(Reference(source.line, "account_ref", ref))
        agent = reader.text("assigned_agent")
        if agent is not None and len(agent) <= MAX_USERNAME:
            references.append(Reference(source.line, "assigned_agent", agent))
        if row is not None and reader.ok:
            rows.append(row)
    return ParsedFile.of(rows, errors, references, len(table.rows))


def _contact_groups(table: Table, errors: ErrorLog) -> list[int]:
    groups = sorted({int(m.group(1)) for c in table.columns if (m := re.fullmatch(r"contact(\d+)_\w+", c))})
    for group in groups:
        for name in CONTACT_REQUIRED:
            column = f"contact{group}_{name}"
            if column not in table.columns:
                errors.append(RowError(HEADER_LINE, column, f"contact group {group} has no {column!r} column"))
    return groups


def _case_row(r: RowReader, groups: list[int]) -> CaseRow | None:
    account_ref = r.text("account_ref", required=True, max_length=MAX_ACCOUNT_REF)
    debtor_name = r.text("debtor_name", required=True, max_length=MAX_NAME)
    debtor_id = r.parse("debtor_id_number", id_number)
    numbers = r.phones("debtor_numbers", required=True)
    zone = r.parse("debtor_time_zone", time_zone)
    principal = r.parse("principal", amount)
    interest = r.parse("interest_fees", amount)
    total = r.parse("total_owed", amount, required=True)
    money = r.parse("currency", currency)
    days = r.parse("overdue_days", non_negative_int, required=True)
    product = r.text("product", max_length=MAX_PRODUCT)
    team = r.text("team", max_length=MAX_TEAM)
    agent = r.text("assigned_agent", max_length=MAX_USERNAME)
    contacts = tuple(c for g in groups if (c := _contact(r, g)) is not None)
    if account_ref is None or debtor_name is None or not numbers or total is None or days is None:
        return None
    return CaseRow(
        line=r.line, account_ref=account_ref, debtor_name=debtor_name, debtor_id_number=debtor_id,
        debtor_numbers=tuple(PhoneRow.of(n) for n in numbers), debtor_time_zone=zone,
        principal=principal or Decimal("0.00"), interest_fees=interest or Decimal("0.00"),
        total_owed=total, currency=money or "CNY", overdue_days=days, product=product, team=team,
        assigned_agent=agent, contacts=contacts,
    )


def _contact(r: RowReader, group: int) -> ContactRow | None:
    col = {name: f"contact{group}_{name}" for name in CONTACT_FIELDS}
    if not any(r.has(c) for c in col.values()):
        return None
    for field in CONTACT_REQUIRED:
        if not r.has(col[field]) and r.knows(col[field]):
            r.error(col[field], f"{col[field]} is required when contact {group} is given")
    name = r.text(col["name"], max_length=MAX_NAME)
    relation = r.parse(col["relation"], relation_of)
    numbers = r.phones(col["numbers"])
    debt_related = r.parse(col["debt_related"], yes_no)
    if name is None or relation is None or not numbers:
        return None
    return ContactRow(group, name, relation, tuple(PhoneRow.of(n) for n in numbers), bool(debt_related))


def relation_of(text: str) -> Relation:
    relation = RELATION_SYNONYMS.get(text.strip().casefold())
    if relation is None:
        raise FieldError(f"unknown relation {text!r}; accepted: {_ACCEPTED_RELATIONS}")
    return relation
