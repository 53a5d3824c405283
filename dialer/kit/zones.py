"""Time-zone names, checked once for every edge that accepts them (API, import files)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

AGENCY_ZONE = "Asia/Shanghai"
"""The zone a day is counted in when nothing else names one: a new client's default, a preset's,
the daily report's. The one place the name is written; the service's setting
``DIALER_DEFAULT_TIME_ZONE`` (``Settings.default_time_zone``) defaults to it."""


def check_zone(name: str) -> str:
    """``name`` if it is an IANA zone this machine knows, else ValueError saying so."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as {AGENCY_ZONE!r}") from None
    return name
