"""The integration endpoints' commands (webhooks out), registered on the `dialer` command line by
``dialer.cli``; each runs one unit of work through ``dialer.outbox.service`` as the console
(``actor=None``: an operator at the machine may do what an admin may):

* ``dialer integration-add URL --event TYPE … [--client CODE …]``: prints the signing secret once;
* ``dialer integration-list``, ``integration-rotate ID``, ``integration-disable ID``, ``integration-enable ID``;
* ``dialer deliveries [--endpoint ID] [--status dead] [--since T]``;
* ``dialer replay --delivery ID | --endpoint ID --dead | --endpoint ID --from T --to T``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.errors import InvalidInput, NotFound
from dialer.outbox.models import Delivery, DeliveryStatus, EventType, WebhookEndpoint, WebhookEvent
from dialer.settings import Settings

T = TypeVar("T")

_AGO = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_instant(text: str, *, option: str, now: dt.datetime) -> dt.datetime:
    """An ISO 8601 instant with its offset, or a time ago (``30m``, ``6h``, ``7d``)."""
    ago = _AGO.match(text.strip())
    if ago:
        return now - dt.timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        instant = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{option}: not an ISO 8601 instant nor a time ago (30m, 6h, 7d): {text!r}",
                           field=option) from None
    if instant.utcoffset() is None:
        raise InvalidInput(f"{option}: naive time refused; give an offset, e.g. 2026-11-24T09:30:00+08:00",
                           field=option)
    return instant


async def client_ids(session: AsyncSession, refs: Sequence[str]) -> list[int] | None:
    """The ids of the clients named by code (or id, or name); none named: None (every client)."""
    from dialer.cases.lookup import find_client

    return [(await find_client(session, ref)).id for ref in refs] or None


async def owner_id(session: AsyncSession, username: str | None) -> int | None:
    from dialer.auth.models import User

    if username is None:
        return None
    found = (await session.execute(select(User.id).where(User.username == username))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"owner: no user '{username}'", field="owner")
    return int(found)


def describe(endpoint: WebhookEndpoint, codes: dict[int, str]) -> str:
    """``3  enabled  https://… events call.completed, recording.stored  clients CMB  "archive"``."""
    state = "enabled" if endpoint.active else f"disabled ({endpoint.disabled_reason or 'no reason given'})"
    clients = ", ".join(codes.get(i, str(i)) for i in endpoint.client_ids) if endpoint.client_ids else "all"
    line = f"{endpoint.id}  {state}  {endpoint.url}  events {', '.join(endpoint.event_types)}  clients {clients}"
    return line + (f"  \"{endpoint.description}\"" if endpoint.description else "")


async def _codes(session: AsyncSession, endpoints: Sequence[WebhookEndpoint]) -> dict[int, str]:
    from dialer.clients.models import Client

    ids = {i for e in endpoints for i in e.client_ids or ()}
    rows = (await session.execute(select(Client.id, Client.code).where(Client.id.in_(ids)))).all() if ids else []
    return {row.id: row.code for row in rows}


def _validation(exc: ValidationError) -> dict[str, Any]:
    from dialer.kit.error_handlers import validation_body

    body = validation_body([dict(e) for e in exc.errors()])
    return {"detail": body["detail"].replace("Value error, ", ""), "field": body["fields"][0]["field"],
            "fields": body["fields"]}


