"""The archive's commands: legal holds by the names people use, and the completeness audit of a
day with an exit code a cron job can alert on."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from dialer.cli import _in_session, _settings, app
from dialer.container import storage_for
from tests.archive.records import answered_call, stored_recording
from tests.factories import make_case

runner = CliRunner()


async def _case(account_ref: str) -> None:
    async def add(session) -> None:
        case = await make_case(session, account_ref=account_ref)
        await stored_recording(session, storage_for(_settings()), call=await answered_call(session, case=case))

    await _in_session(_settings(), add)


def test_given_a_case_reference_when_held_then_listed_and_lifted(cli_env) -> None:
    asyncio.run(_case("ACC-HOLD-1"))

    held = runner.invoke(app, ["hold", "--case", "ACC-HOLD-1", "--reason", "court order 2026-77"])
    assert held.exit_code == 0, held.output
    assert "1 recording(s) now held" in held.output
    hold_id = held.output.split()[2].rstrip(":")

    listed = runner.invoke(app, ["holds"])
    assert "court order 2026-77" in listed.output and listed.output.startswith(hold_id)

    lifted = runner.invoke(app, ["hold-lift", hold_id, "--reason", "order lifted"])
    assert lifted.exit_code == 0 and "1 recording(s) no longer held" in lifted.output
    assert runner.invoke(app, ["holds"]).output.strip() == "no legal holds"
    assert "order lifted" in runner.invoke(app, ["holds", "--all"]).output


def test_given_an_unknown_case_or_no_target_then_readable_errors(cli_env) -> None:
    unknown = runner.invoke(app, ["hold", "--case", "NO-SUCH", "--reason", "x"])
    assert unknown.exit_code == 2 and unknown.output.startswith("error:"), unknown.output

    neither = runner.invoke(app, ["hold", "--reason", "x"])
    assert neither.exit_code == 2 and "either --call or --case" in neither.output


def test_given_a_day_with_a_gap_then_listed_and_exit_1(cli_env) -> None:
    asyncio.run(_case("ACC-AUDIT-1"))  # ended 2026-11-24 12:00 Shanghai; written directly: no call.completed

    text = runner.invoke(app, ["audit", "recordings", "--day", "2026-11-24"])
    assert text.exit_code == 1, text.output
    assert "GAPS FOUND" in text.output and "call_not_told" in text.output

    as_json = runner.invoke(app, ["audit", "recordings", "--day", "2026-11-24", "--json"])
    report = json.loads(as_json.output)
    assert report["recordings_verified"] == 1 and report["gaps_by_kind"] == {"call_not_told": 1}

    quiet = runner.invoke(app, ["audit", "recordings", "--day", "2026-11-23"])
    assert quiet.exit_code == 0 and "complete" in quiet.output

    bad = runner.invoke(app, ["audit", "recordings", "--day", "24/11/2026"])
    assert bad.exit_code == 2 and "is not a date" in bad.output
