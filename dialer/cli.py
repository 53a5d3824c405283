"""The `dialer` command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.errors import DialerError
from dialer.settings import Settings
from dialer.archive_cli import register as register_archive_commands
from dialer.integrations_cli import register as register_integration_commands
from dialer.sip_cli import register as register_sip_commands

HELP: Final = "markdown"
"""Help texts are Markdown: a paragraph's lines flow into one and a `command` prints without its
quotes. Write plain text or single back-quotes, never reST's double ones."""

app = typer.Typer(help="Collections Dialer: compliance-first calling for a collections call centre.", no_args_is_help=True,
                  rich_markup_mode=HELP)
policy_app = typer.Typer(help="Client policies.", no_args_is_help=True, rich_markup_mode=HELP)
app.add_typer(policy_app, name="policy")
register_sip_commands(app)  # sip-edge, sip-media, sip-up, seat-sip-password (dialer.sip_cli)
register_archive_commands(app)  # hold, hold-lift, holds, audit recordings, archive-receiver (dialer.archive_cli)
register_integration_commands(app)  # integration-add/-list/-rotate/-disable/-enable, deliveries, replay

T = TypeVar("T")

_errors = {"json": False}
"""How this invocation prints a service error: its JSON body (``--json``) or one readable line."""


def _errors_as_json(as_json: bool) -> None:
    """A command's own ``--json`` prints its errors as JSON too."""
    _errors["json"] = _errors["json"] or as_json


@app.callback()
def main(
    as_json: Annotated[bool, typer.Option("--json", help="Print errors as JSON (the API's error body) instead of "
                                                         "one line; give it before the command")] = False,
) -> None:
    """Collections Dialer: compliance-first calling for a collections call centre."""
    _errors["json"] = as_json  # runs first on every invocation


def _settings() -> Settings:
    return Settings()


async def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True) -> T:
    """Run one unit of work against the configured database (migrating first) and commit it."""
    from dialer.calendars.store import CalendarStore, attach
    from dialer.kit.db import create_engine, session_factory
    from dialer.kit.migrations import upgrade_to_head

    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade_to_head(engine, settings.migrations_dir)
        sessions = session_factory(engine)
        attach(CalendarStore(), sessions)  # the calendars as the agency entered them (a `check` uses them)
        async with sessions() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def _error_text(exc: DialerError) -> str:
    """``error: <detail> (<code>)``, then one indented line per item of a list of problems (an
    import's bad lines, a policy's bad fields)."""
    lines = [f"error: {exc.detail} ({exc.code})"]
    for item in exc.extra.get("errors") or ():
        if isinstance(item, dict):
            text = item.get("reason", item.get("message", ""))
            where = ", ".join(f"{k} {v}" for k, v in item.items() if k not in ("reason", "message") and v is not None)
            lines.append(f"  {where}: {text}" if where else f"  {text}")
        else:
            lines.append(f"  {item}")
    return "\n".join(lines)


