"""The canonical form of a chained row and the two hashes of a chain. Pure: no database, no clock.

**content_hash** = SHA-256 (lowercase hex) of the canonical bytes of a row: the JSON text of
``{"row": {column: value, …}, "table": <table name>, "v": <format>}`` where

* every object's keys are sorted (code-point order) and there is no whitespace (separators ``,`` ``:``);
* every non-ASCII character is escaped as ``\\uXXXX`` (so the text is ASCII: any byte-exact tool agrees);
* ``None`` is ``null``; a boolean ``true``/``false``; an integer its decimal digits;
* a float with an integral value is written as that integer (``1.0`` → ``1``, ``1e+20`` →
  ``100000000000000000000``), any other float as Python's shortest repr (``0.1``, ``1.5e-10``):
  PostgreSQL's ``jsonb`` keeps numbers as ``numeric`` and prints ``1e+20`` as an integer, which reads
  back as one, while SQLite keeps the text ``1e+20`` (a float) — both must hash alike;
* a timestamp is UTC ISO 8601 with microseconds and ``Z`` (``2026-12-01T09:30:00.000000Z``): both
  databases store microseconds; a naive value (SQLite's stored text) is UTC;
* an enum is its value; a JSON document follows the same rules, recursively.

``v`` names the list of columns hashed (:mod:`dialer.audit.chain.tables`), so a column added later
does not change the hash of a row sealed before it, and the table's name is part of the content.

**chain_hash** = SHA-256 (lowercase hex) of the ASCII text
``prev_hash + "\\n" + content_hash + "\\n" + str(seq) + "\\n" + sealed_at`` (``sealed_at`` in the
timestamp form above); the first entry's ``prev_hash`` is :data:`GENESIS` (64 zeros). An auditor can
recompute either with any SHA-256 tool, e.g. ``printf '%s\\n%s\\n%s\\n%s' … | sha256sum``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

GENESIS = "0" * 64

Kind = Literal["value", "bool", "timestamp", "json"]
"""How a column's stored value is read: as it is, as a boolean, a timestamp (a ``datetime`` or
SQLite's text), or a JSON document (its text, parsed here)."""


def timestamp(value: dt.datetime) -> str:
    """``2026-12-01T09:30:00.000000Z``: UTC, microseconds, a ``Z`` (a naive value is taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def parse_timestamp(raw: Any) -> dt.datetime | None:
    """A stored timestamp (a ``datetime``, or SQLite's text) as an aware UTC datetime; None when it
    is not one (text someone wrote by hand)."""
    if isinstance(raw, dt.datetime):
        stamp = raw
    elif isinstance(raw, str):
        try:
            stamp = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
    else:
        return None
    return stamp.replace(tzinfo=dt.timezone.utc) if stamp.tzinfo is None else stamp.astimezone(dt.timezone.utc)


def normal(value: Any) -> Any:
    """A JSON-able value in its canonical shape (numbers as described above; keys sorted on output)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return normal(value.value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)  # only SQLite can hold one; kept distinct from every number
        exact = Decimal(repr(value))
        return int(exact) if exact == exact.to_integral_value() else value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else normal(float(value))
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): normal(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normal(item) for item in value]
    raise TypeError(f"no canonical form for {type(value).__name__}")


def column_value(kind: Kind, raw: Any) -> Any:
    """A stored column value in canonical shape. Text that is not what its column holds (a hand-made
    timestamp, broken JSON) is kept as that text: it hashes, and differs from what was sealed."""
    if raw is None:
        return None
    if kind == "timestamp":
        stamp = parse_timestamp(raw)
        return raw if stamp is None else timestamp(stamp)
    if kind == "json":
        if isinstance(raw, (str, bytes)):
            try:
                raw = json.loads(raw)
            except ValueError:
                return raw if isinstance(raw, str) else raw.hex()
        return normal(raw)
    if kind == "bool":
        return bool(raw)
    return normal(raw)


def canonical_bytes(table: str, version: int, row: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a row whose values are already canonical (:func:`column_value`)."""
    document = {"row": dict(row), "table": table, "v": version}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def content_hash(table: str, version: int, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(table, version, row)).hexdigest()


def chain_hash(prev_hash: str, content: str, seq: int, sealed_at: dt.datetime) -> str:
    text = f"{prev_hash}\n{content}\n{seq}\n{timestamp(sealed_at)}"
    return hashlib.sha256(text.encode("ascii")).hexdigest()
