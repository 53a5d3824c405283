"""Verification: recompute every sealed row's content hash and every link of a chain, and report the
first break, the rows left unsealed, and the rows that appeared late.

What each finding means (``kind``, stable ids a program can act on):

* ``chain_entry_missing`` — a ``seq`` is absent: a chain entry was removed;
* ``chain_link_broken`` — an entry's ``prev_hash`` is not its predecessor's ``chain_hash``: an entry
  was edited and its hash recomputed, or replaced;
* ``chain_entry_edited`` — an entry's ``chain_hash`` is not the hash of its own fields;
* ``row_deleted`` — an entry's row is gone;
* ``row_edited`` — a row's content no longer hashes to what was sealed;
* ``anchor_mismatch`` / ``anchor_missing`` — an anchor noted earlier (a ``seq`` and its chain hash,
  kept outside the database) differs, or its entry is gone: the chain was rewritten or cut short.
  Only an anchor catches a chain recomputed from the first edited row to the head by someone with
  write access to the database: note the head (:attr:`Report.head`) where the database cannot reach.

Besides the first break (the walk stops there: what follows may be its consequence), two warnings of
rows the chain cannot vouch for: rows ``unsealed`` for longer than a threshold (no sealer ran, or a
transaction stayed open for hours), and rows sealed ``late`` — long after their own write time, or
below the id of a row sealed long before: inserted after the fact (or written while no sealer ran).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import String, exists, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.chain.canonical import GENESIS, chain_hash, parse_timestamp
from dialer.audit.chain.tables import CHAINS, Chained
from dialer.audit.chain_models import ChainOrigin

UNSEALED_AFTER = dt.timedelta(minutes=15)
LATE_AFTER = dt.timedelta(hours=2)
LISTED = 20
"""How many unsealed or late rows a report names (it counts them all)."""


@dataclass(frozen=True, slots=True)
class Break:
    kind: str
    seq: int
    row_id: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Head:
    """The last entry verified: note ``anchor`` somewhere the database cannot reach, and a later
    verification with it proves nothing up to here changed."""

    seq: int
    chain_hash: str
    sealed_at: dt.datetime
    anchor: str


@dataclass(frozen=True, slots=True)
class Late:
    seq: int
    row_id: int
    reason: str


@dataclass(slots=True)
class Report:
    table: str
    checked: int = 0
    first_seq: int | None = None
    head: Head | None = None
    first_break: Break | None = None
    unsealed: int = 0
    unsealed_ids: list[int] = field(default_factory=list)
    oldest_unsealed_at: dt.datetime | None = None
    late: int = 0
    late_rows: list[Late] = field(default_factory=list)
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.first_break is None and self.unsealed == 0 and self.late == 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return _jsonable(out)


def parse_anchor(text: str) -> tuple[str, int, str]:
    """``audit:1234:9f86d0…`` → (table, seq, chain hash); ValueError when it is not one."""
    table, seq, digest = text.split(":")
    if table not in CHAINS or not seq.isdigit() or len(digest) != 64:
        raise ValueError(f"not an anchor: {text!r} (expected TABLE:SEQ:HASH, TABLE one of {', '.join(CHAINS)})")
    return table, int(seq), digest.lower()


async def first_seq_since(session: AsyncSession, *, table: str, at: dt.datetime) -> int | None:
    """The first entry sealed at or after ``at`` (where a ``--from`` walk starts)."""
    chain = CHAINS[table].chain
    found = (await session.execute(select(func.min(chain.c.seq)).where(chain.c.sealed_at >= at))).scalar()
    return None if found is None else int(found)


async def verify(
    session: AsyncSession, *, table: str, now: dt.datetime, since_seq: int | None = None,
    until: dt.datetime | None = None, anchors: Mapping[int, str] | None = None,
    unsealed_after: dt.timedelta = UNSEALED_AFTER, late_after: dt.timedelta = LATE_AFTER,
    late_since: dt.datetime | None = None, batch: int = 2000,
) -> Report:
    """Walk ``table``'s chain from ``since_seq`` (default: its first entry, whose ``prev_hash`` must be
    the genesis; a later start takes its ``prev_hash`` as given) to its head, or to the last entry
    sealed by ``until``. ``anchors`` (seq → chain hash) must match. Rows written by ``until`` (or
    ``now - unsealed_after``) and not sealed are counted; ``late`` rows only among entries sealed at
    or after ``late_since`` (a daily job reports each once)."""
    chained = CHAINS[table]
    report = Report(table=table)
    anchors = dict(anchors or {})
    start = since_seq or 1
    if any(seq < start for seq in anchors):
        raise ValueError(f"an anchor before seq {start} cannot be checked from there")
    walk = _Walk(chained, report, anchors=anchors, late_after=late_after, late_since=late_since,
                 origin=await _origin(session, chained))
    chain, rows = chained.chain, chained.rows
    end = (await session.execute(select(func.max(chain.c.seq)))).scalar() or 0
    entry_columns = [column for column in chain.c if column.name != "sealed_at"]
    query = (select(*entry_columns, type_coerce(chain.c.sealed_at, String()).label("sealed_raw"),
                    rows.c.id.label("r_present"), *_every_format(chained))
             .outerjoin(rows, rows.c.id == chain.c.row_id).order_by(chain.c.seq).limit(batch))
    expected, prev, walking = start, None if start > 1 else GENESIS, True
    while walking and expected <= end:
        page = (await session.execute(query.where(chain.c.seq >= expected, chain.c.seq <= end))).all()
        for entry in page:
            sealed_at = parse_timestamp(entry.sealed_raw)
            if until is not None and sealed_at is not None and sealed_at > until:
                walking = False  # the range ends here
                break
            if not walk.check(entry, sealed_at, expected=expected, prev=prev):
                walking = False
                break
            expected, prev = entry.seq + 1, entry.chain_hash
        walking = walking and bool(page)
    if report.first_break is None and until is None:
        walk.anchors_beyond(end)
    await _unsealed(session, chained, report, before=min(until or now, now - unsealed_after))
    return report


class _Walk:
    """The checks of one entry, in order; the first failing one is the report's break."""

    def __init__(self, chained: Chained, report: Report, *, anchors: dict[int, str], late_after: dt.timedelta,
                 late_since: dt.datetime | None, origin: int) -> None:
        self.chained, self.report, self.anchors = chained, report, anchors
        self.late_after, self.late_since, self.origin = late_after, late_since, origin
        self.recent: deque[tuple[dt.datetime, int]] = deque()
        self.settled_max = 0  # the highest row id among entries sealed more than late_after ago

    def check(self, entry: Any, sealed_at: dt.datetime | None, *, expected: int, prev: str | None) -> bool:
        seq, row_id, rows = entry.seq, entry.row_id, self.chained.rows.name
        found = self._chain_problem(entry, sealed_at, expected=expected, prev=prev)
        if found is None and entry.r_present is None:
            found = Break("row_deleted", seq, row_id, f"{rows} row {row_id} (sealed as entry {seq}) was deleted")
        if found is None and self.chained.content_hash(entry.format, entry) != entry.content_hash:
            found = Break("row_edited", seq, row_id, f"{rows} row {row_id} differs from what entry {seq} sealed")
        if found is None and seq in self.anchors and self.anchors[seq] != entry.chain_hash:
            found = Break("anchor_mismatch", seq, row_id, f"entry {seq} hashes to {entry.chain_hash}, the anchor "
                                                          f"noted {self.anchors[seq]}: the chain was rewritten")
        if found is not None:
            self.report.first_break = found
            return False
        self.report.anchors_checked += seq in self.anchors
        assert sealed_at is not None  # else a break above
        self._late(entry, sealed_at)
        self.report.checked += 1
        self.report.first_seq = self.report.first_seq or seq
        self.report.head = Head(seq, entry.chain_hash, sealed_at, f"{self.chained.name}:{seq}:{entry.chain_hash}")
        return True

    def _chain_problem(self, entry: Any, sealed_at: dt.datetime | None, *, expected: int,
                       prev: str | None) -> Break | None:
        seq, row_id = entry.seq, entry.row_id
        if seq != expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected}…{seq - 1}"
            return Break("chain_entry_missing", expected, None, f"chain entry {missing} is missing: removed")
        if prev is not None and entry.prev_hash != prev:
            return Break("chain_link_broken", seq, row_id, (
                f"entry {seq} does not follow entry {seq - 1} (its prev_hash is {entry.prev_hash}, entry {seq - 1} "
                f"hashes to {prev}): an entry was edited or replaced"))
        if entry.format not in self.chained.formats:
            return Break("chain_entry_edited", seq, row_id, f"entry {seq} names format {entry.format}, which does "
                                                            f"not exist: the entry was edited")
        if sealed_at is None:
            return Break("chain_entry_edited", seq, row_id, f"entry {seq}'s sealed_at {entry.sealed_raw!r} is not a "
                                                            f"timestamp: the entry was edited")
        if chain_hash(entry.prev_hash, entry.content_hash, seq, sealed_at) != entry.chain_hash:
            return Break("chain_entry_edited", seq, row_id,
                         f"entry {seq}'s chain_hash is not the hash of its fields: the entry was edited")
        return None

    def _late(self, entry: Any, sealed_at: dt.datetime) -> None:
        while self.recent and self.recent[0][0] <= sealed_at - self.late_after:
            self.settled_max = max(self.settled_max, self.recent.popleft()[1])
        self.recent.append((sealed_at, entry.row_id))
        if self.late_since is not None and sealed_at < self.late_since:
            return
        written = parse_timestamp(entry._mapping[f"r_{self.chained.written_at}"])
        reason = None
        if entry.row_id < self.settled_max:
            reason = (f"sealed below row {self.settled_max}, which was sealed over {self.late_after} earlier: "
                      f"inserted after the fact, or held in a transaction that long")
        elif entry.row_id > self.origin and written is not None and sealed_at - written > self.late_after:
            reason = (f"sealed {sealed_at - written} after its own time {written.isoformat()}: inserted after the "
                      f"fact, or written while no sealer ran")
        if reason is not None:
            self.report.late += 1
            if len(self.report.late_rows) < LISTED:
                self.report.late_rows.append(Late(entry.seq, entry.row_id, reason))

    def anchors_beyond(self, end: int) -> None:
        beyond = sorted(seq for seq in self.anchors if seq > end)
        if beyond:
            self.report.first_break = Break("anchor_missing", beyond[0], None,
                                            f"the anchor at entry {beyond[0]} is beyond the chain's head {end}: "
                                            f"entries were removed from its end")


def _every_format(chained: Chained) -> list[Any]:
    """The row's columns of every format, each once (an entry is re-hashed with its own)."""
    seen: dict[str, Any] = {}
    for version in chained.formats:
        for column in chained.columns(version):
            seen.setdefault(column.name, column)
    return list(seen.values())


async def _origin(session: AsyncSession, chained: Chained) -> int:
    found = (await session.execute(
        select(ChainOrigin.row_id_through).where(ChainOrigin.table_name == chained.rows.name))).scalar()
    return int(found or 0)


async def _unsealed(session: AsyncSession, chained: Chained, report: Report, *, before: dt.datetime) -> None:
    rows, chain = chained.rows, chained.chain
    written = rows.c[chained.written_at]
    where = (written <= before, ~exists().where(chain.c.row_id == rows.c.id))
    count, oldest = (await session.execute(select(func.count(), func.min(written)).where(*where))).one()
    report.unsealed, report.oldest_unsealed_at = int(count), oldest
    if count:
        ids = await session.execute(select(rows.c.id).where(*where).order_by(rows.c.id).limit(LISTED))
        report.unsealed_ids = list(ids.scalars())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
