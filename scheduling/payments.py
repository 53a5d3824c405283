"""Payment imports (file or API): record payments, match them to promises, settle those promises.

All or nothing: every row is checked first (the account is this client's case, the promise is
that case's, the reference is new or an exact repeat, the time is not in the future); one bad
row rejects the import with a bounded report, as the case import's: every error counted per kind
(column), the first ``errors_per_kind`` of each listed. A row whose reference was already imported
with the same account, amount and time is skipped (``duplicates``), so a bank may re-send a file.

A payment without a ``promise_id`` goes to the case's open promise (pending or broken) that it
can still keep: the earliest not yet covered whose due date it was made by, else the oldest
one not yet covered; a payment with no open promise is recorded against the case alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.service import record
from dialer.cases.models import Case, Party, PartyRole
from dialer.clients.models import Client
from dialer.compliance.localtime import local_instant
from dialer.imports.models import ImportBatch, ImportKind
from dialer.imports.report import ErrorLog, RowError, reject_if_any
from dialer.kit.errors import NotFound
from dialer.notes.models import Payment, PromiseStatus, PromiseToPay
from scheduling import repository
from scheduling.payment_rows import PaymentRow, parse_payment_file
from scheduling.promises import settle_promises

T = TypeVar("T", str, int)
_CHUNK = 5000  # values per IN (...) look-up: a file may hold 100,000 rows, the drivers take ~32,000 parameters


@dataclass(frozen=True, slots=True)
class PaymentImportResult:
    batch_id: int
    rows: int
    created: dict[str, int]  # payments, duplicates, matched_to_promise
    promises: dict[str, int]  # kept, broken, reopened


async def import_payment_file(
    session: AsyncSession, *, client_id: int, filename: str, content: bytes, actor: Any | None, now: dt.datetime,
    encoding: str | None = None,
) -> PaymentImportResult:
    """Import a payment file (format: :mod:`scheduling.payment_rows`) for one client; ``encoding`` is
    the CSV's when it is neither UTF-8 nor GB18030 (``big5``, ``shift_jis``...)."""
    client, policies = await _client(session, client_id)
    tz = policies[client_id].zone_of(None)
    parsed = await asyncio.to_thread(partial(parse_payment_file, filename, content, tz, encoding=encoding))
    return await import_payments(
        session, client_id=client.id, rows=parsed.rows, filename=filename, content=content, actor=actor, now=now,
        errors=parsed.error_log(),
    )


async def import_payments(
    session: AsyncSession, *, client_id: int, rows: Sequence[PaymentRow], filename: str, content: bytes,
    actor: Any | None, now: dt.datetime, errors: ErrorLog | None = None,
) -> PaymentImportResult:
    """Check, record and match ``rows``, then settle every promise they touch. Only flushes.
    ``errors``: what reading the file found (its rows in ``rows`` are the valid ones); the
    database's findings are added to it and any error rejects the import."""
    _, policies = await _client(session, client_id)
    problems = errors if errors is not None else ErrorLog()
    header, read_failed = problems.header, problems.bad_rows  # the file's own; no row below is among them
    failed: set[int] = set()
    cases = await _cases(session, client_id, {r.account_ref for r in rows})
    existing = await _existing(session, client_id, {r.reference for r in rows})
    seen: dict[str, int] = {}
    fresh: list[PaymentRow] = []
    for row in rows:
        found = _check(row, cases, existing, seen, now)
        if found:
            problems += found
            failed.add(row.line)
        seen.setdefault(row.reference, row.line)
        if row.reference not in existing:
            fresh.append(row)
    promises = await _open_promises(session, [cases[r.account_ref] for r in fresh if r.account_ref in cases], policies)
    for row in fresh:
        if row.promise_id is not None and row.account_ref in cases:
            owner = promises.get(row.promise_id)
            if owner is None or owner[0].case_id != cases[row.account_ref]:
                reason = f"no open promise {row.promise_id} on account {row.account_ref!r}"
                problems.append(RowError(row.line, "promise_id", reason))
                failed.add(row.line)
    reject_if_any(problems, filename, noun="payment row", bad_rows=read_failed + len(failed), header=header)

    batch = ImportBatch(
        client_id=client_id, kind=ImportKind.PAYMENTS, filename=filename[:255],
        sha256=hashlib.sha256(content).hexdigest(), row_count=len(rows), created_by_id=getattr(actor, "user_id", None),
        created_at=now,
    )
    session.add(batch)
    await session.flush()
    covered = {pid: p.paid_amount for pid, (p, _) in promises.items()}
    by_case: dict[int, list[tuple[PromiseToPay, dt.datetime]]] = defaultdict(list)
    for promise, deadline in sorted(promises.values(), key=lambda item: (item[0].due_date, item[0].id)):
        by_case[promise.case_id].append((promise, deadline))
    added: list[Payment] = []
    for row in sorted(fresh, key=lambda r: (r.paid_at, r.line)):
        case_id = cases[row.account_ref]
        promise_id = row.promise_id or _match(by_case[case_id], covered, row.paid_at)
        if promise_id is not None:
            covered[promise_id] = covered.get(promise_id, Decimal("0")) + row.amount
        added.append(Payment(
            client_id=client_id, case_id=case_id, promise_id=promise_id, amount=row.amount, paid_at=row.paid_at,
            reference=row.reference, import_batch_id=batch.id, created_at=now,
        ))
    session.add_all(added)
    await session.flush()
    touched = sorted({p.promise_id for p in added if p.promise_id is not None})
    settled = await settle_promises(session, promise_ids=touched, now=now, policies=policies)
    created = {
        "payments": len(added), "duplicates": len(rows) - len(added),
        "matched_to_promise": sum(1 for p in added if p.promise_id is not None),
    }
    outcome = {"kept": settled.kept, "broken": settled.broken, "reopened": settled.reopened}
    await record(
        session, action="import.payments", actor=actor, entity="import_batch", entity_id=batch.id,
        rows=len(rows), filename=batch.filename, sha256=batch.sha256, created=created, promises=outcome,
    )
    await session.flush()
    return PaymentImportResult(batch.id, len(rows), created, outcome)


