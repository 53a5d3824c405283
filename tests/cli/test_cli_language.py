"""The command line speaks the user's language: targets named by account, phone and party name;
hints for presets; refused languages; readable errors (JSON under --json); help without markup."""

from __future__ import annotations

import asyncio
import json

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from dialer.cases.models import Party, PartyRole, PhoneNumber
from dialer.cli import _in_session, _settings, app
from tests.factories import make_case, make_client, make_party

runner = CliRunner()
DAY = "2026-11-24T10:00:00+08:00"
LATE = "2026-11-24T22:30:00+08:00"




def _invoke(*args: str):
    return runner.invoke(app, list(args))


def _seed(work):
    return asyncio.run(_in_session(_settings(), work))


@pytest.fixture
def portfolio(cli_env):
    """Two cases of one client: ACC-1 (张三, +8613800138000; his sister 王芳, +8613900139000) and
    ACC-2 (李四, who shares 王芳's number)."""

    async def _work(session):
        bank = await make_client(session, code="BANK-A", name="示例银行")
        first = await make_case(session, client=bank, account_ref="ACC-1", debtor_name="张三",
                                debtor_numbers=("+8613800138000",))
        sister = await make_party(session, case=first, name="王芳", role=PartyRole.THIRD_PARTY,
                                  numbers=("+8613900139000",))
        second = await make_case(session, client=bank, account_ref="ACC-2", debtor_name="李四",
                                 debtor_numbers=("+8613900139000",))
        numbers = dict((await session.execute(
            select(PhoneNumber.party_id, PhoneNumber.id).where(PhoneNumber.e164 == "+8613800138000"))).all())
        debtor = (await session.execute(select(Party.id).where(Party.case_id == first.id,
                                                               Party.role == PartyRole.DEBTOR))).scalar_one()
        return {"debtor": debtor, "debtor_number": numbers[debtor], "sister": sister.id, "second": second.id}

    return _seed(_work)


def _body(result) -> dict:
    return json.loads(result.stdout)


def test_given_account_when_check_then_debtor_decided_with_exit_codes(portfolio):
    allowed = _invoke("check", "--account", "ACC-1", "--at", DAY)
    assert allowed.exit_code == 0, allowed.output
    assert _body(allowed)["allowed"] is True and _body(allowed)["party_id"] == portfolio["debtor"]
    late = _invoke("check", "--account", "ACC-1", "--at", LATE)
    assert late.exit_code == 1, late.output
    assert _body(late)["violations"][0]["rule"] == "calling_window"
    by_id = _invoke("check", "--party", str(portfolio["debtor"]), "--at", LATE)
    assert by_id.exit_code == 1 and _body(by_id)["next_allowed_at"] == _body(late)["next_allowed_at"]


def test_given_phone_e164_or_national_when_check_then_that_number(portfolio):
    for written in ("+8613800138000", "13800138000", "138 0013 8000"):
        result = _invoke("check", "--phone", written, "--at", DAY)
        assert result.exit_code == 0, result.output
        body = _body(result)
        assert (body["party_id"], body["number_id"]) == (portfolio["debtor"], portfolio["debtor_number"])
    assert _invoke("check", "--phone", "13800138000", "--at", LATE).exit_code == 1


def test_given_account_and_party_name_when_check_then_that_party(portfolio):
    result = _invoke("check", "--account", "ACC-1", "--party-name", "王芳", "--at", DAY, "--client", "BANK-A")
    assert result.exit_code == 0, result.output
    assert _body(result)["party_id"] == portfolio["sister"]
    unknown = _invoke("check", "--account", "ACC-1", "--party-name", "赵六", "--at", DAY)
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: party_name: no party named '赵六' on account ACC-1; its parties: "
                                     "张三 (debtor), 王芳 (third party) (not_found)")


def test_given_shared_phone_when_check_then_candidates_listed_and_account_chooses(portfolio):
    shared = _invoke("check", "--phone", "13900139000", "--at", DAY)
    assert shared.exit_code == 2 and shared.stdout == ""
    line = shared.stderr
    assert line.startswith("error: phone: +8613900139000 matches 2 parties: ")
    assert "ACC-1 (BANK-A): 王芳, third party" in line and "ACC-2 (BANK-A): 李四, debtor" in line
    assert "--account" in line and line.rstrip().endswith("(invalid_input)") and line.count("\n") == 1
    chosen = _invoke("check", "--phone", "13900139000", "--account", "ACC-2", "--at", DAY)
    assert chosen.exit_code == 0, chosen.output
    assert _body(chosen)["party_id"] != portfolio["sister"]
    as_json = _invoke("--json", "check", "--phone", "13900139000", "--at", DAY)
    body = json.loads(as_json.stderr)
    assert as_json.exit_code == 2 and body["error"] == "invalid_input" and body["field"] == "phone"
    assert [(c["account_ref"], c["party_name"]) for c in body["candidates"]] == [("ACC-1", "王芳"), ("ACC-2", "李四")]


