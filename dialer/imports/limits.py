"""How big and how odd an import file may be, and the errors that stop reading it.

An import file is untrusted: before it is read, and while it is read, every limit below is
checked, and reading stops at the first one crossed — before the file can take the memory or
the time of the service. A file too *big* is refused with 413 (:class:`ImportTooLarge`), a file
of the wrong *shape* with 422 (:class:`ImportMalformed`); each names the limit it crossed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.kit.errors import DialerError, ImportRejected

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportLimits:
    upload_bytes: int = 20 * MB
    """The request body of an upload (checked by the endpoint, before the body is read)."""
    unpacked_bytes: int = 100 * MB
    """An XLSX archive: the sum of its members' declared uncompressed sizes."""
    ratio: int = 100
    """An XLSX member: uncompressed size / compressed size (members under ``ratio_floor`` bytes aside)."""
    ratio_floor: int = 1 * MB
    members: int = 500
    """An XLSX archive: how many files it may hold."""
    rows: int = 100_000
    """Data rows (lines after the header, blank ones included)."""
    columns: int = 256
    """Cells in one row (header included); for XLSX, also the highest column a cell may sit in."""
    cell_chars: int = 4_000
    """Characters in one cell (any column is far narrower; this only stops a runaway cell)."""
    errors_per_kind: int = 50
    """A rejection report keeps the first errors of each kind (column), and counts them all."""


LIMITS = ImportLimits()


class ImportTooLarge(DialerError):
    """The file, or what it unpacks to, is over a size limit; ``limit`` names it."""

    code = "import_too_large"
    status = 413

    def __init__(self, detail: str, *, limit: str, maximum: int) -> None:
        super().__init__(detail, limit=limit, maximum=maximum)


class ImportMalformed(ImportRejected):
    """The file's shape breaks a limit (too many columns, an endless cell, a DTD...)."""

    def __init__(self, detail: str, *, limit: str, line: int | None = None, column: str | None = None) -> None:
        errors = [{"line": line, "column": column, "reason": detail}]
        super().__init__(f"{detail}; nothing was imported", errors=errors, limit=limit)
