"""The integrations' commands, registered on a command line of their own (as ``dialer.cli`` does):
the secret printed once, clients named by code, clear errors with nothing written, deliveries
listed, and the three ways to replay."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from dialer.cli import _in_session, _settings, main
from dialer.integrations_cli import parse_instant, register
from dialer.kit.errors import InvalidInput
from dialer.outbox.models import Delivery, DeliveryStatus, EventType, WebhookEndpoint
from tests.factories import make_client
from tests.outbox_admin.conftest import audit_entries, make_delivery, make_endpoint, make_event

runner = CliRunner()
app = typer.Typer()
app.callback()(main)  # the global --json, as on `dialer`
register(app)

H = dt.timedelta(hours=1)


def _db(work: Any) -> Any:
    """Run ``work(session)`` in a unit of work of its own on the console's database, committed."""
    return asyncio.run(_in_session(_settings(), work, migrate=False))


def _endpoints() -> list[WebhookEndpoint]:
    return _db(lambda s: _all(s, WebhookEndpoint))


async def _all(session, model):
    return list((await session.execute(select(model).order_by(model.id))).scalars())


def test_given_a_url_events_and_a_client_code_when_added_then_the_secret_is_printed_once(cli_env):
    _db(lambda s: make_client(s, code="CMB"))

    added = runner.invoke(app, ["integration-add", "https://archive.example/hooks", "--event", "recording.stored",
                                "--event", "recording.missing,call.completed", "--client", "CMB",
                                "--description", "archive"])
    listed = runner.invoke(app, ["integration-list"])

    assert added.exit_code == 0, added.output
    endpoint, = _endpoints()
    assert endpoint.event_types == ["recording.stored", "recording.missing", "call.completed"]
    assert f"signing secret (shown once, store it in the receiver now): {endpoint.secret}" in added.output
    assert added.output.count(endpoint.secret) == 1
    assert listed.exit_code == 0 and "clients CMB" in listed.output and '"archive"' in listed.output
    assert endpoint.secret not in listed.output


@pytest.mark.parametrize(("args", "words"), [
    (["gopher://archive.example", "--event", "call.completed"], "url: must be an absolute http:// or https:// URL"),
    (["https://a.example", "--event", "call.dialled"], "event_types: unknown event type 'call.dialled'"),
    (["https://a.example", "--event", "call.completed", "--client", "NOPE"], "client 'NOPE' not found"),
    (["https://a.example", "--event", "call.completed", "--description", "x" * 201], "description: String should have at most 200"),
])
def test_given_bad_input_when_adding_then_a_clear_error_exit_2_and_nothing_written(cli_env, args, words):
    result = runner.invoke(app, ["integration-add", *args])

    assert result.exit_code == 2 and words in result.output, result.output
    assert _endpoints() == []


def test_given_an_endpoint_when_rotated_disabled_and_enabled_then_each_is_said_and_audited(cli_env):
    endpoint = _db(make_endpoint)

    rotated = runner.invoke(app, ["integration-rotate", str(endpoint.id), "--overlap-hours", "2"])
    disabled = runner.invoke(app, ["integration-disable", str(endpoint.id), "--reason", "receiver moving"])
    listed = runner.invoke(app, ["integration-list"])
    enabled = runner.invoke(app, ["integration-enable", str(endpoint.id)])

    after, = _endpoints()
    assert rotated.exit_code == 0 and after.secret in rotated.output and after.previous_secret == endpoint.secret
    assert "signs too until" in rotated.output and endpoint.secret not in rotated.output
    assert "disabled: receiver moving" in disabled.output and "disabled (receiver moving)" in listed.output
    assert enabled.exit_code == 0 and after.active and after.disabled_reason is None
    actions = [e.action for e in _db(audit_entries)]
    assert actions == ["webhook_endpoint.create", "webhook_endpoint.rotate_secret", "webhook_endpoint.update",
                       "webhook_endpoint.update"]


