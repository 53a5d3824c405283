"""Time-zone names, checked once for every edge that accepts them (API, import files)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def check_zone(name: str) -> str:
    """``name`` if it is an IANA zone this machine knows, else ValueError saying so."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Asia/Shanghai'") from None
    return name
