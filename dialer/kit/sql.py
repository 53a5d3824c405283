"""Constants written into SQL text instead of bound as parameters, checked.

Hot statements write their fixed values (an enum's value, a tier's name, a LIMIT) into the SQL:
with only the real parameters bound, PostgreSQL settles on one generic plan of the prepared
statement instead of planning it again at every execution. Text that becomes SQL is never taken
on trust: only plain identifiers-like words and integers are accepted, anything else is a
``ValueError`` at the statement's construction (import time for the prebuilt ones).
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, literal_column

_WORD = re.compile(r"[A-Za-z0-9_]*")


def constant(value: str) -> ColumnElement[str]:
    """``'value'`` in the SQL; ``value`` may hold only letters, digits and underscores (or be empty)."""
    if not isinstance(value, str) or _WORD.fullmatch(value) is None:
        raise ValueError(f"not a safe SQL string constant: {value!r}")
    return literal_column(f"'{value}'")


def integer(value: int) -> ColumnElement[int]:
    """An integer in the SQL (a LIMIT, say)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return literal_column(str(value))
