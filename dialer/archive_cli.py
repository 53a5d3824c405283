"""The recording archive's commands (registered on the `dialer` command line by ``dialer.cli``):

* ``dialer hold (--call ID | --case REF [--client CODE] [--party NAME]) --reason TEXT``: a legal hold;
* ``dialer hold-lift HOLD --reason TEXT`` and ``dialer holds [--all]``;
* ``dialer archive-receiver --secret … --store DIR``: the reference receiver an integrator runs or copies;
* ``dialer audit recordings [--day D] [--json] [--no-verify]``: the completeness audit of a day
  (yesterday by default); exits 1 when it found a gap, so a cron job can alert on it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.settings import Settings

audit_app = typer.Typer(help="Audits an auditor or an operator runs", no_args_is_help=True)


def register(app: typer.Typer, *, settings: type[Settings] = Settings) -> None:
    app.add_typer(audit_app, name="audit")
    from dialer.audit.verify_cli import register as register_chain_commands

    register_chain_commands(audit_app, settings=settings)  # audit verify, audit seal

    @app.command("archive-receiver", add_help_option=False,
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def archive_receiver(ctx: typer.Context) -> None:
        """Run the reference archive receiver (archive_receiver/README.md); --help lists its options."""
        from archive_receiver.__main__ import main

        raise typer.Exit(code=main(ctx.args, prog="dialer archive-receiver"))

    @app.command("hold")
    def hold(
        reason: Annotated[str, typer.Option(help="Why (kept with the hold, shown to auditors)")],
        call: Annotated[int | None, typer.Option(help="Hold one call's recordings (its id)")] = None,
        case: Annotated[str | None, typer.Option(help="Hold a case's recordings: its account reference")] = None,
        client: Annotated[str | None, typer.Option(help="The case's client (code or name) when the reference is "
                                                        "not unique")] = None,
        party: Annotated[str | None, typer.Option(help="With --case: hold one party's recordings (its name)")] = None,
    ) -> None:
        """Keep recordings past their retention (a dispute, a complaint, a regulator's inquiry)."""
        from dialer.cli import _in_session, _run
        from recordings import retention
        from recordings.models import HoldScope

        if (call is None) == (case is None):
            raise typer.BadParameter("name either --call or --case")

        async def _work(session: AsyncSession) -> Any:
            scope, scope_id = await _target(session, call=call, case=case, client=client, party=party)
            hold, changed = await retention.place_hold(session, scope=HoldScope(scope), scope_id=scope_id,
                                                       reason=reason, actor=None, now=dt.datetime.now(dt.timezone.utc))
            return hold.id, scope, scope_id, changed

        hold_id, scope, scope_id, changed = _run(_in_session(settings(), _work))
        typer.echo(f"legal hold {hold_id} on {scope} {scope_id}: {changed} recording(s) now held")

    @app.command("hold-lift")
    def hold_lift(
        hold_id: Annotated[int, typer.Argument(help="The hold's id (dialer holds)")],
        reason: Annotated[str, typer.Option(help="Why it may be lifted")],
    ) -> None:
        """Lift a legal hold; recordings no other hold covers fall back to their retention."""
        from dialer.cli import _in_session, _run
        from recordings import retention

        async def _work(session: AsyncSession) -> int:
            _, changed = await retention.lift_hold(session, hold_id=hold_id, reason=reason, actor=None,
                                                   now=dt.datetime.now(dt.timezone.utc))
            return changed

        changed = _run(_in_session(settings(), _work))
        typer.echo(f"legal hold {hold_id} lifted: {changed} recording(s) no longer held")

    @app.command("holds")
    def holds(all_: Annotated[bool, typer.Option("--all", help="Lifted holds too")] = False) -> None:
        """List legal holds (active ones by default)."""
        from dialer.cli import _in_session, _run
        from recordings import retention

        async def _work(session: AsyncSession) -> list[str]:
            return [f"{h.id}\t{h.scope.value} {h.scope_id}\tset {h.set_at:%Y-%m-%d %H:%M}\t{h.reason}"
                    + (f"\tlifted {h.lifted_at:%Y-%m-%d %H:%M}: {h.lift_reason}" if h.lifted_at else "")
                    for h in await retention.holds(session, active_only=not all_)]

        lines = _run(_in_session(settings(), _work))
        typer.echo("\n".join(lines) if lines else "no legal holds")

    @audit_app.command("recordings")
    def audit_recordings(
        day: Annotated[str | None, typer.Option(help="YYYY-MM-DD in the agency's zone (default: yesterday)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON")] = False,
        verify: Annotated[bool, typer.Option(help="Re-hash every stored file (--no-verify: sizes only)")] = True,
    ) -> None:
        """Prove a day's recordings complete, or list every gap with its reason (exit 1)."""
        from dialer.cli import _in_session, _run
        from dialer.container import storage_for
        from recordings.completeness import audit_day

        config = settings()
        now = dt.datetime.now(dt.timezone.utc)
        try:
            chosen = dt.date.fromisoformat(day) if day else now.astimezone(ZoneInfo(config.default_time_zone)).date() \
                - dt.timedelta(days=1)
        except ValueError:
            raise typer.BadParameter(f"--day {day!r} is not a date; use YYYY-MM-DD") from None

        async def _work(session: AsyncSession) -> dict[str, Any]:
            storage = storage_for(config)
            report = await audit_day(session, day=chosen, zone=config.default_time_zone, storage=storage, now=now,
                                     verify=verify)
            return report.as_dict()

        report = _run(_in_session(config, _work))
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            typer.echo(_summary(report))
        raise typer.Exit(0 if report["complete"] else 1)


async def _target(session: AsyncSession, *, call: int | None, case: str | None, client: str | None,
                  party: str | None) -> tuple[str, int]:
    from dialer.cases.lookup import case_by_account, find_client, party_by_name

    if call is not None:
        return "call", call
    assert case is not None
    found = await case_by_account(session, case, client=await find_client(session, client) if client else None)
    if party:
        return "party", (await party_by_name(session, found, party)).party_id
    return "case", found.id


def _summary(report: dict[str, Any]) -> str:
    lines = [
        f"{report['day']} ({report['zone']}): {'complete' if report['complete'] else 'GAPS FOUND'}",
        f"  calls ended {report['calls']}, answered {report['answered']}, recordings stored "
        f"{report['recordings_stored']} (verified {report['recordings_verified']}), purged {report['recordings_purged']}",
    ]
    for endpoint, counts in report["deliveries"].items():
        lines.append(f"  endpoint {endpoint}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for gap in report["gaps"]:
        where = ", ".join(f"{k} {gap[k]}" for k in ("call_id", "recording_id", "endpoint_id") if gap[k] is not None)
        lines.append(f"  {gap['kind']}: {gap['reason']} ({where})")
    return "\n".join(lines)
