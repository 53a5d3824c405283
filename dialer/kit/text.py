"""Text that may be stored: control characters are refused at the edge.

PostgreSQL cannot store NUL in text (a 500 deep in the driver), SQLite stores it silently, and
neither a NUL nor an escape, a backspace or a lone surrogate belongs in a name, a login or a
note. Tab, line feed and carriage return stay allowed (notes and addresses have lines)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def refused_character(text: str) -> str | None:
    """A description of the first character ``text`` may not hold (``"U+0000 at 3"``), or None."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    return f"U+{ord(found.group()):04X} at position {found.start()}"


def first_refused(value: Any, path: str = "") -> str | None:
    """Where in ``value`` (a string, or lists and mappings of them) the first refused character
    is, as ``"path: U+0000 at position 3"``; None when all is clean. Other values are not looked
    into (nested models check themselves)."""
    if isinstance(value, str):
        found = refused_character(value)
        return None if found is None else (f"{path}: {found}" if path else found)
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            in_key = refused_character(key) if isinstance(key, str) else None
            if in_key:
                return f"{where} (the key): {in_key}"
            found = first_refused(item, where)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = first_refused(item, f"{path}[{index}]" if path else f"[{index}]")
            if found:
                return found
    return None
