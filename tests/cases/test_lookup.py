"""Finding a client, case, party or number by the names people use (dialer.cases.lookup), on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialer.cases import lookup
from dialer.cases.models import Party, PartyRole, PhoneNumber, Relation
from dialer.kit.errors import InvalidInput, NotFound
from tests.factories import make_case, make_client, make_party


async def test_given_code_id_or_name_when_find_client_then_that_client(session):
    bank = await make_client(session, code="CMB", name="示例银行甲")
    other = await make_client(session, code="ICBC", name="示例银行乙")
    assert (await lookup.find_client(session, "CMB")).id == bank.id
    assert (await lookup.find_client(session, str(other.id))).id == other.id
    assert (await lookup.find_client(session, " 示例银行乙 ")).id == other.id
    with pytest.raises(NotFound) as missing:
        await lookup.find_client(session, "NOPE")
    assert missing.value.extra["field"] == "client" and "client 'NOPE' not found" in missing.value.detail


async def test_given_two_clients_of_one_name_when_find_client_by_name_then_codes_listed(session):
    await make_client(session, code="A1", name="同名银行")
    await make_client(session, code="A2", name="同名银行")
    with pytest.raises(InvalidInput) as ambiguous:
        await lookup.find_client(session, "同名银行")
    assert "(A1, A2)" in ambiguous.value.detail and ambiguous.value.extra["candidates"] == ["A1", "A2"]


async def test_given_account_when_case_by_account_then_case_or_clear_errors(session):
    first = await make_client(session, code="C1")
    second = await make_client(session, code="C2")
    only = await make_case(session, client=first, account_ref="ACC-ONLY")
    shared_1 = await make_case(session, client=first, account_ref="ACC-SHARED")
    shared_2 = await make_case(session, client=second, account_ref="ACC-SHARED")

    assert (await lookup.case_by_account(session, " ACC-ONLY ")).id == only.id
    with pytest.raises(NotFound) as missing:
        await lookup.case_by_account(session, "ACC-NONE")
    assert missing.value.extra["field"] == "account" and "'ACC-NONE'" in missing.value.detail
    with pytest.raises(InvalidInput) as ambiguous:
        await lookup.case_by_account(session, "ACC-SHARED")
    assert "(C1, C2)" in ambiguous.value.detail and "--client" in ambiguous.value.detail
    assert (await lookup.case_by_account(session, "ACC-SHARED", client=first)).id == shared_1.id
    assert (await lookup.case_by_account(session, "ACC-SHARED", client=second)).id == shared_2.id
    with pytest.raises(NotFound, match="at client C2"):
        await lookup.case_by_account(session, "ACC-ONLY", client=second)


async def test_given_case_when_debtor_of_then_the_debtor(session):
    case = await make_case(session, account_ref="ACC-D", debtor_name="张三")
    await make_party(session, case=case, name="王芳", role=PartyRole.THIRD_PARTY, relation=Relation.SIBLING)
    debtor = await lookup.debtor_of(session, case)
    assert (debtor.party_name, debtor.role, debtor.account_ref, debtor.number_id) == ("张三", PartyRole.DEBTOR, "ACC-D", None)


async def test_given_party_name_when_party_by_name_then_that_party_or_the_list(session):
    case = await make_case(session, account_ref="ACC-N", debtor_name="张三")
    sister = await make_party(session, case=case, name="王芳", role=PartyRole.THIRD_PARTY, relation=Relation.SIBLING)
    await make_party(session, case=case, name="Li Lei", role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND)

    assert (await lookup.party_by_name(session, case, "王芳")).party_id == sister.id
    assert (await lookup.party_by_name(session, case, "  li lei ")).party_name == "Li Lei"
    with pytest.raises(NotFound) as missing:
        await lookup.party_by_name(session, case, "赵六")
    assert missing.value.extra["field"] == "party_name"
    assert "its parties: 张三 (debtor), 王芳 (third party), Li Lei (third party)" in missing.value.detail

    namesake = await make_party(session, case=case, name="王芳", role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND)
    with pytest.raises(InvalidInput) as ambiguous:
        await lookup.party_by_name(session, case, "王芳")
    detail = ambiguous.value.detail
    assert detail.startswith("party_name: '王芳' on account ACC-N matches 2 parties")
    assert f"party {sister.id}" in detail and f"party {namesake.id}" in detail and "--party" in detail
    assert [c["party_id"] for c in ambiguous.value.extra["candidates"]] == [sister.id, namesake.id]


async def test_given_e164_or_national_when_number_by_phone_then_that_number(session):
    case = await make_case(session, account_ref="ACC-P", debtor_numbers=("+8613800138000",))
    number_id = (await session.execute(select(PhoneNumber.id).where(PhoneNumber.e164 == "+8613800138000"))).scalar_one()
    for written in ("+8613800138000", "+86 138 0013 8000", "13800138000", "138-0013-8000"):
        found = await lookup.number_by_phone(session, written)
        assert (found.number_id, found.e164, found.account_ref, found.case_id) == (number_id, "+8613800138000", "ACC-P", case.id)


async def test_given_client_in_another_region_when_national_number_then_read_in_its_region(session):
    us = await make_client(session, code="USB", language="en-US")
    await make_case(session, client=us, account_ref="ACC-US", debtor_numbers=("+12015550123",))
    with pytest.raises(NotFound) as as_cn:  # without a client: read as a Guangzhou number
        await lookup.number_by_phone(session, "(201) 555-0123")
    assert as_cn.value.detail == "phone: +862015550123 is not a number of any party"
    assert (await lookup.number_by_phone(session, "(201) 555-0123", client=us)).account_ref == "ACC-US"
    case = await lookup.case_by_account(session, "ACC-US")
    assert (await lookup.number_by_phone(session, "201 555 0123", case=case)).e164 == "+12015550123"


async def test_given_unknown_or_bad_number_when_number_by_phone_then_clear_errors(session):
    await make_case(session)
    with pytest.raises(NotFound) as missing:
        await lookup.number_by_phone(session, "13900139000")
    assert missing.value.detail == "phone: +8613900139000 is not a number of any party"
    assert missing.value.extra["field"] == "phone"
    with pytest.raises(InvalidInput) as bad:
        await lookup.number_by_phone(session, "12345")
    assert bad.value.detail.startswith("phone: ") and bad.value.extra["field"] == "phone"


async def test_given_number_shared_by_parties_when_number_by_phone_then_candidates_and_account_narrows(session):
    bank = await make_client(session, code="SH")
    first = await make_case(session, client=bank, account_ref="ACC-1", debtor_name="张三", debtor_numbers=("+8613800138000",))
    second = await make_case(session, client=bank, account_ref="ACC-2", debtor_name="李四", debtor_numbers=())
    await make_party(session, case=second, name="王芳", role=PartyRole.THIRD_PARTY, numbers=("+8613800138000",))

    with pytest.raises(InvalidInput) as ambiguous:
        await lookup.number_by_phone(session, "13800138000")
    detail = ambiguous.value.detail
    assert detail.startswith("phone: +8613800138000 matches 2 parties: ACC-1 (SH): 张三, debtor")
    assert "ACC-2 (SH): 王芳, third party" in detail and "--account" in detail
    assert [c["account_ref"] for c in ambiguous.value.extra["candidates"]] == ["ACC-1", "ACC-2"]

    assert (await lookup.number_by_phone(session, "13800138000", case=second)).party_name == "王芳"
    assert (await lookup.number_by_phone(session, "13800138000", case=first)).party_name == "张三"


async def test_given_names_when_find_target_then_debtor_party_or_number(session):
    bank = await make_client(session, code="T1")
    case = await make_case(session, client=bank, account_ref="ACC-T", debtor_name="张三",
                           debtor_numbers=("+8613800138000",))
    sister = await make_party(session, case=case, name="王芳", role=PartyRole.THIRD_PARTY,
                              numbers=("+8613900139000", "+8613700137000"))
    debtor_id = (await session.execute(
        select(Party.id).where(Party.case_id == case.id, Party.role == PartyRole.DEBTOR))).scalar_one()

    debtor = await lookup.find_target(session, account="ACC-T")
    assert (debtor.party_id, debtor.number_id) == (debtor_id, None)
    named = await lookup.find_target(session, account="ACC-T", party_name="王芳", client="T1")
    assert (named.party_id, named.number_id) == (sister.id, None)
    by_phone = await lookup.find_target(session, phone="13700137000")
    assert by_phone.party_id == sister.id and by_phone.e164 == "+8613700137000" and by_phone.number_id is not None
    with pytest.raises(NotFound, match="not a number of that party"):
        await lookup.find_target(session, phone="13800138000", account="ACC-T", party_name="王芳")
    with pytest.raises(InvalidInput) as no_account:
        await lookup.find_target(session, party_name="王芳")
    assert no_account.value.extra["field"] == "party_name" and "--account" in no_account.value.detail
    with pytest.raises(InvalidInput):
        await lookup.find_target(session)
