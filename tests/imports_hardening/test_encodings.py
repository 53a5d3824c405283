"""Big5 and Shift-JIS files are refused, not imported as GB18030 garbage, unless declared."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialer.cases.models import Party
from dialer.imports.case_rows import parse_case_file
from dialer.imports.service import import_cases
from dialer.imports.stop_rows import parse_stop_file
from dialer.imports.text_encoding import gb_plausible
from dialer.kit.errors import ImportRejected
from tests.factories import make_client
from tests.imports.test_service import NOW

HEADER = "account_ref,debtor_name,debtor_numbers,total_owed,overdue_days"
BIG5_NAMES = ("陳大文", "黃志明", "林美玲", "張家豪")
SJIS_NAMES = ("山田太郎", "佐藤花子", "鈴木一郎", "高橋直子")
GB_NAMES = ("张三", "王喆", "刘堃", "买买提·艾力")  # rare name characters (喆 堃) included


def case_file(names: tuple[str, ...], encoding: str) -> bytes:
    lines = [HEADER] + [f"A-{n},{name},1380013800{n},100,1" for n, name in enumerate(names)]
    return ("\n".join(lines) + "\n").encode(encoding)


@pytest.mark.parametrize(("names", "encoding", "looks_like"), [
    (BIG5_NAMES, "big5", "big5"), (SJIS_NAMES, "shift_jis", "cp932"),
])
def test_given_a_big5_or_shift_jis_file_then_refused_naming_the_encoding(names, encoding, looks_like):
    parsed = parse_case_file("cases.csv", case_file(names, encoding))

    assert parsed.rows == ()
    [error] = parsed.errors
    assert (error.line, error.column) == (1, None)
    assert error.reason.startswith("cannot read the text: it is neither UTF-8 nor GB18030")
    assert f"looks like {looks_like}" in error.reason and "declare its encoding" in error.reason


@pytest.mark.parametrize(("names", "encoding"), [(BIG5_NAMES, "big5"), (SJIS_NAMES, "shift_jis")])
def test_given_the_encoding_declared_then_the_names_read_right(names, encoding):
    parsed = parse_case_file("cases.csv", case_file(names, encoding), encoding=encoding)

    assert parsed.errors == ()
    assert tuple(r.debtor_name for r in parsed.rows) == names


def test_given_gb18030_with_rare_name_characters_then_still_read_without_declaring():
    parsed = parse_case_file("cases.csv", case_file(GB_NAMES, "gb18030"))

    assert parsed.errors == ()
    assert tuple(r.debtor_name for r in parsed.rows) == GB_NAMES


def test_given_an_unknown_or_wrong_declared_encoding_then_the_error_says_so():
    unknown = parse_stop_file("stop.csv", "number,reason\n13800138000,投诉\n".encode(), encoding="klingon")
    wrong = parse_stop_file("stop.csv", "number,reason\n13800138000,投诉\n".encode("gb18030"), encoding="utf-8")

    assert [e.reason for e in unknown.errors] == ["unknown encoding 'klingon' (e.g. utf-8, gb18030, big5, shift_jis)"]
    assert [e.reason for e in wrong.errors] == ["the file is not valid utf-8: byte 28 cannot be read"]


def test_plausibility_tells_simplified_chinese_from_misdecoded_text():
    assert gb_plausible("账号,姓名,电话\nA-1,张三,13800138000")
    assert not gb_plausible("、".join(BIG5_NAMES).encode("big5").decode("gb18030"))
    assert not gb_plausible("、".join(SJIS_NAMES).encode("shift_jis").decode("gb18030"))


async def test_given_big5_file_then_service_refuses_and_with_declared_encoding_stores_the_names(session):
    client = await make_client(session)
    content = case_file(BIG5_NAMES, "big5")

    with pytest.raises(ImportRejected) as rejected:
        await import_cases(session, client_id=client.id, filename="big5.csv", content=content, actor=None, now=NOW)
    assert "neither UTF-8 nor GB18030" in rejected.value.detail

    result = await import_cases(
        session, client_id=client.id, filename="big5.csv", content=content, actor=None, now=NOW, encoding="big5",
    )
    assert result.created["cases"] == 4
    stored = set((await session.scalars(select(Party.name))).all())
    assert stored == set(BIG5_NAMES)


async def test_given_shift_jis_upload_then_422_and_with_encoding_field_201(api, headers):
    cid = (await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行"}, headers=headers["admin"])).json()["id"]
    upload = {"file": ("sjis.csv", case_file(SJIS_NAMES, "shift_jis"), "text/csv")}

    refused = await api.post(f"/v1/clients/{cid}/imports/cases", files=upload, headers=headers["admin"])
    accepted = await api.post(
        f"/v1/clients/{cid}/imports/cases", files=upload, data={"encoding": "shift_jis"}, headers=headers["admin"],
    )

    assert refused.status_code == 422 and "neither UTF-8 nor GB18030" in refused.json()["detail"]
    assert accepted.status_code == 201, accepted.text
    cases = (await api.get("/v1/cases", params={"client_id": cid}, headers=headers["admin"])).json()["items"]
    assert len(cases) == 4