def _fail(exc: DialerError) -> typer.Exit:
    """Report a service error on stderr (one readable line, or its JSON body under ``--json``): exit 2."""
    if _errors["json"]:
        typer.echo(json.dumps(exc.body(), ensure_ascii=False, indent=2, default=str), err=True)
    else:
        typer.echo(_error_text(exc), err=True)
    return typer.Exit(code=2)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except DialerError as exc:
        raise _fail(exc) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from DIALER_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from DIALER_PORT)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the port (like replicas: one "
                                                     "per core on PostgreSQL)")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request (uvicorn's access log)")] = True,
) -> None:
    """Serve the API and pages. On an empty directory, creates and migrates the SQLite file first.

    With --workers N the migrations and the generated secret key are done once here, before the
    workers start (each worker then builds its own app from the same environment)."""
    import copy
    import os

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    settings = _settings()
    level = settings.log_level.upper()
    log_config = copy.deepcopy(LOGGING_CONFIG)  # applied in every worker process too
    log_config["formatters"]["plain"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    log_config["handlers"]["plain"] = {"formatter": "plain", "class": "logging.StreamHandler",
                                       "stream": "ext://sys.stderr"}
    log_config["root"] = {"handlers": ["plain"], "level": level}
    options: dict[str, Any] = {
        "host": host or settings.host, "port": port or settings.port, "log_level": settings.log_level.lower(),
        "log_config": log_config, "proxy_headers": True, "access_log": access_log,
    }
    if workers == 1:
        from dialer.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    if settings.auto_migrate:
        from dialer.kit.migrations import upgrade_database

        _run(upgrade_database(settings.database_url, settings.migrations_dir))
        os.environ["DIALER_AUTO_MIGRATE"] = "false"  # the workers inherit the environment
    if settings.secret_key is None:
        from dialer.kit.secrets import load_or_create_secret

        load_or_create_secret(settings.data_dir / "secret_key")  # created once; the workers read it
    uvicorn.run("dialer.app:create_app", factory=True, workers=workers, **options)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply the database migrations (SQLite or PostgreSQL, from DIALER_DATABASE_URL)."""
    from dialer.kit.db import create_engine
    from dialer.kit.migrations import current_revisions, upgrade_to_head

    settings = _settings()

    async def _go() -> set[str]:
        engine = create_engine(settings.database_url)
        try:
            await upgrade_to_head(engine, settings.migrations_dir, revision)
            return await current_revisions(engine)
        finally:
            await engine.dispose()

    typer.echo(f"database at revision {', '.join(sorted(_run(_go())))}")


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="agent, supervisor, admin, integration or auditor")],
    display_name: Annotated[str | None, typer.Option(help="Name shown to others")] = None,
    team: Annotated[str | None, typer.Option()] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input")] = False,
) -> None:
    """Create a user. The password is prompted for (or read from stdin); never passed as an argument."""
    from dialer.auth.models import Role
    from dialer.auth.schemas import UserCreate
    from dialer.auth.service import create_user as create

    try:
        role_value = Role(role)
    except ValueError:
        raise typer.BadParameter(f"role must be one of {', '.join(r.value for r in Role)}") from None
    password = None
    if role_value is not Role.INTEGRATION:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password: ")
    try:
        data = UserCreate(username=username, display_name=display_name or username, role=role_value, team=team, password=password)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    user = _run(_in_session(_settings(), lambda s: create(s, data=data, actor=None)))
    typer.echo(f"created {user.role.value} '{user.username}' (id {user.id})")


async def _client_id(session: AsyncSession, client: str) -> int:
    from dialer.cases.lookup import find_client

    return (await find_client(session, client)).id


def _import(kind: str, client: str, path: Path, encoding: str | None = None) -> None:
    from dialer.imports import service
    from dialer.imports.limits import LIMITS

    if path.stat().st_size > LIMITS.upload_bytes:
        raise typer.BadParameter(f"{path.name} is larger than {LIMITS.upload_bytes // 2**20} MiB: split it")
    content = path.read_bytes()
    func = service.import_cases if kind == "cases" else service.import_stop_list

    async def _work(session: AsyncSession) -> Any:
        client_id = await _client_id(session, client)
        return await func(
            session, client_id=client_id, filename=path.name, content=content, actor=None,
            now=dt.datetime.now(dt.timezone.utc), encoding=encoding,
        )

    result = _run(_in_session(_settings(), _work))
    typer.echo(json.dumps({"batch_id": result.batch_id, "rows": result.rows, "created": result.created}, ensure_ascii=False))


@app.command("import-cases")
def import_cases(
    client: Annotated[str, typer.Argument(help="Client code, id or name")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX file")],
    encoding: Annotated[str | None, typer.Option(help="The CSV's encoding when it is neither UTF-8 nor GB18030, "
                                                      "e.g. big5")] = None,
) -> None:
    """Import a client's cases. Any bad row rejects the whole file, with a report of every bad line."""
    _import("cases", client, path, encoding)


@app.command("import-stop-list")
def import_stop_list(
    client: Annotated[str, typer.Argument(help="Client code, id or name")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX file")],
    encoding: Annotated[str | None, typer.Option(help="The CSV's encoding when it is neither UTF-8 nor GB18030, "
                                                      "e.g. big5")] = None,
) -> None:
    """Import a client's stop-contact list. Any bad row rejects the whole file."""
    _import("stop_list", client, path, encoding)


@app.command()
def check(
    account: Annotated[str | None, typer.Option("--account", help="A case's account reference: its debtor, or "
                                                                  "with --party-name that party")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="A phone number, E.164 or national (read in the "
                                                              "client's region, CN when no client is given)")] = None,
    party_name: Annotated[str | None, typer.Option("--party-name", help="A party's name on the --account case")] = None,
    client: Annotated[str | None, typer.Option("--client", help="Client code, id or name: narrows --account "
                                                                "and --phone")] = None,
    number: Annotated[int | None, typer.Option("--number", help="Phone number id")] = None,
    party: Annotated[int | None, typer.Option("--party", help="Party id (any of its numbers)")] = None,
    at: Annotated[str | None, typer.Option(help="ISO 8601 instant with offset; default now")] = None,
    channel: Annotated[str, typer.Option(help="call or sms")] = "call",
) -> None:
    """One compliance decision, as the API gives it (a recorded dry run). Exit 0 allowed, 1 refused.

    Name the target one way: --account REF [--party-name NAME], --phone NUMBER [--account REF], --number ID or --party ID."""
    from dialer.cases.lookup import find_target
    from dialer.compliance import service
    from dialer.kit.db import begin_write
    from dialer.kit.errors import InvalidInput

    if channel not in ("call", "sms"):
        raise typer.BadParameter("channel must be call or sms")
    named = [flag for flag, value in (("--account", account), ("--phone", phone), ("--party-name", party_name),
                                      ("--client", client)) if value is not None]
    ways = [flag for flag, value in (("--number", number), ("--party", party)) if value is not None]
    ways += [" / ".join(named)] if named else []
    if len(ways) != 1:
        given = f" (given: {', '.join(ways)})" if ways else ""
        raise _fail(InvalidInput(f"target: name it one way: --account REF [--party-name NAME], --phone NUMBER, "
                                 f"--number ID or --party ID{given}", field="target"))
    instant = dt.datetime.now(dt.timezone.utc)
    if at is not None:
        try:
            instant = dt.datetime.fromisoformat(at)
        except ValueError:
            raise typer.BadParameter(f"--at: not an ISO 8601 instant: {at!r}") from None
        if instant.utcoffset() is None:
            raise _fail(InvalidInput("at: naive datetime refused; give an offset, e.g. 2026-11-24T09:30:00+08:00", field="at"))

    async def _work(session: AsyncSession) -> dict[str, Any]:
        party_id, number_id = party, number
        if named:
            await begin_write(session)  # the check writes the ledger: a SQLite writer from the first read
            found = await find_target(session, account=account, phone=phone, party_name=party_name, client=client)
            party_id, number_id = (None, found.number_id) if found.number_id is not None else (found.party_id, None)
        checked = await service.check(session, at=instant, party_id=party_id, number_id=number_id, channel=channel)
        return checked.body()

    body = _run(_in_session(_settings(), _work))
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2, default=lambda v: v.isoformat()))
    raise typer.Exit(code=0 if body["allowed"] else 1)