def test_given_an_unknown_endpoint_then_the_error_names_it(cli_env):
    result = runner.invoke(app, ["integration-rotate", "77"])

    assert result.exit_code == 2 and "error: integration endpoint 77 not found (not_found)" in result.output


async def _deliveries(session) -> dict[str, int]:
    endpoint = await make_endpoint(session)
    dead = await make_delivery(session, event=await make_event(session, at=_now() - 2 * H), endpoint=endpoint,
                               status=DeliveryStatus.DEAD, attempts=16, tried=16)
    old = await make_delivery(session, event=await make_event(session, type=EventType.RECORDING_STORED,
                                                              at=_now() - 72 * H),
                              endpoint=endpoint, status=DeliveryStatus.DELIVERED, attempts=1)
    return {"endpoint": endpoint.id, "dead": dead.id, "old": old.id}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_given_deliveries_then_listed_newest_first_and_filtered(cli_env):
    ids = _db(_deliveries)

    every = runner.invoke(app, ["deliveries"])
    dead = runner.invoke(app, ["deliveries", "--status", "dead", "--endpoint", str(ids["endpoint"])])
    recent = runner.invoke(app, ["deliveries", "--since", "1d"])

    assert [line.split()[0] for line in every.output.splitlines()] == [str(ids["old"]), str(ids["dead"])]
    assert dead.output.startswith(f"{ids['dead']}  endpoint {ids['endpoint']}  dead  attempts 16  call.completed")
    assert "last: HTTP 500" in dead.output
    assert [line.split()[0] for line in recent.output.splitlines()] == [str(ids["dead"])]


def test_given_replay_of_one_then_of_the_dead_then_of_a_range_then_each_says_how_many(cli_env):
    ids = _db(_deliveries)

    one = runner.invoke(app, ["replay", "--delivery", str(ids["dead"])])
    dead = runner.invoke(app, ["replay", "--endpoint", str(ids["endpoint"]), "--dead"])
    ranged = runner.invoke(app, ["replay", "--endpoint", str(ids["endpoint"]), "--from", "4d",
                                 "--to", _now().isoformat()])

    assert one.exit_code == 0 and one.output.startswith("replayed 1 deliveries"), one.output
    assert dead.output.startswith("replayed 0 deliveries")
    assert ranged.output.startswith("replayed 2 deliveries (0 made")
    rows = _db(lambda s: _all(s, Delivery))
    assert {(r.status, r.attempts) for r in rows} == {(DeliveryStatus.PENDING, 0)}


@pytest.mark.parametrize("args", [[], ["--delivery", "1", "--dead"], ["--delivery", "1", "--endpoint", "1"],
                                  ["--endpoint", "1"], ["--endpoint", "1", "--from", "1d"]])
def test_given_replay_said_no_way_or_two_ways_then_refused(cli_env, args):
    _db(make_endpoint)

    result = runner.invoke(app, ["replay", *args])

    assert result.exit_code == 2, result.output
    assert "error: replay: say one of --delivery ID, --endpoint ID --dead, --endpoint ID --from T --to T " \
           "(invalid_input)" in result.output


def test_given_a_naive_time_on_the_command_line_then_refused_naming_the_option(cli_env):
    endpoint = _db(make_endpoint)

    result = runner.invoke(app, ["replay", "--endpoint", str(endpoint.id), "--from", "2026-11-20T08:00:00",
                                 "--to", "1h"])

    assert result.exit_code == 2 and "error: --from: naive time refused" in result.output, result.output


def test_given_times_ago_iso_naive_or_unreadable_then_read_or_refused_naming_the_option():
    now = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)

    assert parse_instant("6h", option="--since", now=now) == now - 6 * H
    assert parse_instant("2026-11-20T08:00:00+08:00", option="--since", now=now) == now - 4 * 24 * H
    with pytest.raises(InvalidInput, match="--since: naive time refused"):
        parse_instant("2026-11-20T08:00:00", option="--since", now=now)
    with pytest.raises(InvalidInput, match="--since: not an ISO 8601 instant"):
        parse_instant("yesterday", option="--since", now=now)
