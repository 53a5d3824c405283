"""The chain's commands, on the ``dialer audit`` group (registered by ``dialer.archive_cli``):

* ``dialer audit verify [--table audit|decisions|all] [--from WHEN] [--to WHEN] [--since-seq N]
  [--anchor TABLE:SEQ:HASH …] [--json]``: recompute the chains; exit 1 on a break, on rows left
  unsealed or sealed late, so a cron job can alert; each table's head is printed as an anchor to note;
* ``dialer audit seal [--sweep]``: seal what is waiting now (the scheduled sealer does it every few
  seconds; this is for a deployment that runs no scheduler, or before a verification).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.chain.seal import SEAL_HORIZON, seal
from dialer.audit.chain.tables import CHAINS
from dialer.audit.chain.verify import Report, first_seq_since, parse_anchor, verify
from dialer.settings import Settings

T = TypeVar("T")


class Which(enum.StrEnum):
    AUDIT = "audit"
    DECISIONS = "decisions"
    ALL = "all"


def register(audit_app: typer.Typer, *, settings: Callable[[], Settings] = Settings) -> None:
    @audit_app.command("verify")
    def audit_verify(
        table: Annotated[Which, typer.Option(help="Which chain: the audit log, the decision ledger, or both")] = Which.ALL,
        from_: Annotated[str | None, typer.Option("--from", help="Start at the first entry sealed from then "
                                                  "(YYYY-MM-DD in the agency's zone, or an ISO instant)")] = None,
        to: Annotated[str | None, typer.Option(help="Stop after the entries sealed by then (a day counts whole)")] = None,
        since_seq: Annotated[int | None, typer.Option(min=1, help="Start at this entry (one table)")] = None,
        anchor: Annotated[list[str] | None, typer.Option(help="TABLE:SEQ:HASH noted from an earlier verification "
                                                         "(repeatable): the entry must still hash to it")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON")] = False,
    ) -> None:
        """Prove the audit log and the decision ledger unaltered since they were sealed, or name the first break."""
        config = settings()
        names = list(CHAINS) if table is Which.ALL else [table.value]
        if since_seq is not None and len(names) > 1:
            raise typer.BadParameter("--since-seq needs --table audit or --table decisions")
        anchors = _anchors(anchor or [], names)
        start, end = _instant(from_, config, "--from"), _instant(to, config, "--to", end_of_day=True)
        now = dt.datetime.now(dt.timezone.utc)

        async def _work(session: AsyncSession) -> list[Report]:
            reports = []
            for name in names:
                first = since_seq
                if start is not None:
                    first = await first_seq_since(session, table=name, at=start) or _past_head
                if any(seq < (first or 1) for seq in anchors.get(name, {})):
                    raise typer.BadParameter(f"an anchor of the {name} chain comes before where the walk starts")
                reports.append(await verify(session, table=name, now=now, since_seq=first, until=end,
                                            anchors=anchors.get(name)))
            return reports

        reports = _open(config, _work, commit=False)
        ok = all(report.ok for report in reports)
        if as_json:
            typer.echo(json.dumps({"ok": ok, "tables": {r.table: r.as_dict() for r in reports}}, indent=2))
        else:
            typer.echo("\n".join(_summary(report) for report in reports))
        raise typer.Exit(0 if ok else 1)

    @audit_app.command("seal")
    def audit_seal(
        sweep: Annotated[bool, typer.Option(help="Look at every row, not only the last hour's")] = False,
    ) -> None:
        """Seal the audit log's and the ledger's rows written since the last seal."""
        config = settings()

        async def _work(session: AsyncSession) -> int:
            return await seal(session, now=dt.datetime.now(dt.timezone.utc), horizon=None if sweep else SEAL_HORIZON)

        typer.echo(f"sealed {_open(config, _work, commit=True)} row(s)")


_past_head = 2**62
"""``--from`` after the last entry: nothing to walk (only the unsealed rows are counted)."""


def _anchors(texts: list[str], names: list[str]) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for text in texts:
        try:
            table, seq, digest = parse_anchor(text)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
        if table not in names:
            raise typer.BadParameter(f"--anchor {text}: the {table} chain is not being verified")
        out.setdefault(table, {})[seq] = digest
    return out


def _instant(text: str | None, config: Settings, option: str, *, end_of_day: bool = False) -> dt.datetime | None:
    if text is None:
        return None
    zone = ZoneInfo(config.default_time_zone)
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text) + dt.timedelta(days=1 if end_of_day else 0)
            return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.timezone.utc)
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} {text!r} is neither a date (YYYY-MM-DD) nor an ISO instant") from None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(dt.timezone.utc)


def _open(config: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, commit: bool) -> T:
    """One unit of work on the configured database, migrated first (as every command does)."""
    from dialer.kit.db import create_engine, session_factory
    from dialer.kit.migrations import upgrade_to_head

    async def _run() -> T:
        engine = create_engine(config.database_url)
        try:
            await upgrade_to_head(engine, config.migrations_dir)
            async with session_factory(engine)() as session:
                result = await work(session)
                await (session.commit() if commit else session.rollback())
                return result
        finally:
            await engine.dispose()

    return asyncio.run(_run())


_TITLES = {"audit": "audit log", "decisions": "decision ledger"}


def _summary(report: Report) -> str:
    title, head = _TITLES[report.table], report.head
    brk = report.first_break
    if brk is None:
        walked = (f"{report.checked} entries verified (seq {report.first_seq}…{head.seq})" if head
                  else "no entries in the range")
        lines = [f"{title}: {'intact' if report.ok else 'intact chain, with warnings'} — {walked}"]
    else:
        lines = [f"{title}: BROKEN — {brk.kind} at entry {brk.seq}: {brk.message}",
                 f"  verified before the break: {report.checked} entries"]
    if head is not None:
        lines.append(f"  anchor (note it where the database cannot reach): {head.anchor}")
    if report.anchors_checked:
        lines.append(f"  {report.anchors_checked} anchor(s) matched")
    if report.unsealed:
        oldest = f"{report.oldest_unsealed_at:%Y-%m-%d %H:%M:%S}" if report.oldest_unsealed_at else "?"
        more = " …" if report.unsealed > len(report.unsealed_ids) else ""
        lines.append(f"  {report.unsealed} row(s) left unsealed (oldest written {oldest} UTC): ids "
                     f"{', '.join(map(str, report.unsealed_ids))}{more}")
    if report.late:
        lines.append(f"  {report.late} row(s) sealed late:")
        lines += [f"    entry {late.seq} (row {late.row_id}): {late.reason}" for late in report.late_rows]
    return "\n".join(lines)