@app.command("twilio-emulator")
def twilio_emulator(
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8099,
    scenario: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Scenario file (JSON or YAML)")] = None,
    public_url: Annotated[str | None, typer.Option(help="Base URL the emulator puts in recording links")] = None,
) -> None:
    """Run the local Twilio emulator (the REST subset the service uses, with signed callbacks).

    Credentials come from DIALER_TWILIO_ACCOUNT_SID / DIALER_TWILIO_AUTH_TOKEN when set, else
    the emulator's published test defaults."""
    import os

    import twilio_emulator as emulator

    emulator.serve(
        host=host, port=port, scenario_path=str(scenario) if scenario else None,
        account_sid=os.environ.get("DIALER_TWILIO_ACCOUNT_SID", emulator.DEFAULT_ACCOUNT_SID),
        auth_token=os.environ.get("DIALER_TWILIO_AUTH_TOKEN", emulator.DEFAULT_AUTH_TOKEN),
        public_url=public_url,
    )


@app.command()
def worker() -> None:
    """Run the scheduled jobs (cadence, minimums, promise reminders, visits, the recordings' purge
    and completeness audit; with a carrier configured also recording capture and call
    reconciliation) and the webhooks' delivery until stopped.

    Safe beside `dialer serve` replicas: each job takes a PostgreSQL advisory lock and runs once.
    Run the service with DIALER_RUN_SCHEDULER=false when dedicated workers run the jobs."""
    import logging
    import signal

    from dialer.container import build_container
    from dialer.kit.clock import system_clock
    from dialer.kit.db import create_engine
    from dialer.kit.migrations import upgrade_to_head
    from scheduling.runner import run_worker

    settings = _settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def _go() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade_to_head(engine, settings.migrations_dir)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            container = build_container(settings, clock=system_clock, engine=engine, sign_tokens=False)
            webhooks = container.start_webhooks() if settings.run_webhooks else None
            if webhooks is not None:
                webhooks.start()
            try:
                await run_worker(container.write_sessions, clock=system_clock, stop=stop, jobs=container.jobs)
            finally:
                if webhooks is not None:
                    await webhooks.aclose()
                if container.carrier is not None:
                    await container.carrier.aclose()
        finally:
            await engine.dispose()

    _run(_go())


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="How long the simulated agents work (real seconds).")] = 60.0,
    agents: Annotated[int, typer.Option(min=1, max=50, help="Simulated agents in progressive mode.")] = 6,
    cases: Annotated[int, typer.Option(min=10, max=20000, help="Cases in the sample portfolio.")] = 300,
    port: Annotated[int, typer.Option(help="Port of the service.")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its SQLite file and recordings (wiped).")] = Path(".dialer-demo"),
    speed: Annotated[float | None, typer.Option(help="Simulated seconds per real second (default 20; the SIP demo runs at 1).")] = None,
    keep_serving: Annotated[bool, typer.Option("--keep-serving/--exit", help="Keep the service up after the summary, in real time, until Ctrl+C.")] = True,
    carrier: Annotated[str, typer.Option(metavar="twilio|sip", help="twilio: the local Twilio emulator; sip: Kamailio, the B2BUA, a media process, a sipp trunk and baresip softphones, in real time.")] = "twilio",
) -> None:
    """The whole loop in about a minute and a half, with no configuration: SQLite, the local Twilio emulator (or
    the SIP path with --carrier sip), a sample portfolio of two banks, simulated agents in progressive mode, a live
    table and a summary."""
    import logging

    from dialer.demo.runner import DemoOptions, run_demo

    carrier = carrier.lower()
    if carrier not in ("twilio", "sip"):
        raise typer.BadParameter(f"{carrier!r} is not one of 'twilio', 'sip'", param_hint="--carrier")
    sip = carrier == "sip"
    if sip and speed not in (None, 1.0):
        raise typer.BadParameter("the SIP demo runs in real time: SIP media cannot be sped up", param_hint="--speed")
    if sip:
        from dialer.demo.sip import MissingTools, check_tools

        try:
            check_tools()
        except MissingTools as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = DemoOptions(seconds=seconds, agents=agents, cases=cases, port=port, data_dir=data_dir,
                          speed=speed if speed is not None else 1.0 if sip else 20.0, keep_serving=keep_serving,
                          carrier="sip" if sip else "twilio", out=lambda line: typer.echo(line))
    try:
        _run(run_demo(options))
    except KeyboardInterrupt:
        typer.echo("stopped")