def _check(
    row: PaymentRow, cases: dict[str, int], existing: dict[str, tuple[str, Decimal, dt.datetime]],
    seen: dict[str, int], now: dt.datetime,
) -> list[RowError]:
    found: list[RowError] = []
    if row.account_ref not in cases:
        found.append(RowError(row.line, "account_ref", f"no case with account_ref {row.account_ref!r} for this client"))
    if row.reference in seen:
        reason = f"reference {row.reference!r} is also on line {seen[row.reference]}"
        found.append(RowError(row.line, "reference", reason))
    before = existing.get(row.reference)
    if before is not None and before != (row.account_ref, row.amount, row.paid_at):
        reason = f"reference {row.reference!r} was already imported for a different payment"
        found.append(RowError(row.line, "reference", reason))
    if row.paid_at > now:
        found.append(RowError(row.line, "paid_at", f"paid_at {row.paid_at.isoformat()} is in the future"))
    return found


def _match(
    candidates: list[tuple[PromiseToPay, dt.datetime]], covered: dict[int, Decimal], paid_at: dt.datetime,
) -> int | None:
    open_ = [p for p, deadline in candidates if p.created_at <= paid_at and covered[p.id] < p.amount]
    in_time = [p for p, deadline in candidates if p in open_ and paid_at < deadline]
    chosen = in_time or open_
    return chosen[0].id if chosen else None


async def _client(session: AsyncSession, client_id: int) -> tuple[Client, dict[int, repository.ClientPolicy]]:
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id} does not exist")
    return client, await repository.client_policies(session)


def _chunks(values: Iterable[T]) -> list[list[T]]:
    """``values`` sorted, in lists of at most ``_CHUNK`` (one ``IN (...)`` each)."""
    ordered = sorted(set(values))
    return [ordered[start:start + _CHUNK] for start in range(0, len(ordered), _CHUNK)]


async def _cases(session: AsyncSession, client_id: int, refs: set[str]) -> dict[str, int]:
    """account_ref → case id."""
    found: dict[str, int] = {}
    for chunk in _chunks(refs):
        rows = await session.execute(
            select(Case.account_ref, Case.id).where(Case.client_id == client_id, Case.account_ref.in_(chunk))
        )
        found.update({ref: case_id for ref, case_id in rows})
    return found


async def _existing(
    session: AsyncSession, client_id: int, refs: set[str],
) -> dict[str, tuple[str, Decimal, dt.datetime]]:
    """reference → (account, amount, paid at) of payments already imported."""
    found: dict[str, tuple[str, Decimal, dt.datetime]] = {}
    for chunk in _chunks(refs):
        rows = await session.execute(
            select(Payment.reference, Case.account_ref, Payment.amount, Payment.paid_at)
            .join(Case, Case.id == Payment.case_id)
            .where(Payment.client_id == client_id, Payment.reference.in_(chunk))
        )
        found.update({ref: (account, amount, at) for ref, account, amount, at in rows})
    return found


async def _open_promises(
    session: AsyncSession, case_ids: list[int], policies: dict[int, repository.ClientPolicy],
) -> dict[int, tuple[PromiseToPay, dt.datetime]]:
    """Pending or broken promises of the cases, each with the instant its due date ends."""
    found: dict[int, tuple[PromiseToPay, dt.datetime]] = {}
    for chunk in _chunks(case_ids):
        rows = await session.execute(
            select(PromiseToPay, Case.client_id, Party.time_zone)
            .join(Case, Case.id == PromiseToPay.case_id)
            .outerjoin(Party, and_(Party.case_id == Case.id, Party.role == PartyRole.DEBTOR))
            .where(PromiseToPay.case_id.in_(chunk),
                   PromiseToPay.status.in_((PromiseStatus.PENDING, PromiseStatus.BROKEN)))
        )
        found.update({
            promise.id: (promise, local_instant(promise.due_date, None, policies[client_id].zone_of(tz)))
            for promise, client_id, tz in rows
        })
    return found
