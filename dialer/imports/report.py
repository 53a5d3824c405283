"""The errors of a rejected import, bounded: every error counted, the first few of each kind kept.

A file of a million bad rows must not become a million-entry report (a 125 MB answer held in
memory and then in JSON). :class:`ErrorLog` keeps the first ``per_kind`` errors of each kind —
the kind is the column, or ``"file"`` for an error of the whole file — and counts every error
per kind, so the report says "debtor_numbers: 1,000,000" and shows fifty examples of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dialer.imports.limits import LIMITS
from dialer.kit.errors import ImportRejected

HEADER_LINE = 1


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


class ErrorLog:
    """A list-like sink for :class:`RowError` (``append``, ``+=``, ``len``, iteration) that
    keeps a bounded sample. ``len`` is the number of errors *appended*, kept or not, so a row
    reader that compares lengths still knows whether its row failed."""

    def __init__(self, errors: Iterable[RowError] = (), *, per_kind: int = LIMITS.errors_per_kind) -> None:
        self.per_kind = per_kind
        self.counts: Counter[str] = Counter()
        self._kept: list[RowError] = []
        self._bad_lines: set[int] = set()
        self.extend(errors)

    @staticmethod
    def kind(error: RowError) -> str:
        return error.column or "file"

    def append(self, error: RowError) -> None:
        kind = self.kind(error)
        self.counts[kind] += 1
        if error.line > HEADER_LINE:
            self._bad_lines.add(error.line)
        if self.counts[kind] <= self.per_kind:
            self._kept.append(error)

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)

    def __iadd__(self, errors: Iterable[RowError]) -> ErrorLog:
        self.extend(errors)
        return self

    def __len__(self) -> int:
        return self.counts.total()

    def __iter__(self) -> Iterator[RowError]:
        return iter(self.kept)

    @property
    def kept(self) -> tuple[RowError, ...]:
        return tuple(sorted(self._kept, key=lambda e: e.line))

    @property
    def bad_rows(self) -> int:
        return len(self._bad_lines)

    @property
    def header(self) -> list[RowError]:
        return [e for e in self.kept if e.line <= HEADER_LINE]

    @property
    def truncated(self) -> bool:
        return len(self._kept) < len(self)

    def body(self) -> dict[str, Any]:
        """What the rejection carries besides its detail: the sample, the counts per kind."""
        return {
            "errors": [e.as_dict() for e in self.kept],
            "error_counts": dict(sorted(self.counts.items())),
            "errors_total": len(self),
        }


def reject_if_any(errors: ErrorLog, filename: str, *, noun: str = "row", bad_rows: int | None = None,
                  header: Sequence[RowError] | None = None) -> None:
    """Refuse the file with a bounded report: the first errors of each kind and every count.
    ``bad_rows`` and ``header`` default to what ``errors`` holds; a caller whose rows may start at
    line 1 (payments sent by API have no header) passes its own."""
    if not errors:
        return
    bad_rows = errors.bad_rows if bad_rows is None else bad_rows
    header = errors.header if header is None else header
    if bad_rows:
        rows = f"{bad_rows} {noun}{'' if bad_rows == 1 else 's'} rejected"
        detail = f"{rows} in {filename}" + (" and its header is wrong" if header else "")
    else:
        more = f" (and {len(header) - 1} more)" if len(header) > 1 else ""
        detail = f"{filename} rejected: {header[0].reason}{more}"
    shown = "" if not errors.truncated else f" (the first {errors.per_kind} errors of each kind are listed)"
    raise ImportRejected(f"{detail}; nothing was imported{shown}", **errors.body())