report_app = typer.Typer(help="Reports.", no_args_is_help=True, rich_markup_mode=HELP)
app.add_typer(report_app, name="report")


class ReportLanguage(enum.StrEnum):
    """The languages the report's CSV headers are written in."""

    EN = "en"
    ZH = "zh"


@report_app.command("daily")
def report_daily(
    day: Annotated[str | None, typer.Option(help="Local date YYYY-MM-DD (default: today)")] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="Zone the day is counted in (default: DIALER_DEFAULT_TIME_ZONE)")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team")] = None,
    language: Annotated[ReportLanguage, typer.Option(case_sensitive=False, help="CSV headers: en or zh")] = ReportLanguage.EN,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of CSV (errors too)")] = False,
) -> None:
    """The daily collection statistics (催收记录统计表) per agent and team, with the KPIs."""
    from zoneinfo import ZoneInfo

    from scheduling import stats

    _errors_as_json(as_json)

    settings = _settings()
    zone_name = time_zone or settings.default_time_zone
    now = dt.datetime.now(dt.timezone.utc)
    try:
        local_day = dt.date.fromisoformat(day) if day else now.astimezone(ZoneInfo(zone_name)).date()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def _work(session: AsyncSession) -> Any:
        return await stats.daily_report(session, day=local_day, now=now, time_zone=zone_name, team=team)

    report = _run(_in_session(settings, _work))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(stats.render_csv(report, language=language.value), nl=False)


@policy_app.command("show")
def policy_show(
    client: Annotated[str, typer.Argument(help="Client code, id or name, or a preset name with --preset")],
    preset: Annotated[bool, typer.Option("--preset", help="Show a built-in preset instead of a client")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the effective document as JSON (errors too)")] = False,
) -> None:
    """Print a client's effective policy (or a preset's)."""
    from dialer.clients import service as clients
    from dialer.kit.errors import NotFound
    from dialer.policy.document import PolicyDocument
    from dialer.policy.presets import describe, list_presets, load_preset

    _errors_as_json(as_json)

    if preset:
        try:
            doc = load_preset(client)
        except DialerError as exc:
            raise _fail(exc) from None
        header = f"preset {client}"
    else:
        async def _work(session: AsyncSession) -> tuple[str, PolicyDocument]:
            client_id = await _client_id(session, client)
            version = await clients.current_policy(session, client_id)
            return f"client {client} — policy version {version.version} (preset {version.preset})", \
                PolicyDocument.model_validate(version.document)

        try:
            header, doc = asyncio.run(_in_session(_settings(), _work))
        except NotFound as exc:
            if client not in list_presets():
                raise _fail(exc) from None
            raise _fail(NotFound(f"client '{client}' not found; '{client}' is a preset: "
                                 f"dialer policy show --preset {client}", field="client", preset=client)) from None
        except DialerError as exc:
            raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(doc.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        typer.echo(header)
        typer.echo(describe(doc))


if __name__ == "__main__":  # pragma: no cover
    app()