def register(app: typer.Typer, *, settings: type[Settings] = Settings) -> None:
    def run(work: Callable[[AsyncSession, dt.datetime], Awaitable[T]]) -> T:
        from dialer.cli import _fail, _in_session, _run

        now = dt.datetime.now(dt.timezone.utc)
        try:
            return _run(_in_session(settings(), lambda session: work(session, now)))
        except ValidationError as exc:  # the API's body for it, as a service error
            raise _fail(InvalidInput(**_validation(exc))) from None

    @app.command("integration-add")
    def integration_add(
        url: Annotated[str, typer.Argument(help="Where events are POSTed (http:// or https://)")],
        event: Annotated[list[str], typer.Option("--event", help="An event type it takes (repeat, or comma-separated): "
                                                 + ", ".join(t.value for t in EventType))],
        client: Annotated[list[str] | None, typer.Option("--client", help="Only this client's events (its code; "
                                                         "repeat for more). Default: every client")] = None,
        description: Annotated[str, typer.Option(help="What it is, for people")] = "",
        owner: Annotated[str | None, typer.Option(help="The integration user who may read and replay its "
                                                       "deliveries (username)")] = None,
        max_in_flight: Annotated[int, typer.Option(help="Requests out to it at once (1..32)")] = 4,
    ) -> None:
        """Add an integration endpoint. Its signing secret is printed this once: store it in the receiver."""
        from dialer.outbox import service
        from dialer.outbox.schemas import EndpointCreate

        async def work(session: AsyncSession, now: dt.datetime) -> tuple[service.Issued, dict[int, str]]:
            data = EndpointCreate(url=url, description=description, max_in_flight=max_in_flight,
                                  event_types=[t.strip() for e in event for t in e.split(",") if t.strip()],
                                  client_ids=await client_ids(session, client or ()),
                                  owner_id=await owner_id(session, owner))
            issued = await service.create_endpoint(session, actor=None, now=now, data=data)
            return issued, await _codes(session, [issued.endpoint])

        issued, codes = run(work)
        typer.echo(f"added integration endpoint {describe(issued.endpoint, codes)}")
        typer.echo(f"signing secret (shown once, store it in the receiver now): {issued.secret}")

    @app.command("integration-list")
    def integration_list() -> None:
        """List the integration endpoints (never their secrets)."""
        from dialer.outbox import service

        async def work(session: AsyncSession, _: dt.datetime) -> list[str]:
            endpoints = await service.list_endpoints(session, actor=None, limit=10_000)
            codes = await _codes(session, endpoints)
            return [describe(e, codes) for e in endpoints]

        for line in run(work) or ["no integration endpoints"]:
            typer.echo(line)

    @app.command("integration-rotate")
    def integration_rotate(
        endpoint: Annotated[int, typer.Argument(help="The endpoint's id")],
        overlap_hours: Annotated[float, typer.Option(min=0, max=168, help="How long the previous secret keeps "
                                                                          "signing too (0: dropped at once)")] = 24,
    ) -> None:
        """Give an endpoint a new signing secret, printed this once; the previous one signs too during the overlap."""
        from dialer.outbox import service

        issued = run(lambda s, now: service.rotate_secret(s, actor=None, now=now, endpoint_id=endpoint,
                                                          overlap=dt.timedelta(hours=overlap_hours)))
        until = issued.endpoint.previous_secret_until
        typer.echo(f"rotated the signing secret of endpoint {endpoint}; the previous one "
                   + (f"signs too until {until.isoformat()}" if until else "no longer signs"))
        typer.echo(f"new signing secret (shown once, store it in the receiver now): {issued.secret}")

    def _switch(endpoint: int, enabled: bool, reason: str | None) -> None:
        from dialer.outbox import service
        from dialer.outbox.schemas import EndpointUpdate

        change = EndpointUpdate(enabled=enabled, **({"disabled_reason": reason} if reason else {}))
        updated = run(lambda s, now: service.update_endpoint(s, actor=None, now=now, endpoint_id=endpoint,
                                                             data=change))
        typer.echo(f"endpoint {updated.id} " + ("enabled" if enabled else f"disabled: {updated.disabled_reason}"))

    @app.command("integration-disable")
    def integration_disable(
        endpoint: Annotated[int, typer.Argument(help="The endpoint's id")],
        reason: Annotated[str | None, typer.Option(help="Why (shown in the listing)")] = None,
    ) -> None:
        """Stop sending to an endpoint; its deliveries wait until it is enabled again."""
        _switch(endpoint, False, reason)

    @app.command("integration-enable")
    def integration_enable(endpoint: Annotated[int, typer.Argument(help="The endpoint's id")]) -> None:
        """Send to an endpoint again (clears the reason it was disabled)."""
        _switch(endpoint, True, None)

    @app.command("deliveries")
    def deliveries(
        endpoint: Annotated[int | None, typer.Option(help="Only this endpoint's")] = None,
        status: Annotated[DeliveryStatus | None, typer.Option(case_sensitive=False, help="pending, delivered "
                                                                                         "or dead")] = None,
        event_type: Annotated[EventType | None, typer.Option("--event", help="Only this event type")] = None,
        since: Annotated[str | None, typer.Option(help="Events that occurred since: ISO 8601 with offset, or "
                                                       "a time ago (30m, 6h, 7d)")] = None,
        limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    ) -> None:
        """List deliveries, newest first."""
        from dialer.outbox import service

        async def work(session: AsyncSession, now: dt.datetime) -> list[str]:
            start = parse_instant(since, option="--since", now=now) if since else None
            rows = await service.list_deliveries(session, actor=None, endpoint_id=endpoint, status=status,
                                                 event_type=event_type, since=start, limit=limit)
            return [_delivery_line(d, e) for d, e in rows]

        for line in run(work) or ["no deliveries"]:
            typer.echo(line)

    @app.command("replay")
    def replay(
        delivery: Annotated[int | None, typer.Option(help="Send this delivery again")] = None,
        endpoint: Annotated[int | None, typer.Option(help="The endpoint whose deliveries to send again "
                                                          "(with --dead, or --from and --to)")] = None,
        dead: Annotated[bool, typer.Option("--dead", help="Every dead delivery of --endpoint")] = False,
        start: Annotated[str | None, typer.Option("--from", help="Every event of --endpoint that occurred from "
                                                                 "this instant (ISO 8601 with offset, or 7d)")] = None,
        end: Annotated[str | None, typer.Option("--to", help="… until this one (excluded)")] = None,
    ) -> None:
        """Send deliveries again now, each with a fresh retry budget (earlier attempts stay listed):
        one (--delivery ID), every dead one of an endpoint (--endpoint ID --dead), or every event of
        a time range to an endpoint (--endpoint ID --from T --to T; missing deliveries are made)."""
        from dialer.outbox import service

        ranged = start is not None or end is not None
        ways = [delivery is not None and endpoint is None and not dead and not ranged,
                endpoint is not None and delivery is None and dead and not ranged,
                endpoint is not None and delivery is None and not dead and start is not None and end is not None]
        if sum(ways) != 1:
            from dialer.cli import _fail

            raise _fail(InvalidInput("replay: say one of --delivery ID, --endpoint ID --dead, "
                                     "--endpoint ID --from T --to T", field="replay"))

        async def work(session: AsyncSession, now: dt.datetime) -> service.Replayed:
            if delivery is not None:
                return await service.replay_delivery(session, actor=None, now=now, delivery_id=delivery)
            assert endpoint is not None
            since = parse_instant(start, option="--from", now=now) if start else None
            until = parse_instant(end, option="--to", now=now) if end else None
            return await service.replay_endpoint(session, actor=None, now=now, endpoint_id=endpoint, dead=dead,
                                                 since=since, until=until)

        done = run(work)
        typer.echo(f"replayed {done.replayed} deliveries ({done.created} made for events the endpoint had none "
                   f"of; {done.in_flight} left alone, a request for them is out now)")


def _delivery_line(delivery: Delivery, event: WebhookEvent) -> str:
    last = delivery.last_error or (f"HTTP {delivery.last_status_code}" if delivery.last_status_code else "")
    return (f"{delivery.id}  endpoint {delivery.endpoint_id}  {delivery.status.value}  attempts {delivery.attempts}  "
            f"{event.type}  {event.event_id}  {event.occurred_at.isoformat()}" + (f"  last: {last}" if last else ""))