def test_given_unknown_names_when_check_then_one_readable_line(portfolio):
    missing = _invoke("check", "--phone", "+8613700137000", "--at", DAY)
    assert missing.exit_code == 2
    assert missing.stderr == "error: phone: +8613700137000 is not a number of any party (not_found)\n"
    account = _invoke("check", "--account", "ACC-9", "--at", DAY)
    assert account.exit_code == 2
    assert account.stderr == "error: account: no case with account reference 'ACC-9' (not_found)\n"
    bad = _invoke("check", "--phone", "12345", "--at", DAY)
    assert bad.exit_code == 2 and bad.stderr.startswith("error: phone: ") and "(invalid_input)" in bad.stderr


@pytest.mark.parametrize("args", [
    (),
    ("--number", "1", "--party", "2"),
    ("--party", "1", "--account", "ACC-1"),
    ("--number", "1", "--phone", "13800138000"),
    ("--party", "1", "--client", "BANK-A"),
])
def test_given_not_exactly_one_way_of_naming_when_check_then_readable_error(cli_env, args):
    result = _invoke("check", *args, "--at", DAY)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: target: name it one way: --account REF [--party-name NAME], "
                                    "--phone NUMBER, --number ID or --party ID")
    assert result.stderr.count("\n") == 1 and "(invalid_input)" in result.stderr


def test_given_party_name_without_account_when_check_then_asks_for_account(cli_env):
    result = _invoke("check", "--party-name", "王芳", "--at", DAY)
    assert result.exit_code == 2
    assert result.stderr == "error: party_name: a party's name needs the case's account (--account) (invalid_input)\n"


def test_given_preset_name_when_policy_show_without_preset_then_suggests_preset(cli_env):
    result = _invoke("policy", "show", "us-reg-f")
    assert result.exit_code == 2
    assert result.stderr == ("error: client 'us-reg-f' not found; 'us-reg-f' is a preset: "
                             "dialer policy show --preset us-reg-f (not_found)\n")
    as_json = _invoke("policy", "show", "us-reg-f", "--json")
    body = json.loads(as_json.stderr)
    assert as_json.exit_code == 2 and body["error"] == "not_found" and body["preset"] == "us-reg-f"
    assert _invoke("policy", "show", "--preset", "us-reg-f").exit_code == 0
    unknown = _invoke("policy", "show", "NOPE")
    assert unknown.exit_code == 2 and "--preset" not in unknown.stderr


def test_given_client_by_name_when_policy_show_then_found(cli_env):
    async def _work(session):
        await make_client(session, code="BANK-N", name="唯一银行")

    _seed(_work)
    result = _invoke("policy", "show", "唯一银行")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("client 唯一银行 — policy version 1")


def test_given_unsupported_language_when_report_daily_then_refused_with_choices(cli_env):
    refused = _invoke("report", "daily", "--day", "2026-11-24", "--language", "fr")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "'fr' is not one of 'en', 'zh'" in refused.output
    chinese = _invoke("report", "daily", "--day", "2026-11-24", "--language", "ZH")
    assert chinese.exit_code == 0, chinese.output
    assert chinese.stdout.lstrip("\ufeff").startswith("日期,范围,组别,坐席")


def test_given_report_error_when_json_then_json_body(cli_env, monkeypatch):
    from dialer.kit.errors import Unavailable
    from scheduling import stats

    async def _down(*args, **kwargs):
        raise Unavailable("database: statistics unavailable")

    monkeypatch.setattr(stats, "daily_report", _down)
    line = _invoke("report", "daily", "--day", "2026-11-24")
    assert line.exit_code == 2 and line.stderr == "error: database: statistics unavailable (unavailable)\n"
    as_json = _invoke("report", "daily", "--day", "2026-11-24", "--json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stderr) == {"error": "unavailable", "detail": "database: statistics unavailable"}


def test_given_rejected_import_when_cli_then_one_line_and_each_bad_line(cli_env, tmp_path):
    async def _work(session):
        await make_client(session, code="BANK-I")

    _seed(_work)
    path = tmp_path / "cases.csv"
    path.write_text("nonsense\nx\n", encoding="utf-8")
    result = _invoke("import-cases", "BANK-I", str(path))
    assert result.exit_code == 2
    first, *rest = result.stderr.splitlines()
    assert first.startswith("error: ") and first.endswith("(import_rejected)")
    assert rest and all(line.startswith("  line ") for line in rest)


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_help_texts_have_no_raw_double_backticks():
    root = typer.main.get_command(app)
    seen = 0
    for path, command in _commands(root):
        texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        assert not [t for t in texts if "``" in t], path
        result = _invoke(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "``" not in result.output, path
        seen += 1
    assert seen > 12  # the root, the groups and every command
