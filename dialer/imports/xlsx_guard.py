"""Checks an XLSX archive before openpyxl opens it: no zip bomb, no endless sheet. Pure.

openpyxl reads a sheet row by row, but builds each row whole and loads every shared string, so
a small file whose sheet XML is one row of millions of cells (2.7 MB that inflates to 630 MB)
takes gigabytes before the first row comes back. Hence, in this order, each step stopping at
its limit (:mod:`dialer.imports.limits`):

1. the zip's directory: how many members, the sum of their *declared* uncompressed sizes, each
   member's compression ratio. ``zipfile`` never yields more than a member's declared size (a
   member that inflates further fails its CRC), so the declared sizes bound what is read;
2. the first sheet and the shared strings, streamed through expat a chunk at a time with a
   handler that counts: rows, cells per row, the highest column, characters per cell. Nothing
   is kept but counters, so memory stays flat whatever the XML holds. A DTD (entity bombs) is
   refused outright: an XLSX part never has one.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.parsers import expat

from dialer.imports.limits import LIMITS, ImportLimits, ImportMalformed, ImportTooLarge

_CHUNK = 64 * 1024
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d*)")


def check_xlsx(content: bytes, limits: ImportLimits = LIMITS) -> None:
    """Raise :class:`ImportTooLarge` / :class:`ImportMalformed` at the first limit crossed.
    A file that is not a zip at all is left to openpyxl to refuse in its own words."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        return
    with archive:
        _check_directory(archive, limits)
        names = set(archive.namelist())
        if "xl/sharedStrings.xml" in names:
            _scan(archive, "xl/sharedStrings.xml", _SharedStrings(limits))
        for sheet in _first_sheet(archive, names):
            _scan(archive, sheet, _Sheet(limits))


def _check_directory(archive: zipfile.ZipFile, limits: ImportLimits) -> None:
    members = archive.infolist()
    if len(members) > limits.members:
        raise ImportMalformed(f"the XLSX archive holds {len(members)} files, more than {limits.members}",
                              limit="members")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.unpacked_bytes:
        raise ImportTooLarge(
            f"the XLSX file unpacks to {unpacked // (1024 * 1024)} MiB, more than "
            f"{limits.unpacked_bytes // (1024 * 1024)} MiB", limit="unpacked_bytes", maximum=limits.unpacked_bytes,
        )
    for member in members:
        if member.file_size > limits.ratio_floor and member.file_size > limits.ratio * member.compress_size:
            ratio = member.file_size // max(member.compress_size, 1)
            raise ImportTooLarge(
                f"the XLSX member {member.filename!r} inflates {ratio}:1, more than {limits.ratio}:1 "
                "(a zip bomb?)", limit="ratio", maximum=limits.ratio,
            )


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> list[str]:
    """The first sheet's part, as openpyxl picks it; every sheet if the workbook will not say."""
    try:
        first_id = _first_match(archive, "xl/workbook.xml", "sheet", f"{_REL_NS} id")
        rels = "xl/_rels/workbook.xml.rels"
        target = _first_match(archive, rels, "Relationship", "Target", where=("Id", first_id)) if first_id else None
    except KeyError:
        target = None
    if target:
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        if path in names:
            return [path]
    return sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))


class _Handler:
    """Callbacks for expat; subclasses count what they need and raise at a limit."""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        pass

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


class _FirstMatch(_Handler):
    def __init__(self, tag: str, attribute: str, where: tuple[str, str] | None) -> None:
        self.tag, self.attribute, self.where = tag, attribute, where
        self.found: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.found is None and _local(name) == self.tag and (
            self.where is None or attrs.get(self.where[0]) == self.where[1]
        ):
            self.found = attrs.get(self.attribute, "")


def _first_match(
    archive: zipfile.ZipFile, part: str, tag: str, attribute: str, *, where: tuple[str, str] | None = None,
) -> str | None:
    handler = _FirstMatch(tag, attribute, where)
    _scan(archive, part, handler)
    return handler.found


def _scan(archive: zipfile.ZipFile, part: str, handler: _Handler) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.text
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ImportMalformed(f"not a readable XLSX workbook: {part}: {exc}", limit="format") from None


def _refuse_dtd(*_: object) -> None:
    raise ImportMalformed("the XLSX file declares a DTD, which a workbook never has", limit="dtd")


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


class _Sheet(_Handler):
    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.row = 0  # spreadsheet row number
        self.cells = 0  # cells seen in the current row
        self.column = 0  # column of the current cell
        self.chars: int | None = None  # characters of the current value, while inside one

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "row":
            reference = attrs.get("r", "")
            self.row = int(reference) if reference.isdigit() else self.row + 1
            self.cells = self.column = 0
            if self.row - 1 > self.limits.rows:
                raise ImportTooLarge(f"the sheet has more than {self.limits.rows} data rows",
                                     limit="rows", maximum=self.limits.rows)
        elif tag == "c":
            self.cells += 1
            match = _CELL_REF.fullmatch(attrs.get("r", ""))
            self.column = _column_number(match.group(1)) if match else self.column + 1
            if max(self.cells, self.column) > self.limits.columns:
                raise ImportMalformed(f"row {self.row} has cells beyond column {self.limits.columns}",
                                      limit="columns", line=self.row)
        elif tag in ("v", "t"):
            self.chars = 0

    def end(self, name: str) -> None:
        if _local(name) in ("v", "t"):
            self.chars = None

    def text(self, data: str) -> None:
        if self.chars is None:
            return
        self.chars += len(data)
        if self.chars > self.limits.cell_chars:
            raise ImportMalformed(
                f"row {self.row}, column {self.column}: a cell longer than {self.limits.cell_chars} characters",
                limit="cell_chars", line=self.row,
            )


class _SharedStrings(_Handler):
    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.count = 0
        self.chars = 0
        self.inside = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "si":
            self.count += 1
            self.chars = 0
        elif tag == "t":
            self.inside = True

    def end(self, name: str) -> None:
        if _local(name) == "t":
            self.inside = False

    def text(self, data: str) -> None:
        if not self.inside:
            return
        self.chars += len(data)
        if self.chars > self.limits.cell_chars:
            raise ImportMalformed(
                f"shared string {self.count} is longer than {self.limits.cell_chars} characters",
                limit="cell_chars",
            )


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
